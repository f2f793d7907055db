package heyken.actors.services;

import java.io.Closeable;
import java.util.List;
import java.util.function.Consumer;

/**
 * What the dynamic services need of a container engine; {@link DockerServiceEngine} is the real one. Every method
 * blocks: call it on the sandbox dispatcher. Failures are {@link RuntimeException}s whose message says what happened.
 */
public interface ServiceEngine {

  String LABEL_SERVICE = "heyken.service";
  String LABEL_INSTALLATION = "heyken.installation";
  String LABEL_SPEC = "heyken.service.spec";

  /** A container of this installation as the engine reports it. */
  record Observed(String id, String service, String specHash, String state, String health, Long exitCode,
      String startedAt, long createdSeconds) {

    public boolean running() {
      return "running".equals(state) || "restarting".equals(state);
    }
  }

  /** Every container labelled with this installation id, stopped ones included. */
  List<Observed> list(String installationId);

  /** Creates (not starts) the container of {@code spec}, labelled; returns its id. */
  String create(ServiceSpec spec, String installationId, String network);

  void start(String containerId);

  void stop(String containerId);

  void restart(String containerId);

  /** Removes the container, running or not; a container that is already gone is not an error. */
  void remove(String containerId);

  boolean imageExists(String image);

  boolean networkExists(String network);

  /** Makes sure the network exists, creating a bridge network of that name when it does not; false if it cannot. */
  default boolean ensureNetwork(String network) {
    return networkExists(network);
  }

  /** The newest {@code tail} lines of output (stdout and stderr as they came), one by one to {@code line}. */
  Closeable logs(String containerId, int tail, boolean follow, Consumer<String> line, Runnable completed);
}
