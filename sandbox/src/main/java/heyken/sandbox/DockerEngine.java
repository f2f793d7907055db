package heyken.sandbox;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.core.DefaultDockerClientConfig;
import com.github.dockerjava.core.DockerClientImpl;
import com.github.dockerjava.httpclient5.ApacheDockerHttpClient;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

/** The Docker engine that runs sandbox jobs: how to reach it and whether it answers. */
public final class DockerEngine implements AutoCloseable {

  private final String host;
  private final DockerClient client;

  public DockerEngine(String host, Duration timeout) {
    this(host, timeout, timeout, 8);
  }

  /**
   * @param responseTimeout also the longest silence on a streaming response (attach, wait): a client that runs jobs
   *     needs it longer than the longest job
   * @param maxConnections a running job holds two (its output and its exit), so at least twice the concurrent jobs
   */
  public DockerEngine(String host, Duration connectTimeout, Duration responseTimeout, int maxConnections) {
    this.host = host;
    var config = DefaultDockerClientConfig.createDefaultConfigBuilder().withDockerHost(host).build();
    var http = new ApacheDockerHttpClient.Builder()
        .dockerHost(config.getDockerHost())
        .connectionTimeout(connectTimeout)
        .responseTimeout(responseTimeout)
        .maxConnections(maxConnections)
        .build();
    this.client = DockerClientImpl.getInstance(config, http);
  }

  public String host() {
    return host;
  }

  public DockerClient client() {
    return client;
  }

  /** The engine's version when it answers; otherwise an exception whose message says what to do. */
  public String version() {
    if (host.startsWith("unix://")) {
      Path socket = Path.of(URI.create(host).getPath());
      if (!Files.exists(socket)) {
        throw new IllegalStateException("no Docker engine: " + socket + " does not exist; start one with "
            + "scripts/docker-engine.sh (sandboxes fall back to bubblewrap)");
      }
    }
    try {
      client.pingCmd().exec();
      var v = client.versionCmd().exec();
      return v.getVersion() + " (API " + v.getApiVersion() + ")";
    } catch (RuntimeException e) {
      throw new IllegalStateException("the Docker engine at " + host + " does not answer (" + e.getMessage()
          + "); start it with scripts/docker-engine.sh", e);
    }
  }

  @Override
  public void close() throws IOException {
    client.close();
  }
}
