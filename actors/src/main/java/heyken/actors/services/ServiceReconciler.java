package heyken.actors.services;

import heyken.actors.registry.ComponentRegistry;
import heyken.protocol.api.ComponentRegistration;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

/**
 * Keeps the engine's containers at what the CoreManager wants. A child of the CoreManager, so it runs on the active
 * core only, and only under that core's epoch: every container it creates, starts, stops or removes is preceded by a
 * check of the epoch in the store, and a core that finds itself superseded stops here without touching anything.
 * Passes run one at a time on the sandbox dispatcher ({@link Reconciliation} decides, this actor executes); a change
 * of the wanted state or a timer starts the next one.
 */
public final class ServiceReconciler extends AbstractBehavior<ServiceReconciler.Command> {

  private static final Logger log = LoggerFactory.getLogger(ServiceReconciler.class);
  public static final String COMPONENT_PREFIX = "service-";

  public sealed interface Command {}

  /** The wanted services, sent by the CoreManager after recovery and after every change. */
  public record Desired(String installationId, Map<String, DesiredService> services) implements Command {}

  /** {@code POST /api/services/{name}/restart}: restart the container now (a one-off, not a wanted state). */
  public record RestartNow(String service) implements Command {}

  enum Tick implements Command {
    INSTANCE
  }

  record PassDone(Map<String, String> errors, boolean fenced, String failure,
      Map<String, Reconciliation.Backoff> backoff) implements Command {}

  record RegistrySynced() implements Command {}

  /** Told to the parent after each pass: services whose last action failed, and why. */
  public record Report(Map<String, String> errors) {}

  /**
   * The fencing check before each action: null while {@code epoch} is still the newest, else why this core must stop.
   * Core's {@code EpochFence::supersededBecause} (wired by the caller; this package does not import core).
   */
  @FunctionalInterface
  public interface Fence {
    String supersededBecause(long epoch);
  }

  /** A pass stopped because its epoch was superseded. */
  private static final class Superseded extends RuntimeException {
    Superseded(String why) {
      super(why, null, false, false);
    }
  }

  /** What a reconciler needs; tests give a fake engine. */
  public record Wiring(ServiceEngine engine, ServiceSettings settings, Executor executor, Fence fence,
      Supplier<ActorRef<ComponentRegistry.Command>> registry) {}

  public static Behavior<Command> create(Wiring wiring, long epoch, Consumer<Report> report) {
    return Behaviors.setup(context -> Behaviors.withTimers(timers ->
        new ServiceReconciler(context, timers, wiring, epoch, report)));
  }

  private final TimerScheduler<Command> timers;
  private final Wiring wiring;
  private final long epoch;
  private final Consumer<Report> report;
  private final Map<String, Reconciliation.Backoff> backoff = new HashMap<>();
  private final Set<String> restartRequests = new java.util.TreeSet<>();
  private Desired desired;
  private boolean passRunning;
  private boolean passWanted;
  private boolean registrySynced;
  private String lastFailure;

  private ServiceReconciler(ActorContext<Command> context, TimerScheduler<Command> timers, Wiring wiring, long epoch,
      Consumer<Report> report) {
    super(context);
    this.timers = timers;
    this.wiring = wiring;
    this.epoch = epoch;
    this.report = report;
    timers.startTimerWithFixedDelay(Tick.INSTANCE, wiring.settings().reconcileInterval());
    log.info("service reconciler started under epoch {} (network {}, every {} ms)", epoch,
        wiring.settings().network(), wiring.settings().reconcileInterval().toMillis());
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(Desired.class, d -> {
          var before = desired;
          desired = d;
          syncRegistry(before, d);
          return pass();
        })
        .onMessage(RestartNow.class, r -> {
          restartRequests.add(r.service());
          backoff.remove(r.service());
          return pass();
        })
        .onMessageEquals(Tick.INSTANCE, this::pass)
        .onMessage(PassDone.class, this::onPassDone)
        .onMessage(RegistrySynced.class, s -> Behaviors.same())
        .build();
  }

  private Behavior<Command> pass() {
    if (desired == null) {
      return this;
    }
    if (passRunning) {
      passWanted = true;
      return this;
    }
    passRunning = true;
    passWanted = false;
    var wanted = desired;
    var restarts = new java.util.TreeSet<>(restartRequests);
    restartRequests.clear();
    var backoffSnapshot = new HashMap<>(backoff);
    getContext().pipeToSelf(CompletableFuture.supplyAsync(() -> runPass(wanted, restarts, backoffSnapshot),
        wiring.executor()), (done, error) -> done != null ? done
        : new PassDone(Map.of(), false, error.getMessage(), null));
    return this;
  }

  /** On the sandbox dispatcher: observe, decide, act (each action behind the fence). */
  private PassDone runPass(Desired wanted, Set<String> restarts, Map<String, Reconciliation.Backoff> backoffs) {
    MDC.put("epoch", String.valueOf(epoch));
    var engine = wiring.engine();
    var errors = new TreeMap<String, String>();
    try {
      Instant now = Instant.now();
      var observed = engine.list(wanted.installationId());
      for (var o : observed) {
        if (o.service() != null && Reconciliation.ranLongEnough(o, now, wiring.settings().backoffReset())) {
          backoffs.remove(o.service());
        }
      }
      var actions = Reconciliation.plan(wanted.services(), observed, backoffs, now);
      var acted = new java.util.TreeSet<String>();
      for (var action : actions) {
        if (action instanceof Reconciliation.Create && backoffs.containsKey(action.service())
            && now.isBefore(backoffs.get(action.service()).notBefore())) {
          continue; // the last creation failed: wait for its back-off
        }
        checkFence();
        acted.add(String.valueOf(action.service()));
        try {
          execute(action, wanted.installationId());
        } catch (RuntimeException e) {
          String why = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
          log.warn("service {}: {} failed: {}", action.service(), describe(action), why);
          errors.put(action.service() == null ? "-" : action.service(), describe(action) + " failed: " + why);
        }
        if (action instanceof Reconciliation.Start || action instanceof Reconciliation.Create) {
          backoffs.put(action.service(), Reconciliation.Backoff.after(backoffs.get(action.service()), now,
              wiring.settings().restartBackoffMin(), wiring.settings().restartBackoffMax()));
        }
      }
      for (String name : restarts) {
        var want = wanted.services().get(name);
        if (want == null || acted.contains(name)) {
          continue; // gone, or (re)started by this very pass
        }
        for (var o : engine.list(wanted.installationId())) {
          if (name.equals(o.service()) && want.spec().hash().equals(o.specHash())) {
            checkFence();
            log.info("service {}: restarting container {} on request", name, Reconciliation.shortId(o.id()));
            engine.restart(o.id());
          }
        }
      }
      return new PassDone(errors, false, null, backoffs);
    } catch (Superseded stale) {
      log.warn("service reconciler stops: {}", stale.getMessage());
      return new PassDone(errors, true, stale.getMessage(), null);
    } catch (RuntimeException e) {
      Throwable cause = e instanceof CompletionException && e.getCause() != null ? e.getCause() : e;
      return new PassDone(errors, false, String.valueOf(cause.getMessage()), backoffs);
    } finally {
      MDC.remove("epoch");
    }
  }

  private void checkFence() {
    String why = wiring.fence().supersededBecause(epoch);
    if (why != null) {
      throw new Superseded(why);
    }
  }

  private void execute(Reconciliation.Action action, String installationId) {
    var engine = wiring.engine();
    String id = null;
    if (action instanceof Reconciliation.Create c) {
      id = engine.create(c.spec(), installationId, wiring.settings().network());
      log.info("service {}: created container {} from {}", c.service(), Reconciliation.shortId(id), c.spec().image());
      engine.start(id);
    } else if (action instanceof Reconciliation.Start s) {
      log.info("service {}: starting container {} ({})", s.service(), Reconciliation.shortId(s.containerId()), s.why());
      engine.start(s.containerId());
    } else if (action instanceof Reconciliation.Stop s) {
      log.info("service {}: stopping container {}", s.service(), Reconciliation.shortId(s.containerId()));
      engine.stop(s.containerId());
    } else if (action instanceof Reconciliation.Remove r) {
      log.info("service {}: removing container {}: {}", r.service(), Reconciliation.shortId(r.containerId()), r.why());
      engine.remove(r.containerId());
    }
  }

  private static String describe(Reconciliation.Action action) {
    if (action instanceof Reconciliation.Create c) {
      return "creating its container from " + c.spec().image();
    }
    return action.getClass().getSimpleName().toLowerCase(java.util.Locale.ROOT) + " of its container";
  }

  private Behavior<Command> onPassDone(PassDone done) {
    passRunning = false;
    if (done.backoff() != null) {
      backoff.clear();
      backoff.putAll(done.backoff());
    }
    if (done.fenced()) {
      return Behaviors.stopped();
    }
    // an engine that is down fails every pass: say so once, and again when it answers or fails differently
    if (done.failure() != null && !done.failure().equals(lastFailure)) {
      if (desired == null || desired.services().isEmpty()) {
        // nothing is wanted: a machine without an engine (bubblewrap sandboxes) is not a problem yet
        log.info("no Docker engine for dynamic services ({}): none is wanted now; they need one (scripts/"
            + "docker-engine.sh)", done.failure());
      } else {
        log.warn("service reconciliation failed: {} (retried every {} ms; said once): start the Docker engine "
            + "(scripts/docker-engine.sh) or correct DOCKER_HOST", done.failure(),
            wiring.settings().reconcileInterval().toMillis());
      }
    } else if (done.failure() == null && lastFailure != null) {
      log.info("service reconciliation works again");
    }
    lastFailure = done.failure();
    var errors = new TreeMap<>(done.errors());
    if (done.failure() != null) {
      errors.put("*", done.failure());
    }
    report.accept(new Report(errors));
    if (!registrySynced && desired != null) {
      syncRegistry(null, desired);
    }
    if (passWanted) {
      return pass();
    }
    return this;
  }

  /** Announces the wanted services in the Component Registry and withdraws those no longer wanted. */
  private void syncRegistry(Desired before, Desired now) {
    var registry = wiring.registry().get();
    if (registry == null) {
      return;
    }
    registrySynced = true;
    var system = getContext().getSystem();
    for (var name : now.services().keySet()) {
      String url = wiring.settings().healthBaseUrl() + "/api/services/" + name;
      registry.tell(new ComponentRegistry.Register(new ComponentRegistration(COMPONENT_PREFIX + name, url,
          url + "/health", version(now.services().get(name).spec().image())), "services", system.ignoreRef()));
    }
    if (before != null) {
      for (var name : before.services().keySet()) {
        if (!now.services().containsKey(name)) {
          registry.tell(new ComponentRegistry.Deregister(COMPONENT_PREFIX + name, "services", system.ignoreRef()));
        }
      }
    } else {
      // a new active core: withdraw what an earlier one registered for services removed since
      AskPattern.<ComponentRegistry.Command, ComponentRegistry.Reply>ask(registry, ComponentRegistry.ListAll::new,
          Duration.ofSeconds(5), system.scheduler()).thenAccept(reply -> {
            if (reply.components() == null) {
              return;
            }
            for (var c : reply.components()) {
              if (c.name().startsWith(COMPONENT_PREFIX)
                  && !now.services().containsKey(c.name().substring(COMPONENT_PREFIX.length()))) {
                registry.tell(new ComponentRegistry.Deregister(c.name(), "services", system.ignoreRef()));
              }
            }
          });
    }
  }

  /** The registry keeps a version of at most 64 characters: the image names it when it fits. */
  private static String version(String image) {
    return image.length() <= 64 ? image : null;
  }
}
