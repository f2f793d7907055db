package heyken.actors.feature;

import com.fasterxml.jackson.annotation.JsonCreator;
import heyken.actors.chat.SystemNews;
import heyken.actors.core.CoreApi;
import heyken.actors.core.CoreRefusal;
import heyken.actors.core.DeploymentLedger;
import heyken.protocol.CborSerializable;
import heyken.protocol.api.Problem;
import heyken.protocol.api.feature.DeploymentView;
import heyken.protocol.api.feature.FeatureView;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.apache.pekko.Done;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.SupervisorStrategy;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.Entity;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityTypeKey;
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
 * A feature: its revisions (commits of its git repository), its test runs and its deployment. Sharded and
 * event-sourced; the pipeline of a run is executed by a {@link PipelineRun} entity, the deployment is made
 * cluster-wide by the {@link DeploymentLedger} (fenced by the active core's epoch) and recorded here.
 *
 * <p>Status, derived from the events: {@code draft} (no pipeline yet) → {@code ready} (the newest revision is
 * untested) → {@code testing} → {@code passed} / {@code failed} → {@code deployed} (the newest revision is deployed).
 */
public final class Feature extends EventSourcedBehavior<Feature.Command, Feature.Event, Feature.State> {

  public static final EntityTypeKey<Command> ENTITY_KEY = EntityTypeKey.create(Command.class, "Feature");
  public static final String TAG = "feature";
  private static final Logger log = LoggerFactory.getLogger(Feature.class);
  private static final Duration LEDGER_TIMEOUT = Duration.ofSeconds(5);

  // ---------------------------------------------------------------- protocol

  public sealed interface Command extends CborSerializable {}

  /** The first command of a feature: its name and description, and its first revision already committed. */
  public record Create(String name, String description, RevisionInfo revision, String requestedBy,
      ActorRef<FeatureReply> replyTo) implements Command {}

  /** A new revision was committed to the feature's repository. */
  public record AddRevision(RevisionInfo revision, String requestedBy, ActorRef<FeatureReply> replyTo)
      implements Command {}

  /** Tests {@code revision} (null: the newest) in the sandbox. */
  public record RunTests(String revision, String requestedBy, ActorRef<RunReply> replyTo) implements Command {}

  /** Sent by the {@link PipelineRun} until acknowledged. */
  public record RunCompleted(String runId, String revision, RunStatus status, String detail, ActorRef<Done> replyTo)
      implements Command {}

  /** Deploys {@code revision} (null: the newest); {@code targetCore}, when given, must be the active core. */
  public record Deploy(String revision, Integer targetCore, String requestedBy, ActorRef<DeployReply> replyTo)
      implements Command {}

  public record Rollback(String requestedBy, ActorRef<DeployReply> replyTo) implements Command {}

  public record Undeploy(String requestedBy, ActorRef<DeployReply> replyTo) implements Command {}

  public record Delete(String requestedBy, ActorRef<FeatureReply> replyTo) implements Command {}

  public record Get(ActorRef<FeatureReply> replyTo) implements Command {}

  record LedgerAnswered(PendingChange change, DeploymentLedger.DeploymentOutcome outcome, String error)
      implements Command {}

  /** What a deployment change does. */
  enum Change {
    DEPLOY, ROLLBACK, UNDEPLOY, DELETE;

    /** Deploy and rollback make a revision the deployed one; undeploy and delete remove the deployment. */
    boolean activates() {
      return this == DEPLOY || this == ROLLBACK;
    }
  }

  /**
   * A feature's status, derived from its events (never persisted): draft (no pipeline yet), ready (the newest
   * revision is untested), testing, passed, failed, deployed (the newest revision is deployed), deleted.
   */
  public enum Status {
    DRAFT, READY, TESTING, PASSED, FAILED, DEPLOYED, DELETED;

    /** The name in the API's JSON ({@code status} of a feature). */
    public String json() {
      return name().toLowerCase(java.util.Locale.ROOT);
    }

    @Override
    public String toString() {
      return json();
    }
  }

  /** A deployment change waiting for the DeploymentLedger. */
  record PendingChange(Change kind, String revision, String command, String requestedBy,
      ActorRef<DeployReply> deployReply, ActorRef<FeatureReply> deleteReply) implements CborSerializable {}

  /**
   * The feature ({@code state}; the edge makes the API's view of it: {@link FeatureApi#view(FeatureReply)}), or why
   * not ({@code refused}).
   *
   * <p>{@code view} is the API's view the previous release sent (and reads) alone: it is written beside
   * {@code state} for one release, a reader takes {@code state} when present, else {@code view}, and it can go once
   * every running core is of the release after issue 15's.
   */
  public record FeatureReply(FeatureView view, Refusal refused, State state) implements CborSerializable {

    static FeatureReply of(State state) {
      return new FeatureReply(FeatureApi.view(state), null, state);
    }

    static FeatureReply refusing(Refusal refused) {
      return new FeatureReply(null, refused, null);
    }
  }

  /** The run that was started, or why not. */
  public record RunReply(RunStarted run, Refusal refused) implements CborSerializable {}

  /** The deployment after the change (null after an undeploy), or why not. */
  public record DeployReply(DeploymentView deployment, Refusal refused) implements CborSerializable {}

  /** A test run that was started: the API shows it as {@link FeatureApi#runAccepted}. */
  public record RunStarted(String featureId, String runId, String revision) implements CborSerializable {}

  /**
   * Why the feature refused, in its own terms: the kind and the facts the caller needs to say so. The edge
   * ({@link FeatureApi#problem}) turns it into the API's error, status, detail and hints. Only the facts of the kind
   * are set: {@code revision} is the revision concerned (or the one asked for, for UNKNOWN_REVISION), {@code runId}
   * the run still running, {@code lastResult} the last finished run's result, {@code revisions} how many the feature
   * has, {@code ledgerRefused} the DeploymentLedger's own refusal.
   *
   * <p>{@code ledger} is that refusal as the API's problem, the only shape the previous release reads: it is written
   * beside {@code ledgerRefused} for one release (a reader takes {@code ledgerRefused} when present, else
   * {@code ledger}: {@link FeatureApi#problem}) and can go once every running core is of the release after issue 15's.
   */
  public record Refusal(Kind kind, String featureId, String revision, String runId, RunStatus lastResult,
      int revisions, Problem ledger, CoreRefusal ledgerRefused) implements CborSerializable {

    public enum Kind {
      UNKNOWN_FEATURE, FEATURE_EXISTS, RUN_IN_PROGRESS, UNKNOWN_REVISION, NOT_TESTABLE, NOT_TESTED, NOT_RUNNABLE,
      NOTHING_TO_ROLL_BACK, NOT_DEPLOYED, LEDGER_UNAVAILABLE, LEDGER_REFUSED
    }

    static Refusal of(Kind kind, String featureId) {
      return new Refusal(kind, featureId, null, null, null, 0, null, null);
    }

    static Refusal about(Kind kind, String featureId, String revision) {
      return new Refusal(kind, featureId, revision, null, null, 0, null, null);
    }
  }

  /**
   * A commit of the feature's repository as the feature knows it: whether it has a pipeline ({@code testable}) and a
   * run command ({@code runnable}), and the chat command its heyken.yml names.
   */
  public record RevisionInfo(String id, String message, String source, Instant at, boolean testable,
      boolean runnable, String command) implements CborSerializable {}

  public record RunInfo(String runId, String revision, RunStatus status, String detail, Instant startedAt,
      Instant finishedAt) implements CborSerializable {}

  public record DeploymentInfo(String revision, String command, Instant at, int core, long epoch)
      implements CborSerializable {}

  public sealed interface Event extends CborSerializable {}

  public record FeatureCreated(String featureId, String name, String description, String requestedBy, Instant at)
      implements Event {}

  public record RevisionAdded(RevisionInfo revision, String requestedBy) implements Event {}

  public record TestRunStarted(String runId, String revision, String requestedBy, Instant at) implements Event {}

  public record TestRunFinished(String runId, String revision, RunStatus status, String detail, Instant at)
      implements Event {}

  public record Deployed(String revision, String command, int core, long epoch, String requestedBy, Instant at)
      implements Event {}

  public record RolledBack(String fromRevision, String toRevision, int core, long epoch, String requestedBy,
      Instant at) implements Event {}

  public record Undeployed(String revision, int core, long epoch, String requestedBy, Instant at) implements Event {}

  public record FeatureDeleted(String requestedBy, Instant at) implements Event {}

  public record State(String featureId, String name, String description, Instant createdAt,
      List<RevisionInfo> revisions, List<RunInfo> runs, DeploymentInfo deployment, List<DeploymentInfo> previous,
      boolean deleted) implements CborSerializable {

    @JsonCreator
    public State {
      revisions = revisions == null ? List.of() : revisions;
      runs = runs == null ? List.of() : runs;
      previous = previous == null ? List.of() : previous;
    }

    static State empty(String featureId) {
      return new State(featureId, null, null, null, List.of(), List.of(), null, List.of(), false);
    }

    boolean exists() {
      return name != null && !deleted;
    }

    RevisionInfo head() {
      return revisions.isEmpty() ? null : revisions.get(revisions.size() - 1);
    }

    RunInfo runningRun() {
      return runs.stream().filter(r -> r.finishedAt() == null).findFirst().orElse(null);
    }

    /** The revision a short or full id names, or null. */
    RevisionInfo revision(String idOrPrefix) {
      if (idOrPrefix == null) {
        return head();
      }
      var matches = revisions.stream().filter(r -> r.id().startsWith(idOrPrefix)).toList();
      return matches.size() == 1 ? matches.get(0) : null;
    }

    /** Passed, failed or error: the newest finished run of {@code revision}, or null when never tested. */
    RunStatus testResult(String revision) {
      for (int i = runs.size() - 1; i >= 0; i--) {
        var run = runs.get(i);
        if (run.revision().equals(revision) && run.finishedAt() != null) {
          return run.status();
        }
      }
      return null;
    }

    Status status() {
      if (deleted) {
        return Status.DELETED;
      }
      if (runningRun() != null) {
        return Status.TESTING;
      }
      var head = head();
      if (head == null) {
        return Status.DRAFT;
      }
      if (deployment != null && deployment.revision().equals(head.id())) {
        return Status.DEPLOYED;
      }
      RunStatus result = testResult(head.id());
      if (result != null) {
        return result == RunStatus.PASSED ? Status.PASSED : Status.FAILED;
      }
      return head.testable() ? Status.READY : Status.DRAFT;
    }

    State apply(Event event) {
      if (event instanceof FeatureCreated c) {
        return new State(c.featureId(), c.name(), c.description(), c.at(), revisions, runs,
            deployment, previous, false);
      }
      if (event instanceof RevisionAdded r) {
        var next = new ArrayList<>(revisions);
        next.add(r.revision());
        return new State(featureId, name, description, createdAt, next, runs, deployment, previous, deleted);
      }
      if (event instanceof TestRunStarted s) {
        var next = new ArrayList<>(runs);
        next.add(new RunInfo(s.runId(), s.revision(), RunStatus.RUNNING, null, s.at(), null));
        return new State(featureId, name, description, createdAt, revisions, next, deployment, previous, deleted);
      }
      if (event instanceof TestRunFinished f) {
        var next = new ArrayList<RunInfo>();
        for (var run : runs) {
          next.add(run.runId().equals(f.runId())
              ? new RunInfo(run.runId(), run.revision(), f.status(), f.detail(), run.startedAt(), f.at()) : run);
        }
        return new State(featureId, name, description, createdAt, revisions, next, deployment, previous, deleted);
      }
      if (event instanceof Deployed d) {
        var prev = new ArrayList<>(previous);
        if (deployment != null && !deployment.revision().equals(d.revision())) {
          prev.add(deployment);
        }
        return new State(featureId, name, description, createdAt, revisions, runs,
            new DeploymentInfo(d.revision(), d.command(), d.at(), d.core(), d.epoch()), prev, deleted);
      }
      if (event instanceof RolledBack r) {
        var prev = new ArrayList<>(previous);
        var back = prev.remove(prev.size() - 1);
        return new State(featureId, name, description, createdAt, revisions, runs,
            new DeploymentInfo(back.revision(), back.command(), r.at(), r.core(), r.epoch()), prev, deleted);
      }
      if (event instanceof Undeployed u) {
        return new State(featureId, name, description, createdAt, revisions, runs, null, previous,
            deleted);
      }
      if (event instanceof FeatureDeleted d) {
        return new State(featureId, name, description, createdAt, revisions, runs, null, previous,
            true);
      }
      throw new IllegalArgumentException("unknown event " + event);
    }
  }

  /** The state {@code events} lead to from nothing: what the audit's replay compares with the live entity. */
  public static State replay(String featureId, List<? extends Event> events) {
    State state = State.empty(featureId);
    for (Event event : events) {
      state = state.apply(event);
    }
    return state;
  }

  // ---------------------------------------------------------------- sharding

  public static void init(ActorSystem<?> system, ActorRef<DeploymentLedger.Command> deployments) {
    ClusterSharding.get(system).init(Entity.of(ENTITY_KEY,
            ctx -> Behaviors.<Command>setup(context -> new Feature(context, ctx.getEntityId(), deployments,
                ctx.getShard())))
        .withRole("core"));
  }

  /** An entity outside sharding (tests): it never passivates. */
  public static Behavior<Command> create(String featureId, ActorRef<DeploymentLedger.Command> deployments) {
    return Behaviors.setup(context -> new Feature(context, featureId, deployments, null));
  }

  // ---------------------------------------------------------------- behaviour

  private final ActorContext<Command> context;
  private final String featureId;
  private final ActorRef<DeploymentLedger.Command> deployments;
  // not state: a deployment change waiting for the DeploymentLedger's answer; commands wait (stash) meanwhile
  private PendingChange pending;
  // remember-entities keeps every entity that was ever asked alive; one asked for an id that does not exist (or
  // whose feature was deleted) leaves again, so that probing ids cannot pile up entities
  private final ActorRef<ClusterSharding.ShardCommand> shard;

  private Feature(ActorContext<Command> context, String featureId, ActorRef<DeploymentLedger.Command> deployments,
      ActorRef<ClusterSharding.ShardCommand> shard) {
    super(PersistenceId.of(ENTITY_KEY.name(), featureId),
        SupervisorStrategy.restartWithBackoff(Duration.ofMillis(200), Duration.ofSeconds(5), 0.2));
    this.context = context;
    this.featureId = featureId;
    this.deployments = deployments;
    this.shard = shard;
  }

  @Override
  public State emptyState() {
    return State.empty(featureId);
  }

  @Override
  public RetentionCriteria retentionCriteria() {
    return RetentionCriteria.snapshotEvery(50, 2);
  }

  @Override
  public Set<String> tagsFor(Event event) {
    return Set.of(TAG);
  }

  @Override
  public SignalHandler<State> signalHandler() {
    return newSignalHandlerBuilder()
        .onSignal(RecoveryCompleted.instance(), state -> {
          // the run may never have received its Start (a crash right after TestRunStarted): Start is idempotent
          var running = state.runningRun();
          if (running != null && !state.deleted()) {
            startRun(running.runId(), running.revision(), "recovery");
          }
        })
        .build();
  }

  private void startRun(String runId, String revision, String requestedBy) {
    ClusterSharding.get(context.getSystem()).entityRefFor(PipelineRun.ENTITY_KEY, runId)
        .tell(new PipelineRun.Start(featureId, revision, requestedBy));
  }

  /**
   * Three states, tried in this order: changing its deployment (not persisted: the DeploymentLedger's answer is
   * awaited and every other request waits for it), unknown (never created, or deleted), and existing. The answer of
   * the ledger, a run's report and a Create are handled the same in all of them.
   */
  @Override
  public CommandHandler<Command, Event, State> commandHandler() {
    var builder = newCommandHandlerBuilder();
    builder.forAnyState()
        .onCommand(LedgerAnswered.class, this::onLedgerAnswered)
        .onCommand(RunCompleted.class, this::onRunCompleted)
        .onCommand(Create.class, this::onCreate);
    builder.forState(state -> pending != null)
        .onAnyCommand(command -> Effect().stash());
    builder.forState(state -> !state.exists())
        .onCommand(Get.class, (state, get) -> gone(get.replyTo(), FeatureReply.refusing(notFound())))
        .onCommand(AddRevision.class, (state, add) -> gone(add.replyTo(), FeatureReply.refusing(notFound())))
        .onCommand(RunTests.class, (state, run) -> gone(run.replyTo(), new RunReply(null, notFound())))
        .onCommand(Deploy.class, (state, deploy) -> gone(deploy.replyTo(), new DeployReply(null, notFound())))
        .onCommand(Rollback.class, (state, back) -> gone(back.replyTo(), new DeployReply(null, notFound())))
        .onCommand(Undeploy.class, (state, undeploy) -> gone(undeploy.replyTo(), new DeployReply(null, notFound())))
        .onCommand(Delete.class, (state, delete) -> gone(delete.replyTo(), FeatureReply.refusing(notFound())));
    builder.forAnyState()
        .onCommand(Get.class, (state, get) -> Effect().reply(get.replyTo(), FeatureReply.of(state)))
        .onCommand(AddRevision.class, this::onAddRevision)
        .onCommand(RunTests.class, this::onRunTests)
        .onCommand(Deploy.class, this::onDeploy)
        .onCommand(Rollback.class, this::onRollback)
        .onCommand(Undeploy.class, this::onUndeploy)
        .onCommand(Delete.class, this::onDelete);
    return builder.build();
  }

  /** The answer for a feature that does not exist (any more); the entity then leaves the shard. */
  private <R> Effect<Event, State> gone(ActorRef<R> replyTo, R reply) {
    return Effect().none().thenRun(this::passivateIfGone).thenReply(replyTo, s -> reply);
  }

  private void passivateIfGone(State state) {
    if (!state.exists() && shard != null && pending == null) {
      shard.tell(new ClusterSharding.Passivate<>(context.getSelf()));
    }
  }

  private Refusal notFound() {
    return Refusal.of(Refusal.Kind.UNKNOWN_FEATURE, featureId);
  }

  private Effect<Event, State> onCreate(State state, Create create) {
    if (state.name() != null) {
      return Effect().reply(create.replyTo(), FeatureReply.refusing(
          Refusal.of(Refusal.Kind.FEATURE_EXISTS, featureId)));
    }
    var created = new FeatureCreated(featureId, create.name(), create.description(), create.requestedBy(),
        Instant.now());
    return Effect().persist(List.of(created, new RevisionAdded(create.revision(), create.requestedBy())))
        .thenRun(s -> log.info("feature {} '{}' created by {} at revision {} ({})", featureId, s.name(),
            create.requestedBy(), PipelineRun.shortRev(create.revision().id()), s.status()))
        .thenReply(create.replyTo(), s -> FeatureReply.of(s));
  }

  private Effect<Event, State> onAddRevision(State state, AddRevision add) {
    if (state.revisions().stream().anyMatch(r -> r.id().equals(add.revision().id()))) {
      // a commit that changed nothing returns the current head: nothing new to record
      return Effect().reply(add.replyTo(), FeatureReply.of(state));
    }
    return Effect().persist(new RevisionAdded(add.revision(), add.requestedBy()))
        .thenReply(add.replyTo(), s -> FeatureReply.of(s));
  }

  private Effect<Event, State> onRunTests(State state, RunTests run) {
    var running = state.runningRun();
    if (running != null) {
      return Effect().reply(run.replyTo(), new RunReply(null, new Refusal(Refusal.Kind.RUN_IN_PROGRESS, featureId,
          running.revision(), running.runId(), null, 0, null, null)));
    }
    var revision = state.revision(run.revision());
    if (revision == null) {
      return Effect().reply(run.replyTo(), new RunReply(null, unknownRevision(state, run.revision())));
    }
    if (!revision.testable()) {
      return Effect().reply(run.replyTo(), new RunReply(null,
          Refusal.about(Refusal.Kind.NOT_TESTABLE, featureId, revision.id())));
    }
    String runId = featureId + "-" + (state.runs().size() + 1);
    var started = new TestRunStarted(runId, revision.id(), run.requestedBy(), Instant.now());
    return Effect().persist(started)
        .thenRun(s -> {
          log.info("feature {}: test run {} of revision {} started by {}", featureId, runId,
              PipelineRun.shortRev(revision.id()), run.requestedBy());
          startRun(runId, revision.id(), run.requestedBy());
        })
        .thenReply(run.replyTo(), s -> new RunReply(new RunStarted(featureId, runId, revision.id()), null));
  }

  private Refusal unknownRevision(State state, String asked) {
    return new Refusal(Refusal.Kind.UNKNOWN_REVISION, featureId, asked, null, null, state.revisions().size(), null,
        null);
  }

  private Effect<Event, State> onRunCompleted(State state, RunCompleted done) {
    var run = state.runs().stream().filter(r -> r.runId().equals(done.runId())).findFirst().orElse(null);
    if (run == null || run.finishedAt() != null) {
      return gone(done.replyTo(), Done.getInstance()); // a repeated report (passivates only a deleted feature)
    }
    return Effect().persist(new TestRunFinished(done.runId(), done.revision(), done.status(), done.detail(),
            Instant.now()))
        .thenRun(s -> log.info("feature {}: test run {} {} ({})", featureId, done.runId(), done.status(),
            done.detail()))
        .thenRun(s -> {
          if (done.status() != RunStatus.PASSED) {
            SystemNews.runFailed(context.getSystem(), featureId, s.name(), done.runId(), done.revision(),
                done.status().json(), done.detail());
          }
        })
        .thenRun(this::passivateIfGone)
        .thenReply(done.replyTo(), s -> Done.getInstance());
  }

  private Effect<Event, State> onDeploy(State state, Deploy deploy) {
    var revision = state.revision(deploy.revision());
    if (revision == null) {
      return Effect().reply(deploy.replyTo(), new DeployReply(null, unknownRevision(state, deploy.revision())));
    }
    RunStatus result = state.testResult(revision.id());
    var running = state.runningRun();
    if (result != RunStatus.PASSED) {
      String stillRunning = running != null && running.revision().equals(revision.id()) ? running.runId() : null;
      return Effect().reply(deploy.replyTo(), new DeployReply(null, new Refusal(Refusal.Kind.NOT_TESTED, featureId,
          revision.id(), stillRunning, result, 0, null, null)));
    }
    if (!revision.runnable()) {
      return Effect().reply(deploy.replyTo(), new DeployReply(null,
          Refusal.about(Refusal.Kind.NOT_RUNNABLE, featureId, revision.id())));
    }
    if (state.deployment() != null && state.deployment().revision().equals(revision.id())) {
      return Effect().reply(deploy.replyTo(), new DeployReply(FeatureApi.deployment(state), null));
    }
    return askLedger(new PendingChange(Change.DEPLOY, revision.id(), revision.command(), deploy.requestedBy(),
        deploy.replyTo(), null), deploy.targetCore());
  }

  private Effect<Event, State> onRollback(State state, Rollback rollback) {
    if (state.deployment() == null || state.previous().isEmpty()) {
      return Effect().reply(rollback.replyTo(), new DeployReply(null, Refusal.about(Refusal.Kind.NOTHING_TO_ROLL_BACK,
          featureId, state.deployment() == null ? null : state.deployment().revision())));
    }
    var back = state.previous().get(state.previous().size() - 1);
    return askLedger(new PendingChange(Change.ROLLBACK, back.revision(), back.command(), rollback.requestedBy(),
        rollback.replyTo(), null), null);
  }

  private Effect<Event, State> onUndeploy(State state, Undeploy undeploy) {
    if (state.deployment() == null) {
      return Effect().reply(undeploy.replyTo(), new DeployReply(null,
          Refusal.of(Refusal.Kind.NOT_DEPLOYED, featureId)));
    }
    return askLedger(new PendingChange(Change.UNDEPLOY, state.deployment().revision(), null, undeploy.requestedBy(),
        undeploy.replyTo(), null), null);
  }

  private Effect<Event, State> onDelete(State state, Delete delete) {
    if (state.deployment() != null) {
      return askLedger(new PendingChange(Change.DELETE, state.deployment().revision(), null, delete.requestedBy(),
          null, delete.replyTo()), null);
    }
    return deleted(delete.requestedBy(), delete.replyTo());
  }

  private Effect<Event, State> deleted(String requestedBy, ActorRef<FeatureReply> replyTo) {
    return Effect().persist(new FeatureDeleted(requestedBy, Instant.now()))
        .thenRun(s -> log.info("feature {} '{}' deleted by {}", featureId, s.name(), requestedBy))
        .thenRun(this::passivateIfGone)
        .thenReply(replyTo, s -> FeatureReply.of(s));
  }

  private Effect<Event, State> askLedger(PendingChange change, Integer targetCore) {
    pending = change;
    context.ask(DeploymentLedger.DeploymentOutcome.class, deployments, LEDGER_TIMEOUT,
        (ActorRef<DeploymentLedger.DeploymentOutcome> replyTo) -> change.kind().activates()
            ? new DeploymentLedger.ActivateDeployment(featureId, change.revision(), change.command(), targetCore, replyTo)
            : new DeploymentLedger.RemoveDeployment(featureId, replyTo),
        (outcome, error) -> new LedgerAnswered(change, outcome, error == null ? null : error.toString()));
    return Effect().none();
  }

  private Effect<Event, State> onLedgerAnswered(State state, LedgerAnswered answer) {
    var change = answer.change();
    pending = null;
    Refusal problem = answer.error() != null ? Refusal.of(Refusal.Kind.LEDGER_UNAVAILABLE, featureId)
        : CoreApi.problem(answer.outcome()) != null
        ? new Refusal(Refusal.Kind.LEDGER_REFUSED, featureId, change.revision(), null, null, 0,
            CoreApi.problem(answer.outcome()), answer.outcome().refused())
        : null;
    if (problem != null) {
      if (change.deployReply() != null) {
        change.deployReply().tell(new DeployReply(null, problem));
      } else {
        change.deleteReply().tell(FeatureReply.refusing(problem));
      }
      return Effect().unstashAll();
    }
    int core = answer.outcome().core();
    long epoch = answer.outcome().epoch();
    Instant now = Instant.now();
    return switch (change.kind()) {
      case DEPLOY -> Effect().persist(new Deployed(change.revision(), change.command(), core, epoch,
              change.requestedBy(), now))
          .thenRun(s -> log.info("feature {}: revision {} deployed on core {} (epoch {}) by {}", featureId,
              PipelineRun.shortRev(change.revision()), core, epoch, change.requestedBy()))
          .thenRun(s -> SystemNews.deployed(context.getSystem(), featureId, s.name(), "deployed", change.revision(), change.command(), core, epoch, change.requestedBy(), now))
          .thenReply(change.deployReply(), s -> new DeployReply(FeatureApi.deployment(s), null))
          .thenUnstashAll();
      case ROLLBACK -> Effect().persist(new RolledBack(state.deployment().revision(), change.revision(), core, epoch,
              change.requestedBy(), now))
          .thenRun(s -> log.info("feature {}: rolled back to revision {} by {}", featureId,
              PipelineRun.shortRev(change.revision()), change.requestedBy()))
          .thenRun(s -> SystemNews.deployed(context.getSystem(), featureId, s.name(), "rolled back", change.revision(), null, core, epoch, change.requestedBy(), now))
          .thenReply(change.deployReply(), s -> new DeployReply(FeatureApi.deployment(s), null))
          .thenUnstashAll();
      case UNDEPLOY -> Effect().persist(new Undeployed(change.revision(), core, epoch, change.requestedBy(), now))
          .thenRun(s -> log.info("feature {}: undeployed by {}", featureId, change.requestedBy()))
          .thenReply(change.deployReply(), s -> new DeployReply(null, null))
          .thenUnstashAll();
      case DELETE -> Effect().persist(List.of(new Undeployed(change.revision(), core, epoch, change.requestedBy(), now),
              new FeatureDeleted(change.requestedBy(), now)))
          .thenRun(s -> log.info("feature {} '{}' undeployed and deleted by {}", featureId, s.name(),
              change.requestedBy()))
          .thenRun(this::passivateIfGone)
          .thenReply(change.deleteReply(), s -> FeatureReply.of(s))
          .thenUnstashAll();
    };
  }

  @Override
  public EventHandler<State, Event> eventHandler() {
    return newEventHandlerBuilder().forAnyState().onAnyEvent(State::apply);
  }
}
