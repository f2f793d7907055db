package heyken.actors.core;

import heyken.actors.core.CoreManager.DeployedFeature;
import heyken.actors.core.CoreManager.FeatureDeployed;
import heyken.actors.core.CoreManager.FeatureUndeployed;
import heyken.protocol.CborSerializable;
import heyken.protocol.api.Problem;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.apache.pekko.persistence.typed.PersistenceId;
import org.apache.pekko.persistence.typed.javadsl.CommandHandler;
import org.apache.pekko.persistence.typed.javadsl.Effect;
import org.apache.pekko.persistence.typed.javadsl.EventHandler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The deployed features, cluster-wide: which revision of which feature answers which chat command. A singleton next to
 * the {@link CoreManager}; a change is made only by the active core, under its epoch, confirmed by
 * {@link FencedWrites} before it is persisted. Its events are the {@link CoreManager.FeatureDeployed} and
 * {@link CoreManager.FeatureUndeployed} the CoreManager wrote before it had this ledger (same classes, same names in
 * the audit); the deployments an older CoreManager journal holds are imported once ({@link DeploymentsImported}).
 */
public final class DeploymentLedger extends FencedLedger<DeploymentLedger.Command, DeploymentLedger.Event,
    DeploymentLedger.State, DeploymentLedger.DeploymentOutcome> {

  public static final PersistenceId PERSISTENCE_ID = PersistenceId.ofUniqueId("core-deployments");
  private static final Logger log = LoggerFactory.getLogger(DeploymentLedger.class);

  // ---------------------------------------------------------------- protocol

  public sealed interface Command extends CborSerializable {}

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

  /** Sent by the singleton manager on hand-over. */
  public enum Stop implements Command {
    INSTANCE
  }

  /**
   * Reply to a deployment change: the core and epoch that made it, or why not ({@code refused}; null: made).
   *
   * <p>On the wire both shapes for one release: a core of this version sends {@code refused} and, for a core of the
   * previous version (which reads {@code problem} only, ignoring the unknown field), {@code problem} beside it; a
   * reader takes {@code refused} when present, else {@code problem} ({@link CoreApi#problem(DeploymentOutcome)}).
   * Once every running core is of the release after issue 15's, {@code problem} can go.
   */
  public record DeploymentOutcome(int core, long epoch, Problem problem, CoreRefusal refused)
      implements CborSerializable {

    public static DeploymentOutcome made(int core, long epoch) {
      return new DeploymentOutcome(core, epoch, null, null);
    }

    public static DeploymentOutcome refused(int core, long epoch, CoreRefusal refused) {
      return new DeploymentOutcome(core, epoch, CoreApi.problem(refused), refused);
    }
  }

  /** Every deployed feature: feature id → (revision, command). */
  public record Deployments(Map<String, DeployedFeature> byFeature) implements CborSerializable {}

  record ActivationChanged(long epoch) implements Command {}

  record LegacyRead(CoreManager.Legacy legacy, String error) implements Command {}

  enum RetryImport implements Command {
    INSTANCE
  }

  record WriteChecked(Event event, ActorRef<DeploymentOutcome> replyTo, FencedWrites.Verdict verdict)
      implements Command {}

  // ---------------------------------------------------------------- events and state

  /** The ledger's events: the CoreManager's two deployment events (kept where they are) and the import. */
  public sealed interface Event extends CborSerializable permits FeatureDeployed, FeatureUndeployed,
      DeploymentsImported {}

  /** The deployments the CoreManager's own journal held before this ledger existed, taken over once. */
  public record DeploymentsImported(Map<String, DeployedFeature> byFeature, Instant at) implements Event {}

  public record State(Map<String, DeployedFeature> byFeature, boolean imported) implements CborSerializable {

    public State {
      byFeature = byFeature == null ? Map.of() : Map.copyOf(byFeature);
    }

    State apply(Event event) {
      if (event instanceof DeploymentsImported i) {
        return new State(i.byFeature(), true);
      }
      var next = new HashMap<>(byFeature);
      if (event instanceof FeatureDeployed d) {
        next.put(d.featureId(), new DeployedFeature(d.revision(), d.command(), d.epoch(), d.at()));
      } else if (event instanceof FeatureUndeployed u) {
        next.remove(u.featureId());
      }
      return new State(next, imported);
    }

    /** The feature other than {@code featureId} deployed under {@code command}, or null. */
    String commandOwner(String command, String featureId) {
      if (command == null) {
        return null;
      }
      return byFeature.entrySet().stream()
          .filter(e -> !e.getKey().equals(featureId) && command.equals(e.getValue().command()))
          .map(Map.Entry::getKey).findFirst().orElse(null);
    }
  }

  // ---------------------------------------------------------------- behaviour

  /** The ledger of this core: fenced by {@code writes}, active while {@code node} is, importing from the CoreManager. */
  public static Behavior<Command> create(CoreNode node, FencedWrites writes, ActorRef<CoreManager.Command> coreManager) {
    return create(node, writes, coreManager, PERSISTENCE_ID);
  }

  static Behavior<Command> create(CoreNode node, FencedWrites writes, ActorRef<CoreManager.Command> coreManager,
      PersistenceId persistenceId) {
    return Behaviors.setup(context -> Behaviors.withTimers(timers ->
        new DeploymentLedger(context, timers, node, writes, coreManager, persistenceId)));
  }

  private static final Steps<Command, Event, State, DeploymentOutcome> STEPS = new Steps<>(ActivationChanged::new,
      LegacyRead::new, RetryImport.INSTANCE, WriteChecked::new, State::imported);

  private DeploymentLedger(ActorContext<Command> context, TimerScheduler<Command> timers, CoreNode node,
      FencedWrites writes, ActorRef<CoreManager.Command> coreManager, PersistenceId persistenceId) {
    super(persistenceId, context, timers, node, writes, coreManager, STEPS, "deployment");
  }

  @Override
  public State emptyState() {
    return new State(Map.of(), false);
  }

  @Override
  public CommandHandler<Command, Event, State> commandHandler() {
    var builder = newCommandHandlerBuilder();
    builder.forState(state -> !state.imported())
        .onCommand(LegacyRead.class, this::onLegacyRead)
        .onCommand(RetryImport.class, (state, retry) -> {
          readLegacy();
          return Effect().none();
        });
    builder.forState(state -> state.imported() && activation.active())
        .onCommand(ActivateDeployment.class, this::onActivate)
        .onCommand(RemoveDeployment.class, this::onRemove)
        .onCommand(WriteChecked.class, this::onWriteChecked);
    builder.forState(state -> state.imported() && activation.activating())
        .onCommand(ActivateDeployment.class, (state, c) -> Effect().stash())
        .onCommand(RemoveDeployment.class, (state, c) -> Effect().stash());
    builder.forState(State::imported)
        .onCommand(ActivateDeployment.class, (state, c) -> Effect().reply(c.replyTo(), refused()))
        .onCommand(RemoveDeployment.class, (state, c) -> Effect().reply(c.replyTo(), refused()))
        .onCommand(WriteChecked.class, (state, c) -> Effect().reply(c.replyTo(), c.verdict().allowed()
            ? refused() : DeploymentOutcome.refused(node.coreId(), activation.epoch(), c.verdict().refused())))
        .onCommand(GetDeployments.class, (state, get) ->
            Effect().reply(get.replyTo(), new Deployments(state.byFeature())))
        .onCommand(LegacyRead.class, (state, late) -> Effect().none())
        .onCommand(RetryImport.class, (state, late) -> Effect().none());
    builder.forAnyState()
        .onCommand(ActivationChanged.class, (state, changed) -> {
          activation.changed(changed.epoch());
          return Effect().unstashAll();
        })
        .onCommand(Stop.class, (state, stop) -> Effect().stop())
        .onAnyCommand(() -> Effect().stash());
    return builder.build();
  }

  private Effect<Event, State> onLegacyRead(State state, LegacyRead read) {
    if (read.legacy() == null) {
      retryImportLater(read.error());
      return Effect().none();
    }
    var imported = new DeploymentsImported(read.legacy().deployments(), Instant.now());
    return Effect().persist(imported)
        .thenRun(s -> log.info("deployments taken over from the CoreManager's journal: {}", s.byFeature().keySet()))
        .thenUnstashAll();
  }

  private DeploymentOutcome refused() {
    return DeploymentOutcome.refused(node.coreId(), activation.epoch(), activation.notActive());
  }

  private Effect<Event, State> onActivate(State state, ActivateDeployment activate) {
    long epoch = activation.epoch();
    CoreRefusal refusal = null;
    Integer target = activate.targetCore();
    if (target != null && target != node.coreId()) {
      refusal = CoreRefusal.target(target != 1 && target != 2 ? CoreRefusal.Kind.INVALID_TARGET
          : CoreRefusal.Kind.TARGET_NOT_ACTIVE, node.coreId(), epoch, target);
    }
    String owner = state.commandOwner(activate.command(), activate.featureId());
    if (refusal == null && owner != null) {
      refusal = CoreRefusal.commandTaken(node.coreId(), epoch, activate.command(), owner);
    }
    if (refusal != null) {
      return Effect().reply(activate.replyTo(), DeploymentOutcome.refused(node.coreId(), epoch, refusal));
    }
    return fenced(new FeatureDeployed(activate.featureId(), activate.revision(), activate.command(), epoch,
        Instant.now()), activate.replyTo());
  }

  private Effect<Event, State> onRemove(State state, RemoveDeployment remove) {
    if (!state.byFeature().containsKey(remove.featureId())) {
      return Effect().reply(remove.replyTo(), DeploymentOutcome.made(node.coreId(), activation.epoch()));
    }
    return fenced(new FeatureUndeployed(remove.featureId(), activation.epoch(), Instant.now()),
        remove.replyTo());
  }

  /** The change goes to the fence first; its verdict comes back as {@link WriteChecked}. */
  private Effect<Event, State> fenced(Event event, ActorRef<DeploymentOutcome> replyTo) {
    fencedWrite(event, replyTo);
    return Effect().none();
  }

  private Effect<Event, State> onWriteChecked(State state, WriteChecked checked) {
    var verdict = checked.verdict();
    if (refusedBy(verdict)) {
      return Effect().reply(checked.replyTo(),
          DeploymentOutcome.refused(node.coreId(), activation.epoch(), verdict.refused()));
    }
    long epoch = activation.epoch();
    return Effect().persist(checked.event())
        .thenRun(s -> log.info("deployment change under epoch {}: {}", epoch, checked.event()))
        .thenReply(checked.replyTo(), s -> DeploymentOutcome.made(node.coreId(), epoch));
  }

  @Override
  public EventHandler<State, Event> eventHandler() {
    return newEventHandlerBuilder().forAnyState().onAnyEvent(State::apply);
  }
}
