package heyken.actors.services;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.async.ResultCallback;
import com.github.dockerjava.api.exception.NotFoundException;
import com.github.dockerjava.api.exception.NotModifiedException;
import com.github.dockerjava.api.model.ExposedPort;
import com.github.dockerjava.api.model.Frame;
import com.github.dockerjava.api.model.HealthCheck;
import com.github.dockerjava.api.model.Capability;
import com.github.dockerjava.api.model.HostConfig;
import com.github.dockerjava.api.model.InternetProtocol;
import com.github.dockerjava.api.model.PortBinding;
import com.github.dockerjava.api.model.Ports;
import heyken.sandbox.DockerEngine;
import java.io.Closeable;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * The services' container engine through docker-java. Containers are named {@code heyken-<name>-<installation>}
 * (the engine refuses a second container of that name, a last guard against duplicates) and labelled with the
 * service, the installation and the spec's digest. They log through the engine's default driver, so that
 * {@code GET /api/services/{name}/logs} and {@code docker logs} show their output.
 */
public final class DockerServiceEngine implements ServiceEngine, AutoCloseable {

  private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(DockerServiceEngine.class);

  private static final int STOP_TIMEOUT_SECONDS = 10;

  private final DockerEngine engine;
  private final DockerEngine streaming;
  private final ServicePolicy policy;

  public DockerServiceEngine(String dockerHost) {
    this(dockerHost, ServicePolicy.DEFAULT);
  }

  public DockerServiceEngine(String dockerHost, ServicePolicy policy) {
    this.policy = policy;
    this.engine = new DockerEngine(dockerHost, Duration.ofSeconds(10), Duration.ofSeconds(STOP_TIMEOUT_SECONDS + 20), 8);
    // followed logs stay silent for as long as the service prints nothing
    this.streaming = new DockerEngine(dockerHost, Duration.ofSeconds(10), Duration.ofHours(24), 32);
  }

  public static String containerName(String service, String installationId) {
    return "heyken-" + service + "-" + installationId.substring(0, Math.min(12, installationId.length()));
  }

  private DockerClient docker() {
    return engine.client();
  }

  @Override
  public List<Observed> list(String installationId) {
    var result = new ArrayList<Observed>();
    var containers = docker().listContainersCmd().withShowAll(true)
        .withLabelFilter(Map.of(LABEL_INSTALLATION, installationId)).exec();
    for (var c : containers) {
      var labels = c.getLabels() == null ? Map.<String, String>of() : c.getLabels();
      String health = "none";
      Long exitCode = null;
      String startedAt = null;
      try {
        var state = docker().inspectContainerCmd(c.getId()).exec().getState();
        if (state.getHealth() != null && state.getHealth().getStatus() != null) {
          health = state.getHealth().getStatus();
        }
        exitCode = state.getExitCodeLong();
        startedAt = state.getStartedAt();
      } catch (NotFoundException gone) {
        continue; // removed between the list and the inspect
      }
      result.add(new Observed(c.getId(), labels.get(LABEL_SERVICE), labels.get(LABEL_SPEC), c.getState(), health,
          exitCode, startedAt, c.getCreated() == null ? 0 : c.getCreated()));
    }
    return result;
  }

  @Override
  public String create(ServiceSpec spec, String installationId, String network) {
    long memory = policy.memory(spec);
    // no capabilities, no new privileges, bounded memory (no swap on top), cpus and pids: no spec can change the
    // first two (ServiceSpec.REFUSED_OPTIONS), the limits only up to heyken.services.limits.max-*
    var host = HostConfig.newHostConfig().withNetworkMode(network)
        .withPrivileged(false)
        .withCapDrop(Capability.ALL)
        .withSecurityOpts(List.of("no-new-privileges"))
        .withMemory(memory)
        .withMemorySwap(memory)
        .withNanoCPUs(Math.round(policy.cpus(spec) * 1e9))
        .withPidsLimit(policy.pids(spec));
    var exposed = new ArrayList<ExposedPort>();
    if (!spec.ports().isEmpty()) {
      var bindings = new Ports();
      for (var p : spec.ports()) {
        var port = new ExposedPort(p.containerPort(), InternetProtocol.parse(p.protocol()));
        exposed.add(port);
        bindings.bind(port, Ports.Binding.bindIpAndPort(p.hostIp(), p.hostPort()));
      }
      host.withPortBindings(bindings);
    }
    var create = docker().createContainerCmd(spec.image())
        .withName(containerName(spec.name(), installationId))
        .withLabels(Map.of(LABEL_SERVICE, spec.name(), LABEL_INSTALLATION, installationId, LABEL_SPEC, spec.hash()))
        .withEnv(spec.env().entrySet().stream().map(e -> e.getKey() + "=" + e.getValue()).toList())
        .withExposedPorts(exposed)
        .withUser(policy.user(spec))
        .withHostConfig(host);
    if (!spec.command().isEmpty()) {
      create.withCmd(spec.command());
    }
    if (spec.healthcheck() != null) {
      var h = spec.healthcheck();
      var check = new HealthCheck().withTest(h.test());
      if (h.intervalMillis() > 0) {
        check.withInterval(h.intervalMillis() * 1_000_000);
      }
      if (h.timeoutMillis() > 0) {
        check.withTimeout(h.timeoutMillis() * 1_000_000);
      }
      if (h.retries() > 0) {
        check.withRetries(h.retries());
      }
      if (h.startPeriodMillis() > 0) {
        check.withStartPeriod(h.startPeriodMillis() * 1_000_000);
      }
      create.withHealthcheck(check);
    }
    return create.exec().getId();
  }

  @Override
  public void start(String containerId) {
    try {
      docker().startContainerCmd(containerId).exec();
    } catch (NotModifiedException alreadyRunning) {
      // started meanwhile: what was wanted
    }
  }

  @Override
  public void stop(String containerId) {
    try {
      docker().stopContainerCmd(containerId).withTimeout(STOP_TIMEOUT_SECONDS).exec();
    } catch (NotModifiedException alreadyStopped) {
      // stopped meanwhile: what was wanted
    }
  }

  @Override
  public void restart(String containerId) {
    docker().restartContainerCmd(containerId).withTimeout(STOP_TIMEOUT_SECONDS).exec();
  }

  @Override
  public void remove(String containerId) {
    try {
      docker().removeContainerCmd(containerId).withForce(true).withRemoveVolumes(true).exec();
    } catch (NotFoundException gone) {
      // removed already
    }
  }

  @Override
  public boolean imageExists(String image) {
    try {
      docker().inspectImageCmd(image).exec();
      return true;
    } catch (NotFoundException e) {
      return false;
    }
  }

  @Override
  public boolean networkExists(String network) {
    if (network.equals("none") || network.equals("host")) {
      return true;
    }
    try {
      docker().inspectNetworkCmd().withNetworkId(network).exec();
      return true;
    } catch (NotFoundException e) {
      return false;
    }
  }

  @Override
  public boolean ensureNetwork(String network) {
    if (networkExists(network)) {
      return true;
    }
    if (network.equals("bridge")) {
      return false; // the engine's own default network: an engine started with --bridge=none has none to make
    }
    try {
      docker().createNetworkCmd().withName(network).withDriver("bridge")
          .withLabels(java.util.Map.of("heyken.network", "services")).exec();
      log.info("created the Docker network {} for dynamic services", network);
      return true;
    } catch (com.github.dockerjava.api.exception.ConflictException e) {
      return true; // made by the other core at the same moment
    } catch (com.github.dockerjava.api.exception.DockerException e) {
      log.warn("could not create the Docker network {}: {}", network, e.getMessage());
      return false;
    }
  }

  @Override
  public Closeable logs(String containerId, int tail, boolean follow, Consumer<String> line, Runnable completed) {
    var client = follow ? streaming.client() : docker();
    var callback = new ResultCallback.Adapter<Frame>() {
      private final StringBuilder partial = new StringBuilder();

      @Override
      public void onNext(Frame frame) {
        partial.append(new String(frame.getPayload(), StandardCharsets.UTF_8));
        int nl;
        while ((nl = partial.indexOf("\n")) >= 0) {
          line.accept(partial.substring(0, nl));
          partial.delete(0, nl + 1);
        }
      }

      @Override
      public void onError(Throwable throwable) {
        finish();
        super.onError(throwable);
      }

      @Override
      public void onComplete() {
        finish();
        super.onComplete();
      }

      private void finish() {
        if (partial.length() > 0) {
          line.accept(partial.toString());
          partial.setLength(0);
        }
        completed.run();
      }
    };
    client.logContainerCmd(containerId).withStdOut(true).withStdErr(true).withTail(tail).withFollowStream(follow)
        .exec(callback);
    return callback;
  }

  @Override
  public void close() throws IOException {
    engine.close();
    streaming.close();
  }
}
