package heyken.http;

import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.Done;
import org.apache.pekko.actor.CoordinatedShutdown;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.apache.pekko.http.javadsl.server.Route;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Binds the HTTP APIs of this core. Every core always serves each API on its inspection port (documented
 * port + offset × core id); the documented ports (5002, 5010, 5020, 5021) are bound only while this core is
 * the active one, and released the moment it is not. A documented port still held by a core that is going
 * away is retried until it is free or this core is no longer active. On shutdown every port is unbound first
 * ({@code PhaseServiceUnbind}: no new connections; the documented ports of the active core only when it steps down, at
 * the singleton hand-over), then the requests in flight are drained
 * ({@code PhaseServiceRequestsDone}: {@link GuardedBinding#terminate} with the drain deadline; what is still open
 * after it, such as a Server-Sent Events stream, is closed). Every port is served through a {@link GuardedBinding}: a
 * request head must arrive within a bound, and one client address holds a bounded number of connections
 * ({@link ConnectionLimits}).
 */
public final class PortBinder {

  private static final Logger log = LoggerFactory.getLogger(PortBinder.class);

  /** One API: its name, its documented port, its routes. */
  public record Api(String name, int port, Route route) {}

  public interface Command {}

  /** This core became active under {@code epoch} (&gt; 0) or stopped being active (0). */
  public record ActivationChanged(long epoch) implements Command {}

  /** Which ports are bound right now (for tests and status). */
  public record GetBound(ActorRef<Map<Integer, String>> replyTo) implements Command {}

  private record Bound(Api api, int port, boolean documented, GuardedBinding binding, Throwable error)
      implements Command {}

  private enum Retry implements Command {
    INSTANCE
  }

  // compares the binder's view of the activation with the core's own, every rebind interval
  private enum Reconcile implements Command {
    INSTANCE
  }

  private record UnbindAll(ActorRef<Done> replyTo) implements Command {}

  private record DrainAll(ActorRef<Done> replyTo) implements Command {}

  public static Behavior<Command> create(String host, int coreId, int inspectionOffset, List<Api> apis,
      Duration rebindInterval, Duration drainDeadline, ConnectionLimits limits) {
    return create(host, coreId, inspectionOffset, apis, rebindInterval, drainDeadline, limits, null);
  }

  /**
   * As above, and every {@code rebindInterval} the binder compares its view with {@code coreEpoch} (the core's own
   * activation): a change told out of order (a lease loss and a new activation racing on two threads) must never
   * leave the documented ports with a core that is not active, nor away from the one that is.
   */
  public static Behavior<Command> create(String host, int coreId, int inspectionOffset, List<Api> apis,
      Duration rebindInterval, Duration drainDeadline, ConnectionLimits limits,
      java.util.function.LongSupplier coreEpoch) {
    return Behaviors.setup(context -> Behaviors.withTimers(timers -> {
      var binder = new PortBinder(context, timers, host, coreId, inspectionOffset, apis, rebindInterval,
          drainDeadline, limits, coreEpoch);
      if (coreEpoch != null) {
        timers.startTimerWithFixedDelay(Reconcile.INSTANCE, rebindInterval);
      }
      var self = context.getSelf();
      var system = context.getSystem();
      var shutdown = CoordinatedShutdown.get(system);
      shutdown.addTask(
          CoordinatedShutdown.PhaseServiceUnbind(), "heyken-http-unbind",
          () -> AskPattern.<Command, Done>ask(self, UnbindAll::new, Duration.ofSeconds(3), system.scheduler())
              .exceptionally(e -> Done.getInstance()));
      shutdown.addTask(
          CoordinatedShutdown.PhaseServiceRequestsDone(), "heyken-http-drain",
          () -> AskPattern.<Command, Done>ask(self, DrainAll::new, drainDeadline.plusSeconds(1), system.scheduler())
              .exceptionally(e -> Done.getInstance()));
      apis.forEach(api -> binder.bind(api, false));
      return binder.behavior();
    }));
  }

  private final ActorContext<Command> context;
  private final TimerScheduler<Command> timers;
  private final String host;
  private final int coreId;
  private final int inspectionOffset;
  private final List<Api> apis;
  private final Duration rebindInterval;
  private final Duration drainDeadline;
  private final ConnectionLimits limits;
  private final Map<Integer, GuardedBinding> bindings = new HashMap<>();
  // unbound on shutdown, their requests in flight not yet drained
  private final List<GuardedBinding> draining = new java.util.ArrayList<>();
  private final Map<Integer, String> pending = new HashMap<>();
  private long activeEpoch;
  private boolean shuttingDown;
  private final java.util.function.LongSupplier coreEpoch;

  private PortBinder(ActorContext<Command> context, TimerScheduler<Command> timers, String host, int coreId,
      int inspectionOffset, List<Api> apis, Duration rebindInterval, Duration drainDeadline, ConnectionLimits limits,
      java.util.function.LongSupplier coreEpoch) {
    this.context = context;
    this.coreEpoch = coreEpoch;
    this.drainDeadline = drainDeadline;
    this.limits = limits;
    this.timers = timers;
    this.host = host;
    this.coreId = coreId;
    this.inspectionOffset = inspectionOffset;
    this.apis = apis;
    this.rebindInterval = rebindInterval;
  }

  private int portOf(Api api, boolean documented) {
    return documented ? api.port() : api.port() + inspectionOffset * coreId;
  }

  private void bind(Api api, boolean documented) {
    int port = portOf(api, documented);
    if (bindings.containsKey(port) || pending.containsKey(port) || shuttingDown) {
      return;
    }
    pending.put(port, api.name());
    CompletionStage<GuardedBinding> binding = GuardedBinding.bind(context.getSystem(), host, port,
        AccessLog.logged(AccessLog.label(api.name()), api.route()), String.valueOf(port), limits);
    context.pipeToSelf(binding, (b, e) -> new Bound(api, port, documented, b, e));
  }

  private Behavior<Command> behavior() {
    return Behaviors.receive(Command.class)
        .onMessage(ActivationChanged.class, this::onActivationChanged)
        .onMessage(Bound.class, this::onBound)
        .onMessageEquals(Retry.INSTANCE, () -> {
          if (activeEpoch > 0) {
            apis.forEach(api -> bind(api, true));
          }
          apis.forEach(api -> bind(api, false));
          return Behaviors.same();
        })
        .onMessageEquals(Reconcile.INSTANCE, this::onReconcile)
        .onMessage(GetBound.class, get -> {
          var view = new HashMap<Integer, String>();
          bindings.forEach((port, b) -> view.put(port, b.localAddress().toString()));
          get.replyTo().tell(view);
          return Behaviors.same();
        })
        .onMessage(UnbindAll.class, this::onUnbindAll)
        .onMessage(DrainAll.class, this::onDrainAll)
        .build();
  }

  private Behavior<Command> onActivationChanged(ActivationChanged changed) {
    activeEpoch = changed.epoch();
    if (activeEpoch > 0) {
      log.info("core {} active (epoch {}): binding the documented ports", coreId, activeEpoch);
      apis.forEach(api -> bind(api, true));
    } else if (apis.stream().anyMatch(api -> bindings.containsKey(api.port()) || pending.containsKey(api.port()))) {
      log.info("core {} is not active: releasing the documented ports", coreId);
      apis.forEach(api -> release(api.port()));
    }
    return Behaviors.same();
  }

  private Behavior<Command> onReconcile() {
    long now = coreEpoch.getAsLong();
    if (!shuttingDown && (now > 0) != (activeEpoch > 0)) {
      log.warn("core {}: the port binder was told epoch {} last, but the core's epoch is {} (two changes told out of "
          + "order); following the core", coreId, activeEpoch, now);
      return onActivationChanged(new ActivationChanged(now));
    }
    return Behaviors.same();
  }

  private void release(int port) {
    GuardedBinding binding = bindings.remove(port);
    if (binding != null) {
      binding.unbind();
    }
  }

  private Behavior<Command> onBound(Bound bound) {
    pending.remove(bound.port());
    if (bound.error() != null) {
      boolean wanted = !shuttingDown && (!bound.documented() || activeEpoch > 0);
      if (wanted) {
        log.warn("could not bind {} on {}:{} ({}); retrying every {} ms", bound.api().name(), host, bound.port(),
            bound.error().getMessage(), rebindInterval.toMillis());
        timers.startSingleTimer(Retry.INSTANCE, rebindInterval);
      }
      return Behaviors.same();
    }
    boolean stillWanted = !shuttingDown && (!bound.documented() || activeEpoch > 0);
    if (!stillWanted) {
      bound.binding().unbind(); // deactivated while the bind was under way
      return Behaviors.same();
    }
    bindings.put(bound.port(), bound.binding());
    log.info("{} listening on http://{}:{} ({})", bound.api().name(), host, bound.port(),
        bound.documented() ? "documented port, core " + coreId + " active" : "core " + coreId + " inspection port");
    return Behaviors.same();
  }

  private Behavior<Command> onUnbindAll(UnbindAll cmd) {
    shuttingDown = true;
    // An active core keeps its documented ports until it steps down (its CoreManager stops at the singleton
    // hand-over, a few hundred ms into the shutdown): until then its singletons still serve under its epoch, and the
    // ports move to the new active core with a shorter gap. They are released by the deactivation, not drained.
    var leaving = new HashMap<Integer, GuardedBinding>();
    bindings.forEach((port, b) -> {
      if (activeEpoch == 0 || apis.stream().noneMatch(api -> api.port() == port)) {
        leaving.put(port, b);
      }
    });
    var unbinds = leaving.values().stream()
        .map(b -> b.unbind().toCompletableFuture())
        .toArray(CompletableFuture[]::new);
    draining.addAll(leaving.values());
    bindings.keySet().removeAll(leaving.keySet());
    var replyTo = cmd.replyTo();
    CompletableFuture.allOf(unbinds).whenComplete((v, e) -> replyTo.tell(Done.getInstance()));
    return Behaviors.same();
  }

  private Behavior<Command> onDrainAll(DrainAll cmd) {
    var terminated = draining.stream()
        .map(b -> b.terminate(drainDeadline).toCompletableFuture())
        .toArray(CompletableFuture[]::new);
    if (terminated.length > 0) {
      log.info("core {} draining the requests in flight on {} ports (at most {} ms)", coreId, terminated.length,
          drainDeadline.toMillis());
    }
    draining.clear();
    var replyTo = cmd.replyTo();
    CompletableFuture.allOf(terminated).whenComplete((v, e) -> replyTo.tell(Done.getInstance()));
    return Behaviors.same();
  }
}
