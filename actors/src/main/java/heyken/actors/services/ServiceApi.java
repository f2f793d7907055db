package heyken.actors.services;

import heyken.actors.Outcome;
import heyken.protocol.api.Problem;
import heyken.protocol.api.service.ServiceRequest;
import heyken.protocol.api.service.ServiceView;
import java.io.Closeable;
import java.io.IOException;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.util.ByteString;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The dynamic services' operations, for the Sandbox Manager's routes and the bot: what is wanted comes from the
 * ServiceLedger, what runs from the engine. Adding checks what only this side can (the image is loaded, the host ports
 * are free, the network exists) before the ServiceLedger records the service; the active core's reconciler then
 * creates the container.
 */
public final class ServiceApi {

  private static final Logger log = LoggerFactory.getLogger(ServiceApi.class);
  public static final int DEFAULT_TAIL = 100;
  /** The names of the {@link ServiceAction}s, as URLs and chat commands spell them. */
  public static final List<String> ACTIONS = java.util.Arrays.stream(ServiceAction.values()).map(ServiceAction::wire)
      .toList();

  private final WantedServices ledger;
  private final ServiceEngine engine;
  private final ServiceSettings settings;
  private final java.util.concurrent.Executor executor;

  public ServiceApi(WantedServices ledger, ServiceEngine engine, ServiceSettings settings,
      java.util.concurrent.Executor executor) {
    this.ledger = ledger;
    this.engine = engine;
    this.settings = settings;
    this.executor = executor;
  }

  /** The facade over the ledger of wanted services ({@code ServiceLedger.wantedServices}) and this core's engine. */
  public static ServiceApi create(ActorSystem<?> system, WantedServices ledger) {
    var runtime = ServiceRuntime.get(system);
    return new ServiceApi(ledger, runtime.engine(), runtime.settings(), runtime.executor());
  }

  public ServiceSettings settings() {
    return settings;
  }

  private CompletionStage<WantedServices.Wanted> wanted() {
    return ledger.wanted();
  }

  public CompletionStage<Outcome<ServiceView.Listing>> list() {
    return wanted().thenComposeAsync(state -> observe(state, () -> {
      var observed = state.installationId() == null ? List.<ServiceEngine.Observed>of()
          : engine.list(state.installationId());
      var views = state.services().values().stream().sorted(Comparator.comparing(d -> d.spec().name()))
          .map(d -> view(d, observed, state.errors())).toList();
      return Outcome.ok(new ServiceView.Listing(state.installationId(), views));
    }), executor);
  }

  public CompletionStage<Outcome<ServiceView>> get(String name) {
    Problem invalid = ServiceSpec.validateName(name);
    if (invalid != null) {
      return done(Outcome.refused(invalid));
    }
    return wanted().thenComposeAsync(state -> {
      var wanted = state.services().get(name);
      if (wanted == null) {
        return done(Outcome.refused(unknown(name)));
      }
      return observe(state, () -> Outcome.ok(view(wanted, engine.list(state.installationId()), state.errors())));
    }, executor);
  }

  /** Adds a service after checking the image, the network and the host ports. */
  public CompletionStage<Outcome<ServiceView>> add(ServiceRequest request, String by) {
    var validated = ServiceSpec.validate(request, settings.defaultHostIp(), settings.policy());
    if (validated.problem() != null) {
      return done(Outcome.refused(validated.problem()));
    }
    ServiceSpec spec = validated.spec();
    if (!spec.ports().isEmpty() && !settings.publishesPorts()) {
      return done(Outcome.refused(Problem.badRequest("ports_unsupported", "services here join the network '"
          + settings.network() + "' (heyken.services.network, HEYKEN_SERVICES_NETWORK), where no port can be "
          + "published: leave ports out, or use a bridge network")));
    }
    return CompletableFuture.supplyAsync(() -> precheck(spec), executor).thenCompose(problem -> {
      if (problem != null) {
        return done(Outcome.<ServiceView>refused(problem));
      }
      return ledger.add(spec, by)
          .thenApply(o -> o.problem() != null ? Outcome.<ServiceView>refused(o.problem())
              : Outcome.ok(view(o.service(), List.of(), Map.of())));
    });
  }

  /** On the sandbox dispatcher: what the engine and the host say about the spec, or null when it can be created. */
  private Problem precheck(ServiceSpec spec) {
    try {
      if (!engine.imageExists(spec.image())) {
        return Problem.badRequest("unknown_image", "the image '" + spec.image() + "' is not in the local Docker "
            + "engine, and no registry is reachable from here: load it first with `docker load -i image.tar` (an "
            + "image saved elsewhere with `docker save`) or make one with `docker import rootfs.tar " + spec.image()
            + "`; `docker images` lists what is loaded (sandbox/busybox:1 is built by scripts/docker-engine.sh)");
      }
      if (!engine.ensureNetwork(settings.network())) {
        return Problem.unavailable("network_missing", "the Docker network '" + settings.network() + "' does not "
            + "exist and could not be created: create it (docker network create " + settings.network()
            + ") or set HEYKEN_SERVICES_NETWORK to one that exists");
      }
    } catch (RuntimeException e) {
      return engineDown(e);
    }
    for (var port : spec.ports()) {
      if (!hostPortFree(port)) {
        return Problem.conflict("port_in_use", "host port " + port.hostIp() + ":" + port.hostPort() + "/"
            + port.protocol() + " is in use by another program: pick another host port");
      }
    }
    return null;
  }

  static boolean hostPortFree(ServiceSpec.PortBinding port) {
    var address = new InetSocketAddress(port.hostIp(), port.hostPort());
    try {
      if (port.protocol().equals("udp")) {
        try (var socket = new DatagramSocket(address)) {
          return true;
        }
      }
      try (var socket = new ServerSocket()) {
        socket.setReuseAddress(false);
        socket.bind(address);
        return true;
      }
    } catch (IOException e) {
      return false;
    }
  }

  /** Stops, starts, restarts or removes a service. */
  public CompletionStage<Outcome<ServiceView>> change(String name, ServiceAction action, String by) {
    Problem invalid = ServiceSpec.validateName(name);
    if (invalid != null) {
      return done(Outcome.refused(invalid));
    }
    return ledger.change(name, action, by)
        .thenApply(o -> {
          if (o.problem() != null) {
            return Outcome.refused(o.problem());
          }
          if (o.service() == null) {
            return Outcome.ok(new ServiceView(name, null, "removed", "removed", "none", null, List.of(), Map.of(),
                List.of(), null, null, null, null, null, null));
          }
          return Outcome.ok(view(o.service(), List.of(), Map.of()));
        });
  }

  /** A service's output: the newest {@code tail} lines, and with {@code follow} what it prints from then on. */
  public CompletionStage<Outcome<Source<ByteString, NotUsed>>> logs(String name, int tail, boolean follow) {
    if (tail < 0 || tail > settings.maxLogTail()) {
      return done(Outcome.refused(Problem.badRequest("invalid_parameter", "tail must be 0-" + settings.maxLogTail())));
    }
    return get(name).thenApply(o -> {
      if (o.problem() != null) {
        return Outcome.refused(o.problem());
      }
      String id = o.value().containerId();
      if (id == null) {
        return Outcome.refused(Problem.conflict("no_container", "service '" + name + "' has no container yet ("
            + o.value().state() + "); its logs exist once it was created"));
      }
      return Outcome.ok(logSource(id, tail, follow));
    });
  }

  private Source<ByteString, NotUsed> logSource(String containerId, int tail, boolean follow) {
    return Source.<ByteString>queue(4096)
        .mapMaterializedValue(queue -> {
          var finished = new AtomicBoolean();
          try {
            return engine.logs(containerId, tail, follow, line -> queue.offer(ByteString.fromString(line + "\n")),
                () -> {
                  if (finished.compareAndSet(false, true)) {
                    queue.complete();
                  }
                });
          } catch (RuntimeException e) {
            queue.fail(e);
            return (Closeable) () -> {};
          }
        })
        .watchTermination((closeable, done) -> {
          done.whenComplete((ok, error) -> {
            try {
              closeable.close();
            } catch (IOException e) {
              log.debug("closing a log stream: {}", e.getMessage());
            }
          });
          return NotUsed.getInstance();
        });
  }

  /** Whether the service runs and is healthy (or has no healthcheck): the Component Registry's health URL. */
  public static boolean healthy(ServiceView view) {
    return "running".equals(view.state()) && ("healthy".equals(view.health()) || "none".equals(view.health()));
  }

  private <T> CompletionStage<Outcome<T>> observe(WantedServices.Wanted state,
      java.util.function.Supplier<Outcome<T>> read) {
    try {
      return done(read.get());
    } catch (RuntimeException e) {
      return done(Outcome.refused(engineDown(e)));
    }
  }

  private Problem engineDown(RuntimeException e) {
    log.warn("the Docker engine failed: {}: start it with scripts/docker-engine.sh or correct DOCKER_HOST",
        e.getMessage());
    return Problem.unavailable("engine_unavailable", "the Docker engine at " + settings.dockerHost()
        + " did not answer (" + e.getMessage() + "); start it with scripts/docker-engine.sh");
  }

  static ServiceView view(DesiredService wanted, List<ServiceEngine.Observed> observed, Map<String, String> errors) {
    var spec = wanted.spec();
    String hash = spec.hash();
    var mine = new ArrayList<ServiceEngine.Observed>();
    for (var o : observed) {
      if (spec.name().equals(o.service()) && hash.equals(o.specHash())) {
        mine.add(o);
      }
    }
    mine.sort(Comparator.comparing(ServiceEngine.Observed::running)
        .thenComparingLong(ServiceEngine.Observed::createdSeconds).reversed());
    var c = mine.isEmpty() ? null : mine.get(0);
    String state = c == null ? (wanted.running() ? "pending" : "stopped") : c.state();
    String health = c == null || !c.running() ? "none" : c.health();
    var ports = spec.ports().stream().map(p -> new ServiceView.Port(p.hostIp(), p.hostPort(), p.containerPort(),
        p.protocol())).toList();
    return new ServiceView(spec.name(), spec.image(), wanted.running() ? "running" : "stopped", state, health,
        c == null ? null : c.id(), ports, ServiceView.redacted(spec.env()), spec.command(), spec.restart(),
        c == null || c.running() ? null : c.exitCode(), c == null ? null : c.startedAt(),
        wanted.addedAt() == null ? null : wanted.addedAt().toString(), wanted.addedBy(), errors.get(spec.name()));
  }

  private static Problem unknown(String name) {
    return Problem.notFound("unknown_service", "no service named '" + name + "'; GET /api/services lists them");
  }

  private static <T> CompletionStage<T> done(T value) {
    return CompletableFuture.completedFuture(value);
  }
}
