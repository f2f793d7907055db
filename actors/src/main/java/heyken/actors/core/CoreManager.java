package heyken.actors.core;

import com.fasterxml.jackson.annotation.JsonCreator;
import heyken.actors.services.DesiredService;
import heyken.actors.services.ServiceReconciler;
import heyken.actors.services.ServiceRuntime;
import heyken.actors.services.ServiceSpec;
import heyken.actors.store.MongoStore;
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
 * The cluster singleton that makes its core the active one. On each activation it takes the next epoch from
 * the {@link EpochFence} and persists {@link CoreActivated}; while active it writes a fenced heartbeat, and
 * the moment a newer epoch exists (a frozen core that woke up after the other one took over) it stops acting:
 * the heartbeat is refused, the documented ports are released, and every further request is refused.
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
   * Makes {@code revision} the deployed revision of a feature cluster-wide (deploy and rollback). Refused when this
   * core is not (or no longer) the active one, when {@code targetCore} is given and is not this core, or when another
   * deployed feature answers to the same chat command.
   */
  public record ActivateDeployment(String featureId, String revision, String command, Integer targetCore,
      ActorRef<DeploymentOutcome> replyTo) implements Command {}

  /** Removes a feature's deployment (undeploy, delete). */
  public record RemoveDeployment(String featureId, ActorRef<DeploymentOutcome> replyTo) implements Command {}

  /** The deployed features, for routing chat commands and invocations. */
  public record GetDeployments(ActorRef<Deployments> replyTo) implements Command {}

  /** Reply to a deployment change: the core and epoch that made it, or why not. */
  public record DeploymentOutcome(int core, long epoch, Problem problem) implements CborSerializable {}

  /** Every deployed feature: feature id → (revision, command). */
  public record Deployments(java.util.Map<String, DeployedFeature> byFeature) implements CborSerializable {}

  public record DeployedFeature(String revision, String command, long epoch, Instant at) implements CborSerializable {}

  record DeploymentChecked(Event event, ActorRef<DeploymentOutcome> replyTo, long supersededBy, Problem problem)
      implements Command {}

  /** The wanted dynamic services, the installation id their containers are labelled with, and the last errors. */
  public record GetServices(ActorRef<ServicesState> replyTo) implements Command {}

  /** Adds a service; refused (409) when one of that name exists or another service publishes the same host port. */
  public record AddService(ServiceSpec spec, String requestedBy, ActorRef<ServiceOutcome> replyTo)
      implements Command {}

  /** {@code stop}, {@code start}, {@code restart} or {@code remove} a service (404 when there is none of that name). */
  public record ChangeService(String name, String action, String requestedBy, ActorRef<ServiceOutcome> replyTo)
      implements Command {}

  public record ServicesState(String installationId, java.util.Map<String, DesiredService> services,
      java.util.Map<String, String> errors) implements CborSerializable {}

  /** Reply to a service change: the service as it is wanted now (null once removed), or why not. */
  public record ServiceOutcome(DesiredService service, Problem problem) implements CborSerializable {}

  record ServiceWriteChecked(Event event, ActorRef<ServiceOutcome> replyTo, long supersededBy, Problem problem)
      implements Command {}

  record ServicesReconciled(java.util.Map<String, String> errors) implements Command {}

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

  record SwitchChecked(
      int targetCore, ActorRef<SwitchOutcome> replyTo, long supersededBy, String error)
      implements Command {}

  /** Reply to {@link RequestSwitch}: the accepted hand-over, or why not. */
  public record SwitchOutcome(SwitchAccepted accepted, Problem problem) implements CborSerializable {}

  /** Reply: the active core as this CoreManager knows it; {@code fenced} when it has been superseded. */
  public record ActiveCore(
      Integer core, long epoch, Instant since, String reason, Integer previousCore, boolean fenced)
      implements CborSerializable {}

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
      implements Event {}

  public record FeatureUndeployed(String featureId, long epoch, Instant at) implements Event {}

  /** The installation's id, generated once on the very first activation; service containers carry it as a label. */
  public record InstallationIdentified(String installationId, long epoch, Instant at) implements Event {}

  public record ServiceAdded(ServiceSpec spec, String requestedBy, long epoch, Instant at) implements Event {}

  public record ServiceStopped(String name, String requestedBy, long epoch, Instant at) implements Event {}

  public record ServiceStarted(String name, String requestedBy, long epoch, Instant at) implements Event {}

  public record ServiceRestarted(String name, String requestedBy, long epoch, Instant at) implements Event {}

  public record ServiceRemoved(String name, String requestedBy, long epoch, Instant at) implements Event {}

  /** State rebuilt from the events; {@code pendingSwitchTo} explains the next activation. */
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

    private State withService(String name, java.util.function.UnaryOperator<DesiredService> change) {
      var next = new java.util.HashMap<>(services);
      var current = next.get(name);
      if (current != null) {
        next.put(name, change.apply(current));
      }
      return withServices(next);
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
      if (event instanceof ServiceAdded added) {
        var next = new java.util.HashMap<>(services);
        next.put(added.spec().name(), new DesiredService(added.spec(), true, added.at(), added.requestedBy()));
        return withServices(next);
      }
      if (event instanceof ServiceStopped stopped) {
        return withService(stopped.name(), d -> d.withRunning(false));
      }
      if (event instanceof ServiceStarted started) {
        return withService(started.name(), d -> d.withRunning(true));
      }
      if (event instanceof ServiceRestarted restarted) {
        return withService(restarted.name(), d -> d.withRunning(true));
      }
      if (event instanceof ServiceRemoved removed) {
        var next = new java.util.HashMap<>(services);
        next.remove(removed.name());
        return withServices(next);
      }
      throw new IllegalArgumentException("unknown event " + event);
    }

    /** The service other than {@code name} that publishes the same host port, as "service (port)", or null. */
    String portOwner(ServiceSpec spec) {
      for (var other : services.values()) {
        if (other.spec().name().equals(spec.name())) {
          continue;
        }
        for (var mine : spec.ports()) {
          for (var theirs : other.spec().ports()) {
            if (mine.hostPort() == theirs.hostPort() && mine.protocol().equals(theirs.protocol())) {
              return other.spec().name() + " (" + theirs.hostPort() + "/" + theirs.protocol() + ")";
            }
          }
        }
      }
      return null;
    }

    /** The feature other than {@code featureId} deployed under {@code command}, or null. */
    String commandOwner(String command, String featureId) {
      if (command == null) {
        return null;
      }
      return deployments.entrySet().stream()
          .filter(e -> !e.getKey().equals(featureId) && command.equals(e.getValue().command()))
          .map(java.util.Map.Entry::getKey).findFirst().orElse(null);
    }
  }

  // ---------------------------------------------------------------- behaviour

  public static Behavior<Command> create(CoreNode node, EpochFence fence, Duration heartbeatInterval) {
    return create(node, fence, heartbeatInterval, PERSISTENCE_ID);
  }

  /** Tests run several CoreManagers side by side, each with its own journal and fence. */
  static Behavior<Command> create(
      CoreNode node, EpochFence fence, Duration heartbeatInterval, PersistenceId persistenceId) {
    return create(node, fence, heartbeatInterval, persistenceId, null);
  }

  /** With the services' reconciler; {@code services} null runs no reconciler (tests of other rules). */
  static Behavior<Command> create(CoreNode node, EpochFence fence, Duration heartbeatInterval,
      PersistenceId persistenceId, ServiceReconciler.Wiring services) {
    return Behaviors.setup(
        context ->
            Behaviors.withTimers(
                timers -> new CoreManager(context, timers, node, fence, heartbeatInterval, persistenceId, services)));
  }

  /** The production wiring: the fence in the cores' MongoDB, the heartbeat interval from config. */
  public static Behavior<Command> create(CoreNode node) {
    return Behaviors.setup(
        context -> {
          var system = context.getSystem();
          Duration interval =
              system.settings().config().getDuration("heyken.core-manager.heartbeat-interval");
          var fence = new EpochFence(MongoStore.get(system).database());
          var services = ServiceRuntime.get(system);
          return create(node, fence, interval, PERSISTENCE_ID, new ServiceReconciler.Wiring(services.engine(),
              services.settings(), services.executor(), fence, services::registry));
        });
  }

  private final ActorContext<Command> context;
  private final TimerScheduler<Command> timers;
  private final CoreNode node;
  private final EpochFence fence;
  private final MongoStore store;
  private final Duration heartbeatInterval;
  // This incarnation's epoch: 0 until activated. Not state: a restarted CoreManager takes a new one.
  private long myEpoch;
  private boolean fenced;
  private boolean heartbeatInFlight;
  private final ServiceReconciler.Wiring services;
  private ActorRef<ServiceReconciler.Command> reconciler;
  private java.util.Map<String, String> serviceErrors = java.util.Map.of();

  private CoreManager(
      ActorContext<Command> context,
      TimerScheduler<Command> timers,
      CoreNode node,
      EpochFence fence,
      Duration heartbeatInterval,
      PersistenceId persistenceId,
      ServiceReconciler.Wiring services) {
    super(
        persistenceId,
        SupervisorStrategy.restartWithBackoff(Duration.ofMillis(200), Duration.ofSeconds(5), 0.2));
    this.context = context;
    this.timers = timers;
    this.node = node;
    this.fence = fence;
    this.store = MongoStore.get(context.getSystem());
    this.heartbeatInterval = heartbeatInterval;
    this.services = services;
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

  private boolean acting() {
    return myEpoch > 0 && !fenced;
  }

  @Override
  public CommandHandler<Command, Event, State> commandHandler() {
    var builder = newCommandHandlerBuilder().forAnyState();
    return builder
        .onCommand(EpochAssigned.class, this::onEpochAssigned)
        .onCommand(ActivationFailed.class, this::onActivationFailed)
        .onCommand(RetryActivation.class, (state, cmd) -> {
          takeEpoch();
          return Effect().none();
        })
        .onCommand(GetActive.class, this::onGetActive)
        .onCommand(RequestSwitch.class, this::onRequestSwitch)
        .onCommand(SwitchChecked.class, this::onSwitchChecked)
        .onCommand(HeartbeatTick.INSTANCE.getClass(), (state, tick) -> onHeartbeatTick())
        .onCommand(HeartbeatDone.class, (state, done) -> onHeartbeatDone(done))
        .onCommand(ActivateDeployment.class, this::onActivateDeployment)
        .onCommand(RemoveDeployment.class, this::onRemoveDeployment)
        .onCommand(GetDeployments.class, (state, get) ->
            Effect().reply(get.replyTo(), new Deployments(state.deployments())))
        .onCommand(DeploymentChecked.class, this::onDeploymentChecked)
        .onCommand(GetServices.class, (state, get) -> Effect().reply(get.replyTo(),
            new ServicesState(state.installationId(), state.services(), serviceErrors)))
        .onCommand(AddService.class, this::onAddService)
        .onCommand(ChangeService.class, this::onChangeService)
        .onCommand(ServiceWriteChecked.class, this::onServiceWriteChecked)
        .onCommand(ServicesReconciled.class, (state, r) -> {
          serviceErrors = java.util.Map.copyOf(r.errors());
          return Effect().none();
        })
        .onCommand(Stop.INSTANCE.getClass(), (state, stop) -> Effect().stop())
        .build();
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
              heyken.actors.metrics.Metrics.activation(activated.reason());
              log.info(
                  "core {} is ACTIVE: epoch={} previous_core={} reason=\"{}\"",
                  me,
                  myEpoch,
                  activated.previousCore(),
                  activated.reason());
              node.activated(myEpoch);
              timers.startTimerWithFixedDelay(HeartbeatTick.INSTANCE, heartbeatInterval);
              startReconciler(newState);
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

  private Effect<Event, State> onGetActive(State state, GetActive get) {
    if (myEpoch == 0 && !fenced) {
      return Effect().stash();
    }
    return Effect()
        .reply(
            get.replyTo(),
            new ActiveCore(
                state.activeCore(),
                state.epoch(),
                state.activeSince(),
                state.reason(),
                state.previousCore(),
                fenced));
  }

  private Effect<Event, State> onRequestSwitch(State state, RequestSwitch request) {
    if (myEpoch == 0 && !fenced) {
      return Effect().stash();
    }
    Problem refusal = switchRefusal(request.targetCore());
    if (refusal != null) {
      return Effect().reply(request.replyTo(), new SwitchOutcome(null, refusal));
    }
    long epoch = myEpoch;
    context.pipeToSelf(
        store.async(
            db -> {
              fence.check(epoch);
              return epoch;
            }),
        (ok, error) -> checked(request, error));
    return Effect().none();
  }

  private SwitchChecked checked(RequestSwitch request, Throwable error) {
    Throwable cause = error instanceof java.util.concurrent.CompletionException ? error.getCause() : error;
    if (cause == null) {
      return new SwitchChecked(request.targetCore(), request.replyTo(), 0, null);
    }
    if (cause instanceof EpochFence.StaleEpochException stale) {
      return new SwitchChecked(request.targetCore(), request.replyTo(), stale.currentEpoch, null);
    }
    return new SwitchChecked(request.targetCore(), request.replyTo(), 0, String.valueOf(cause.getMessage()));
  }

  /** Null when the switch may go ahead, else why not (the operator reads this). */
  private Problem switchRefusal(int target) {
    if (!acting()) {
      return Problem.conflict("not_active",
          "core " + node.coreId() + " is no longer active (epoch " + myEpoch + " was superseded)");
    }
    if (target != 1 && target != 2) {
      return Problem.badRequest("invalid_target", "target_core must be 1 or 2, got " + target);
    }
    if (target == node.coreId()) {
      return Problem.conflict("already_active", "core " + target + " is already active (epoch " + myEpoch + ")");
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
      return Problem.conflict("target_not_up",
          "core " + target + " is not up in the cluster, so it cannot take over: start it "
          + "(scripts/run_heyken.sh starts what is missing) and check scripts/status.sh");
    }
    return null;
  }

  private Effect<Event, State> onSwitchChecked(State state, SwitchChecked checked) {
    if (checked.supersededBy() > 0) {
      becomeFenced(checked.supersededBy(), "switch request");
      return Effect()
          .reply(
              checked.replyTo(),
              new SwitchOutcome(null, Problem.conflict("not_active",
                  "core " + node.coreId() + " is no longer active: epoch " + myEpoch
                  + " was superseded by " + checked.supersededBy())));
    }
    if (checked.error() != null) {
      return Effect()
          .reply(
              checked.replyTo(),
              new SwitchOutcome(null, Problem.unavailable("store_unavailable",
                  "the store could not confirm this core's epoch (" + checked.error()
                  + "); nothing was changed, try again")));
    }
    Problem refusal = switchRefusal(checked.targetCore());
    if (refusal != null) {
      return Effect().reply(checked.replyTo(), new SwitchOutcome(null, refusal));
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
                  .tell(new SwitchOutcome(
                      new SwitchAccepted(requested.fromCore(), requested.toCore(), requested.epoch()), null));
              node.switchAway();
            });
  }

  private Effect<Event, State> onHeartbeatTick() {
    if (!acting() || heartbeatInFlight) {
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

  private Effect<Event, State> onActivateDeployment(State state, ActivateDeployment activate) {
    if (myEpoch == 0 && !fenced) {
      return Effect().stash();
    }
    Problem refusal = deploymentRefusal();
    if (refusal == null && activate.targetCore() != null && activate.targetCore() != node.coreId()) {
      refusal = activate.targetCore() != 1 && activate.targetCore() != 2
          ? Problem.badRequest("invalid_target", "target_core must be 1 or 2, got " + activate.targetCore())
          : Problem.conflict("target_not_active", "target_core " + activate.targetCore() + " is not the active core: "
              + "core " + node.coreId() + " is (epoch " + myEpoch + "). Features are deployed to the active core; "
              + "leave target_core out, give " + node.coreId() + ", or switch first: scripts/switch_core.sh "
              + activate.targetCore());
    }
    String owner = state.commandOwner(activate.command(), activate.featureId());
    if (refusal == null && owner != null) {
      refusal = Problem.conflict("command_taken", "the chat command '" + activate.command()
          + "' is already answered by deployed feature " + owner + ": undeploy it or change `command` in heyken.yml");
    }
    if (refusal != null) {
      return Effect().reply(activate.replyTo(), new DeploymentOutcome(node.coreId(), myEpoch, refusal));
    }
    return fencedDeploymentWrite(new FeatureDeployed(activate.featureId(), activate.revision(), activate.command(),
        myEpoch, Instant.now()), activate.replyTo());
  }

  private Effect<Event, State> onRemoveDeployment(State state, RemoveDeployment remove) {
    if (myEpoch == 0 && !fenced) {
      return Effect().stash();
    }
    Problem refusal = deploymentRefusal();
    if (refusal != null) {
      return Effect().reply(remove.replyTo(), new DeploymentOutcome(node.coreId(), myEpoch, refusal));
    }
    if (!state.deployments().containsKey(remove.featureId())) {
      return Effect().reply(remove.replyTo(), new DeploymentOutcome(node.coreId(), myEpoch, null));
    }
    return fencedDeploymentWrite(new FeatureUndeployed(remove.featureId(), myEpoch, Instant.now()), remove.replyTo());
  }

  private Problem deploymentRefusal() {
    return acting() ? null : Problem.unavailable("not_active", "core " + node.coreId()
        + " is no longer the active core (epoch " + myEpoch + " was superseded); retry in a moment");
  }

  /** A deployment change is a side effect of the active core: the fence confirms the epoch before it is persisted. */
  private Effect<Event, State> fencedDeploymentWrite(Event event, ActorRef<DeploymentOutcome> replyTo) {
    return fencedWrite((supersededBy, problem) -> new DeploymentChecked(event, replyTo, supersededBy, problem));
  }

  /**
   * Confirms this core's epoch in the store, then tells itself the result: {@code checked} gets the newer epoch
   * (0 when none) and the problem (null when the write may go ahead).
   */
  private Effect<Event, State> fencedWrite(java.util.function.BiFunction<Long, Problem, Command> checked) {
    long epoch = myEpoch;
    context.pipeToSelf(store.async(db -> {
      fence.check(epoch);
      return epoch;
    }), (ok, error) -> {
      Throwable cause = error instanceof java.util.concurrent.CompletionException ? error.getCause() : error;
      if (cause == null) {
        return checked.apply(0L, null);
      }
      if (cause instanceof EpochFence.StaleEpochException stale) {
        return checked.apply(stale.currentEpoch, Problem.unavailable("not_active", stale.getMessage()));
      }
      return checked.apply(0L, Problem.unavailable("store_unavailable",
          "the store could not confirm this core's epoch (" + cause.getMessage() + "); nothing was changed, try again"));
    });
    return Effect().none();
  }

  private Effect<Event, State> onDeploymentChecked(State state, DeploymentChecked checked) {
    if (checked.problem() != null) {
      if (checked.supersededBy() > 0) {
        becomeFenced(checked.supersededBy(), "deployment change");
      }
      return Effect().reply(checked.replyTo(), new DeploymentOutcome(node.coreId(), myEpoch, checked.problem()));
    }
    if (!acting()) {
      return Effect().reply(checked.replyTo(), new DeploymentOutcome(node.coreId(), myEpoch, deploymentRefusal()));
    }
    return Effect().persist(checked.event()).thenRun(s -> log.info("deployment change under epoch {}: {}", myEpoch,
        checked.event())).thenReply(checked.replyTo(), s -> new DeploymentOutcome(node.coreId(), myEpoch, null));
  }

  // ---------------------------------------------------------------- dynamic services

  private void startReconciler(State state) {
    if (services == null || reconciler != null) {
      return;
    }
    var self = context.getSelf();
    reconciler = context.spawn(ServiceReconciler.create(services, myEpoch,
        report -> self.tell(new ServicesReconciled(report.errors()))), "service-reconciler");
    reconciler.tell(new ServiceReconciler.Desired(state.installationId(), state.services()));
  }

  private Effect<Event, State> onAddService(State state, AddService add) {
    if (myEpoch == 0 && !fenced) {
      return Effect().stash();
    }
    Problem refusal = deploymentRefusal();
    String name = add.spec().name();
    if (refusal == null && state.services().containsKey(name)) {
      refusal = Problem.conflict("service_exists", "a service named '" + name + "' exists already (image "
          + state.services().get(name).spec().image() + "): DELETE /api/services/" + name + " first, or pick another "
          + "name");
    }
    String portOwner = refusal == null ? state.portOwner(add.spec()) : null;
    if (portOwner != null) {
      refusal = Problem.conflict("port_in_use", "the host port is already published by service " + portOwner);
    }
    if (refusal != null) {
      return Effect().reply(add.replyTo(), new ServiceOutcome(null, refusal));
    }
    return fencedServiceWrite(new ServiceAdded(add.spec(), add.requestedBy(), myEpoch, Instant.now()), add.replyTo());
  }

  private Effect<Event, State> onChangeService(State state, ChangeService change) {
    if (myEpoch == 0 && !fenced) {
      return Effect().stash();
    }
    Problem refusal = deploymentRefusal();
    if (refusal != null) {
      return Effect().reply(change.replyTo(), new ServiceOutcome(null, refusal));
    }
    var current = state.services().get(change.name());
    if (current == null) {
      return Effect().reply(change.replyTo(), new ServiceOutcome(null, Problem.notFound("unknown_service",
          "no service named '" + change.name() + "'; GET /api/services lists them")));
    }
    Instant now = Instant.now();
    String by = change.requestedBy();
    Event event;
    switch (change.action()) {
      case "stop":
        if (!current.running()) {
          return Effect().reply(change.replyTo(), new ServiceOutcome(current, null));
        }
        event = new ServiceStopped(change.name(), by, myEpoch, now);
        break;
      case "start":
        if (current.running()) {
          return Effect().reply(change.replyTo(), new ServiceOutcome(current, null));
        }
        event = new ServiceStarted(change.name(), by, myEpoch, now);
        break;
      case "restart":
        event = new ServiceRestarted(change.name(), by, myEpoch, now);
        break;
      case "remove":
        event = new ServiceRemoved(change.name(), by, myEpoch, now);
        break;
      default:
        return Effect().reply(change.replyTo(), new ServiceOutcome(null, Problem.badRequest("invalid_action",
            "a service can be stopped, started, restarted or removed, not '" + change.action() + "'")));
    }
    return fencedServiceWrite(event, change.replyTo());
  }

  /** Like a deployment change: the fence confirms the epoch before the service change is persisted. */
  private Effect<Event, State> fencedServiceWrite(Event event, ActorRef<ServiceOutcome> replyTo) {
    return fencedWrite((supersededBy, problem) -> new ServiceWriteChecked(event, replyTo, supersededBy, problem));
  }

  private Effect<Event, State> onServiceWriteChecked(State state, ServiceWriteChecked checked) {
    if (checked.problem() != null) {
      if (checked.supersededBy() > 0) {
        becomeFenced(checked.supersededBy(), "service change");
      }
      return Effect().reply(checked.replyTo(), new ServiceOutcome(null, checked.problem()));
    }
    if (!acting()) {
      return Effect().reply(checked.replyTo(), new ServiceOutcome(null, deploymentRefusal()));
    }
    // checked again: a second add of the same name may have passed the fence check meanwhile
    if (checked.event() instanceof ServiceAdded added && state.services().containsKey(added.spec().name())) {
      return onAddService(state, new AddService(added.spec(), added.requestedBy(), checked.replyTo()));
    }
    if (!(checked.event() instanceof ServiceAdded) && !state.services().containsKey(serviceName(checked.event()))) {
      return onChangeService(state, new ChangeService(serviceName(checked.event()), "stop", null, checked.replyTo()));
    }
    return Effect().persist(checked.event()).thenRun(s -> {
      log.info("service change under epoch {}: {}", myEpoch, checked.event());
      if (reconciler != null) {
        reconciler.tell(new ServiceReconciler.Desired(s.installationId(), s.services()));
        if (checked.event() instanceof ServiceRestarted r) {
          reconciler.tell(new ServiceReconciler.RestartNow(r.name()));
        }
      }
    }).thenReply(checked.replyTo(), s -> new ServiceOutcome(s.services().get(serviceName(checked.event())), null));
  }

  private static String serviceName(Event event) {
    if (event instanceof ServiceAdded a) {
      return a.spec().name();
    }
    if (event instanceof ServiceStopped e) {
      return e.name();
    }
    if (event instanceof ServiceStarted e) {
      return e.name();
    }
    if (event instanceof ServiceRestarted e) {
      return e.name();
    }
    if (event instanceof ServiceRemoved e) {
      return e.name();
    }
    return null;
  }

  private void becomeFenced(long newerEpoch, String what) {
    node.recordRefusedWrite();
    log.warn(
        "FENCED: core {} {} under epoch {} refused, epoch {} is newer; this core stops acting as active",
        node.coreId(),
        what,
        myEpoch,
        newerEpoch);
    if (!fenced) {
      fenced = true;
      timers.cancel(HeartbeatTick.INSTANCE);
      if (reconciler != null) {
        context.stop(reconciler);
        reconciler = null;
      }
      node.deactivated(myEpoch, "fenced: epoch " + newerEpoch + " is newer (" + what + " refused)");
    }
  }

  @Override
  public EventHandler<State, Event> eventHandler() {
    return newEventHandlerBuilder().forAnyState().onAnyEvent(State::apply);
  }
}
