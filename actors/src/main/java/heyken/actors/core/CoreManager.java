package heyken.actors.core;

import com.fasterxml.jackson.annotation.JsonCreator;
import heyken.actors.services.DesiredService;
import heyken.actors.services.ServiceSpec;
import heyken.protocol.CborSerializable;
import heyken.protocol.api.Problem;
import heyken.protocol.api.SwitchAccepted;
import java.time.Duration;
import java.time.Instant;
import java.util.Set;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.SupervisorStrategy;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.persistence.typed.PersistenceId;
import org.apache.pekko.persistence.typed.RecoveryCompleted;
import org.apache.pekko.persistence.typed.javadsl.CommandHandler;
import org.apache.pekko.persistence.typed.javadsl.Effect;
import org.apache.pekko.persistence.typed.javadsl.EventHandler;
import org.apache.pekko.persistence.typed.javadsl.EventSourcedBehavior;
import org.apache.pekko.persistence.typed.javadsl.RetentionCriteria;
import org.apache.pekko.persistence.typed.javadsl.SignalHandler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The cluster singleton that makes its core the active one, and only that: activation, epoch and fencing. On each
 * activation it takes the next epoch from the {@link EpochFence} and persists {@link CoreActivated}; while active it
 * writes a fenced heartbeat, and the moment a newer epoch exists (a frozen core that woke up after the other one took
 * over) it is fenced: the heartbeat stops, the documented ports are released, every further request is refused, and
 * the {@link DeploymentLedger} and {@link ServiceLedger} (which follow this core's activation through
 * {@link CoreNode}) refuse their writes too. Its three states are three command handlers: activating (requests wait
 * for the epoch), active, fenced.
 */
public final class CoreManager
    extends EventSourcedBehavior<CoreManager.Command, CoreManager.Event, CoreManager.State> {

  public static final PersistenceId PERSISTENCE_ID = PersistenceId.ofUniqueId("core-manager");
  public static final String TAG = "core";
  private static final Logger log = LoggerFactory.getLogger(CoreManager.class);

  // ---------------------------------------------------------------- protocol

  public sealed interface Command extends CborSerializable {}

  /** Asks which core is active under which epoch. */
  public record GetActive(ActorRef<ActiveCore> replyTo) implements Command {}

  /** Hands the active role to {@code targetCore}; this core leaves and rejoins as standby. */
  public record RequestSwitch(int targetCore, ActorRef<SwitchOutcome> replyTo)
      implements Command {}

  /**
   * What this journal recorded before the ledgers existed (deployments, services) and the installation id; answered
   * once this core is active (the first activation generates the installation id), for the ledgers' one-time import.
   */
  public record GetLegacy(ActorRef<Legacy> replyTo) implements Command {}

  public record Legacy(java.util.Map<String, DeployedFeature> deployments, String installationId,
      java.util.Map<String, DesiredService> services) implements CborSerializable {}

  /** A fenced singleton of this core found a newer epoch while confirming {@code what}: this core is fenced. */
  public record Superseded(long newerEpoch, String what) implements Command {}

  /** Sent by the singleton manager on hand-over. */
  public enum Stop implements Command {
    INSTANCE
  }

  enum HeartbeatTick implements Command {
    INSTANCE
  }

  record EpochAssigned(long epoch) implements Command {}

  record ActivationFailed(String reason) implements Command {}

  enum RetryActivation implements Command {
    INSTANCE
  }

  record HeartbeatDone(long epoch, long supersededBy, String error) implements Command {}

  record SwitchChecked(int targetCore, ActorRef<SwitchOutcome> replyTo, FencedWrites.Verdict verdict)
      implements Command {}

  /**
   * Reply to {@link RequestSwitch}: the accepted hand-over, or why not ({@code refused}).
   *
   * <p>On the wire both shapes for one release: a core of this version sends {@code refused} and, for a core of the
   * previous version (which reads {@code problem} only, ignoring the unknown field), {@code problem} beside it; a
   * reader takes {@code refused} when present, else {@code problem} ({@link CoreApi#problem(SwitchOutcome)}). Once
   * every running core is of the release after issue 15's, {@code problem} can go.
   */
  public record SwitchOutcome(SwitchAccepted accepted, Problem problem, CoreRefusal refused)
      implements CborSerializable {

    public static SwitchOutcome accepted(SwitchAccepted accepted) {
      return new SwitchOutcome(accepted, null, null);
    }

    public static SwitchOutcome refused(CoreRefusal refused) {
      return new SwitchOutcome(null, CoreApi.problem(refused), refused);
    }
  }

  /** Reply: the active core as this CoreManager knows it; {@code fenced} when it has been superseded. */
  public record ActiveCore(
      Integer core, long epoch, Instant since, String reason, Integer previousCore, boolean fenced)
      implements CborSerializable {}

  /** A deployment as the CoreManager's journal kept it (inside {@link State}: never rename it or its fields). */
  public record DeployedFeature(String revision, String command, long epoch, Instant at) implements CborSerializable {}

  public sealed interface Event extends CborSerializable {
    long epoch();
  }

  /** A core became active under a new, strictly greater epoch. */
  public record CoreActivated(int core, long epoch, Integer previousCore, String reason, Instant at)
      implements Event {}

  /** An operator asked the active core to hand over to another one. */
  public record SwitchRequested(int fromCore, int toCore, long epoch, Instant at) implements Event {}

  /** A feature's revision became the deployed one, under the epoch of the core that did it. */
  public record FeatureDeployed(String featureId, String revision, String command, long epoch, Instant at)
      implements Event, DeploymentLedger.Event {}

  public record FeatureUndeployed(String featureId, long epoch, Instant at)
      implements Event, DeploymentLedger.Event {}

  /** The installation's id, generated once on the very first activation; service containers carry it as a label. */
  public record InstallationIdentified(String installationId, long epoch, Instant at) implements Event {}

  public record ServiceAdded(ServiceSpec spec, String requestedBy, long epoch, Instant at)
      implements Event, ServiceLedger.Event {}

  public record ServiceStopped(String name, String requestedBy, long epoch, Instant at)
      implements Event, ServiceLedger.Event {}

  public record ServiceStarted(String name, String requestedBy, long epoch, Instant at)
      implements Event, ServiceLedger.Event {}

  public record ServiceRestarted(String name, String requestedBy, long epoch, Instant at)
      implements Event, ServiceLedger.Event {}

  public record ServiceRemoved(String name, String requestedBy, long epoch, Instant at)
      implements Event, ServiceLedger.Event {}

  /**
   * State rebuilt from the events; {@code pendingSwitchTo} explains the next activation. {@code deployments},
   * {@code installationId} and {@code services} are what the CoreManager recorded before the {@link DeploymentLedger}
   * and the {@link ServiceLedger} existed (old journals and snapshots hold them): read once by the ledgers
   * ({@link GetLegacy}), never changed again, except the installation id of the very first activation.
   */
  public record State(
      Integer activeCore,
      long epoch,
      Instant activeSince,
      String reason,
      Integer previousCore,
      Integer pendingSwitchTo,
      long activations,
      java.util.Map<String, DeployedFeature> deployments,
      String installationId,
      java.util.Map<String, DesiredService> services)
      implements CborSerializable {

    @JsonCreator
    public State {
      // snapshots written before features existed have no deployments
      deployments = deployments == null ? java.util.Map.of() : java.util.Map.copyOf(deployments);
      // ... and those written before dynamic services have no services
      services = services == null ? java.util.Map.of() : java.util.Map.copyOf(services);
    }

    static State empty() {
      return new State(null, 0, null, null, null, null, 0, java.util.Map.of(), null, java.util.Map.of());
    }

    private State withServices(java.util.Map<String, DesiredService> next) {
      return new State(activeCore, epoch, activeSince, reason, previousCore, pendingSwitchTo, activations, deployments,
          installationId, next);
    }

    /** Why {@code core} becomes active now, judged from what happened before. */
    String reasonForActivation(int core) {
      if (activeCore == null) {
        return "first start";
      }
      if (pendingSwitchTo != null && pendingSwitchTo == core) {
        return "planned switch from core " + activeCore;
      }
      if (activeCore == core) {
        return "core " + core + " restarted (was active under epoch " + epoch + ")";
      }
      return "failover: core " + activeCore + " (epoch " + epoch + ") was lost";
    }

    State apply(Event event) {
      if (event instanceof CoreActivated a) {
        return new State(
            a.core(), a.epoch(), a.at(), a.reason(), a.previousCore(), null, activations + 1, deployments,
            installationId, services);
      }
      if (event instanceof SwitchRequested s) {
        return new State(activeCore, epoch, activeSince, reason, previousCore, s.toCore(),
            activations, deployments, installationId, services);
      }
      if (event instanceof FeatureDeployed d) {
        var next = new java.util.HashMap<>(deployments);
        next.put(d.featureId(), new DeployedFeature(d.revision(), d.command(), d.epoch(), d.at()));
        return new State(activeCore, epoch, activeSince, reason, previousCore, pendingSwitchTo, activations, next,
            installationId, services);
      }
      if (event instanceof FeatureUndeployed u) {
        var next = new java.util.HashMap<>(deployments);
        next.remove(u.featureId());
        return new State(activeCore, epoch, activeSince, reason, previousCore, pendingSwitchTo, activations, next,
            installationId, services);
      }
      if (event instanceof InstallationIdentified i) {
        return new State(activeCore, epoch, activeSince, reason, previousCore, pendingSwitchTo, activations,
            deployments, i.installationId(), services);
      }
      if (event instanceof ServiceLedger.Event service) {
        return withServices(ServiceLedger.applyTo(services, service));
      }
      throw new IllegalArgumentException("unknown event " + event);
    }
  }

  // ---------------------------------------------------------------- behaviour

  public static Behavior<Command> create(CoreNode node, EpochFence fence, Duration heartbeatInterval) {
    return create(node, fence, heartbeatInterval, PERSISTENCE_ID);
  }

  /** Tests run several CoreManagers side by side, each with its own journal and fence. */
  static Behavior<Command> create(
      CoreNode node, EpochFence fence, Duration heartbeatInterval, PersistenceId persistenceId) {
    return Behaviors.setup(
        context ->
            Behaviors.withTimers(
                timers -> new CoreManager(context, timers, node, fence, heartbeatInterval, persistenceId)));
  }

  private enum Phase {
    ACTIVATING, ACTIVE, FENCED
  }

  private final ActorContext<Command> context;
  private final TimerScheduler<Command> timers;
  private final CoreNode node;
  private final EpochFence fence;
  private final FencedWrites writes;
  private final heyken.actors.store.MongoStore store;
  private final Duration heartbeatInterval;
  // Not state: this incarnation's epoch (0 until activated; a restarted CoreManager takes a new one) and phase.
  private long myEpoch;
  private Phase phase = Phase.ACTIVATING;
  private boolean heartbeatInFlight;

  private CoreManager(
      ActorContext<Command> context,
      TimerScheduler<Command> timers,
      CoreNode node,
      EpochFence fence,
      Duration heartbeatInterval,
      PersistenceId persistenceId) {
    super(
        persistenceId,
        SupervisorStrategy.restartWithBackoff(Duration.ofMillis(200), Duration.ofSeconds(5), 0.2));
    this.context = context;
    this.timers = timers;
    this.node = node;
    this.fence = fence;
    this.store = heyken.actors.store.MongoStore.get(context.getSystem());
    this.writes = new FencedWrites(fence, store);
    this.heartbeatInterval = heartbeatInterval;
  }

  @Override
  public State emptyState() {
    return State.empty();
  }

  @Override
  public RetentionCriteria retentionCriteria() {
    return RetentionCriteria.snapshotEvery(100, 2).withDeleteEventsOnSnapshot();
  }

  @Override
  public Set<String> tagsFor(Event event) {
    return Set.of(TAG);
  }

  @Override
  public SignalHandler<State> signalHandler() {
    return newSignalHandlerBuilder()
        .onSignal(RecoveryCompleted.instance(), state -> takeEpoch())
        .onSignal(PostStop.instance(), state -> stepDown("the singleton stopped (hand-over, lease lost or cluster left)"))
        .build();
  }

  private void takeEpoch() {
    context.pipeToSelf(
        store.async(db -> fence.nextEpoch(node.coreId(), node.pid())),
        (epoch, error) ->
            error == null ? new EpochAssigned(epoch) : new ActivationFailed(String.valueOf(error.getMessage())));
  }

  private void stepDown(String why) {
    if (myEpoch > 0) {
      log.info("core {} steps down from epoch {}: {}", node.coreId(), myEpoch, why);
      node.deactivated(myEpoch, why);
    }
  }

  @Override
  public CommandHandler<Command, Event, State> commandHandler() {
    var builder = newCommandHandlerBuilder();
    builder.forState(state -> phase == Phase.ACTIVATING)
        .onCommand(EpochAssigned.class, this::onEpochAssigned)
        .onCommand(ActivationFailed.class, this::onActivationFailed)
        .onCommand(RetryActivation.class, (state, retry) -> {
          takeEpoch();
          return Effect().none();
        })
        .onCommand(GetActive.class, (state, get) -> Effect().stash())
        .onCommand(RequestSwitch.class, (state, request) -> Effect().stash())
        .onCommand(GetLegacy.class, (state, get) -> Effect().stash());
    builder.forState(state -> phase == Phase.ACTIVE)
        .onCommand(RequestSwitch.class, this::onRequestSwitch)
        .onCommand(SwitchChecked.class, this::onSwitchChecked)
        .onCommand(HeartbeatTick.class, (state, tick) -> onHeartbeatTick());
    builder.forState(state -> phase == Phase.FENCED)
        .onCommand(RequestSwitch.class, (state, request) ->
            Effect().reply(request.replyTo(), SwitchOutcome.refused(notActive())))
        .onCommand(SwitchChecked.class, this::onSwitchChecked)
        .onCommand(HeartbeatTick.class, (state, tick) -> Effect().none());
    // active or fenced: what does not depend on which
    builder.forAnyState()
        .onCommand(GetActive.class, (state, get) -> Effect().reply(get.replyTo(), new ActiveCore(state.activeCore(),
            state.epoch(), state.activeSince(), state.reason(), state.previousCore(), phase == Phase.FENCED)))
        .onCommand(GetLegacy.class, (state, get) -> Effect().reply(get.replyTo(),
            new Legacy(state.deployments(), state.installationId(), state.services())))
        .onCommand(HeartbeatDone.class, (state, done) -> onHeartbeatDone(done))
        .onCommand(Superseded.class, (state, superseded) -> {
          becomeFenced(superseded.newerEpoch(), superseded.what());
          return Effect().none();
        })
        .onCommand(Stop.class, (state, stop) -> Effect().stop())
        .onAnyCommand(() -> Effect().unhandled());
    return builder.build();
  }

  private Effect<Event, State> onEpochAssigned(State state, EpochAssigned assigned) {
    int me = node.coreId();
    var activated =
        new CoreActivated(
            me, assigned.epoch(), state.activeCore(), state.reasonForActivation(me), Instant.now());
    var events = new java.util.ArrayList<Event>();
    events.add(activated);
    if (state.installationId() == null) {
      events.add(new InstallationIdentified(java.util.UUID.randomUUID().toString().replace("-", ""), assigned.epoch(),
          activated.at()));
    }
    return Effect()
        .persist(events)
        .thenRun(
            newState -> {
              myEpoch = assigned.epoch();
              phase = Phase.ACTIVE;
              heyken.actors.metrics.Metrics.activation(activated.reason());
              log.info(
                  "core {} is ACTIVE: epoch={} previous_core={} reason=\"{}\"",
                  me,
                  myEpoch,
                  activated.previousCore(),
                  activated.reason());
              node.activated(myEpoch);
              timers.startTimerWithFixedDelay(HeartbeatTick.INSTANCE, heartbeatInterval);
            })
        .thenUnstashAll();
  }

  private Effect<Event, State> onActivationFailed(State state, ActivationFailed failed) {
    log.warn(
        "core {} could not take an epoch from the store ({}); retrying in 1 s. Check the store: scripts/status.sh",
        node.coreId(),
        failed.reason());
    timers.startSingleTimer(RetryActivation.INSTANCE, Duration.ofSeconds(1));
    return Effect().none();
  }

  private Effect<Event, State> onRequestSwitch(State state, RequestSwitch request) {
    CoreRefusal refusal = switchRefusal(request.targetCore());
    if (refusal != null) {
      return Effect().reply(request.replyTo(), SwitchOutcome.refused(refusal));
    }
    context.pipeToSelf(writes.check(myEpoch), (verdict, error) ->
        new SwitchChecked(request.targetCore(), request.replyTo(),
            verdict != null ? verdict : FencedWrites.verdict(error)));
    return Effect().none();
  }

  private CoreRefusal notActive() {
    return CoreRefusal.of(CoreRefusal.Kind.SWITCH_NOT_ACTIVE, node.coreId(), myEpoch);
  }

  /** Null when the switch may go ahead, else why not (the operator reads this). */
  private CoreRefusal switchRefusal(int target) {
    if (phase != Phase.ACTIVE) {
      return notActive();
    }
    if (target != 1 && target != 2) {
      return CoreRefusal.target(CoreRefusal.Kind.INVALID_TARGET, node.coreId(), myEpoch, target);
    }
    if (target == node.coreId()) {
      return CoreRefusal.target(CoreRefusal.Kind.ALREADY_ACTIVE, node.coreId(), myEpoch, target);
    }
    boolean targetUp = false;
    for (var member : Cluster.get(context.getSystem()).state().getMembers()) {
      if (member.hasRole("core-" + target) && member.status() == MemberStatus.up()) {
        targetUp = true;
      }
    }
    var unreachable = Cluster.get(context.getSystem()).state().getUnreachable();
    for (var member : unreachable) {
      if (member.hasRole("core-" + target)) {
        targetUp = false;
      }
    }
    if (!targetUp) {
      return CoreRefusal.target(CoreRefusal.Kind.TARGET_NOT_UP, node.coreId(), myEpoch, target);
    }
    return null;
  }

  private Effect<Event, State> onSwitchChecked(State state, SwitchChecked checked) {
    var verdict = checked.verdict();
    if (verdict.supersededBy() > 0) {
      becomeFenced(verdict.supersededBy(), "switch request");
      return Effect()
          .reply(
              checked.replyTo(),
              SwitchOutcome.refused(CoreRefusal.superseded(CoreRefusal.Kind.SWITCH_SUPERSEDED, node.coreId(), myEpoch,
                  verdict.supersededBy())));
    }
    if (!verdict.allowed()) {
      return Effect().reply(checked.replyTo(), SwitchOutcome.refused(verdict.refused()));
    }
    CoreRefusal refusal = switchRefusal(checked.targetCore());
    if (refusal != null) {
      return Effect().reply(checked.replyTo(), SwitchOutcome.refused(refusal));
    }
    var requested = new SwitchRequested(node.coreId(), checked.targetCore(), myEpoch, Instant.now());
    return Effect()
        .persist(requested)
        .thenRun(
            newState -> {
              log.info(
                  "planned switch: core {} hands over to core {} (epoch {})",
                  requested.fromCore(),
                  requested.toCore(),
                  requested.epoch());
              checked
                  .replyTo()
                  .tell(SwitchOutcome.accepted(
                      new SwitchAccepted(requested.fromCore(), requested.toCore(), requested.epoch())));
              node.switchAway();
            });
  }

  private Effect<Event, State> onHeartbeatTick() {
    if (heartbeatInFlight) {
      return Effect().none();
    }
    heartbeatInFlight = true;
    long epoch = myEpoch;
    context.pipeToSelf(
        store.async(
            db -> {
              fence.heartbeat(epoch, node.coreId(), node.pid());
              return epoch;
            }),
        (ok, error) -> {
          Throwable cause =
              error instanceof java.util.concurrent.CompletionException ? error.getCause() : error;
          if (cause instanceof EpochFence.StaleEpochException stale) {
            return new HeartbeatDone(epoch, stale.currentEpoch, null);
          }
          return new HeartbeatDone(epoch, 0, cause == null ? null : String.valueOf(cause.getMessage()));
        });
    return Effect().none();
  }

  private Effect<Event, State> onHeartbeatDone(HeartbeatDone done) {
    heartbeatInFlight = false;
    if (done.supersededBy() > 0) {
      becomeFenced(done.supersededBy(), "heartbeat");
    } else if (done.error() != null) {
      log.warn("core {} heartbeat (epoch {}) failed: {}", node.coreId(), done.epoch(), done.error());
    }
    return Effect().none();
  }

  private void becomeFenced(long newerEpoch, String what) {
    node.recordRefusedWrite();
    log.warn(
        "FENCED: core {} {} under epoch {} refused, epoch {} is newer; this core stops acting as active",
        node.coreId(),
        what,
        myEpoch,
        newerEpoch);
    if (phase != Phase.FENCED) {
      phase = Phase.FENCED;
      timers.cancel(HeartbeatTick.INSTANCE);
      node.deactivated(myEpoch, "fenced: epoch " + newerEpoch + " is newer (" + what + " refused)");
    }
  }

  @Override
  public EventHandler<State, Event> eventHandler() {
    return newEventHandlerBuilder().forAnyState().onAnyEvent(State::apply);
  }
}
