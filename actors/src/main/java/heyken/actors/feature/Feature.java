package heyken.actors.feature;

import com.fasterxml.jackson.annotation.JsonCreator;
import heyken.actors.chat.SystemNews;
import heyken.actors.core.DeploymentLedger;
import heyken.protocol.CborSerializable;
import heyken.protocol.api.Problem;
import heyken.protocol.api.feature.DeploymentView;
import heyken.protocol.api.feature.FeatureView;
import heyken.protocol.api.feature.RunAccepted;
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
  public record RunCompleted(String runId, String revision, String status, String detail, ActorRef<Done> replyTo)
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

  /** A deployment change waiting for the DeploymentLedger. */
  record PendingChange(String kind, String revision, String command, String requestedBy,
      ActorRef<DeployReply> deployReply, ActorRef<FeatureReply> deleteReply) implements CborSerializable {}

  public record FeatureReply(FeatureView view, Problem problem) implements CborSerializable {}

  public record RunReply(RunAccepted run, Problem problem) implements CborSerializable {}

  public record DeployReply(DeploymentView deployment, Problem problem) implements CborSerializable {}

  /**
   * A commit of the feature's repository as the feature knows it: whether it has a pipeline ({@code testable}) and a
   * run command ({@code runnable}), and the chat command its heyken.yml names.
   */
  public record RevisionInfo(String id, String message, String source, Instant at, boolean testable,
      boolean runnable, String command) implements CborSerializable {}

  public record RunInfo(String runId, String revision, String status, String detail, Instant startedAt,
      Instant finishedAt) implements CborSerializable {}

  public record DeploymentInfo(String revision, String command, Instant at, int core, long epoch)
      implements CborSerializable {}

  public sealed interface Event extends CborSerializable {}

  public record FeatureCreated(String featureId, String name, String description, String requestedBy, Instant at)
      implements Event {}

  public record RevisionAdded(RevisionInfo revision, String requestedBy) implements Event {}

  public record TestRunStarted(String runId, String revision, String requestedBy, Instant at) implements Event {}

  public record TestRunFinished(String runId, String revision, String status, String detail, Instant at)
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

    /** "passed", "failed", "error" of the newest finished run of {@code revision}, or null when never tested. */
    String testResult(String revision) {
      for (int i = runs.size() - 1; i >= 0; i--) {
        var run = runs.get(i);
        if (run.revision().equals(revision) && run.finishedAt() != null) {
          return run.status();
        }
      }
      return null;
    }

    String status() {
      if (deleted) {
        return "deleted";
      }
      if (runningRun() != null) {
        return "testing";
      }
      var head = head();
      if (head == null) {
        return "draft";
      }
      if (deployment != null && deployment.revision().equals(head.id())) {
        return "deployed";
      }
      String result = testResult(head.id());
      if (result != null) {
        return result.equals("passed") ? "passed" : "failed";
      }
      return head.testable() ? "ready" : "draft";
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
        next.add(new RunInfo(s.runId(), s.revision(), "running", null, s.at(), null));
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

    public FeatureView view() {
      var revisionViews = new ArrayList<FeatureView.RevisionView>();
      for (int i = revisions.size() - 1; i >= 0; i--) {
        var r = revisions.get(i);
        String runId = null;
        for (var run : runs) {
          if (run.revision().equals(r.id())) {
            runId = run.runId();
          }
        }
        String tests = testResult(r.id());
        if (tests == null) {
          var running = runningRun();
          tests = running != null && running.revision().equals(r.id()) ? "running"
              : r.testable() ? "untested" : "no pipeline";
        }
        revisionViews.add(new FeatureView.RevisionView(r.id(), r.message(), r.source(), r.at().toString(), tests,
            runId));
      }
      var runViews = new ArrayList<FeatureView.RunSummary>();
      for (int i = runs.size() - 1; i >= 0; i--) {
        var run = runs.get(i);
        runViews.add(new FeatureView.RunSummary(run.runId(), run.revision(), run.status(),
            run.startedAt().toString(), run.finishedAt() == null ? null : run.finishedAt().toString()));
      }
      var head = head();
      return new FeatureView(featureId, name, description, status(), head == null ? null : head.command(),
          createdAt == null ? null : createdAt.toString(), head == null ? null : head.id(), revisionViews, runViews,
          deploymentView());
    }

    DeploymentView deploymentView() {
      if (deployment == null) {
        return null;
      }
      var prev = new ArrayList<String>();
      for (int i = previous.size() - 1; i >= 0; i--) {
        prev.add(previous.get(i).revision());
      }
      return new DeploymentView(featureId, deployment.revision(), deployment.command(), deployment.at().toString(),
          deployment.core(), deployment.epoch(), prev);
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

  @Override
  public CommandHandler<Command, Event, State> commandHandler() {
    return newCommandHandlerBuilder().forAnyState()
        .onCommand(LedgerAnswered.class, this::onLedgerAnswered)
        .onCommand(RunCompleted.class, this::onRunCompleted)
        .onCommand(Get.class, (state, get) -> pending != null ? Effect().stash()
            : state.exists() ? Effect().reply(get.replyTo(), new FeatureReply(state.view(), null))
            : gone(get.replyTo(), new FeatureReply(null, notFound())))
        .onCommand(Create.class, this::onCreate)
        .onCommand(AddRevision.class, this::onAddRevision)
        .onCommand(RunTests.class, this::onRunTests)
        .onCommand(Deploy.class, this::onDeploy)
        .onCommand(Rollback.class, this::onRollback)
        .onCommand(Undeploy.class, this::onUndeploy)
        .onCommand(Delete.class, this::onDelete)
        .build();
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

  private Problem notFound() {
    return Problem.notFound("unknown_feature", "no feature with feature_id '" + FeatureCatalog.printable(featureId)
        + "' (GET /api/features lists them)");
  }

  private Effect<Event, State> onCreate(State state, Create create) {
    if (state.name() != null) {
      return Effect().reply(create.replyTo(), new FeatureReply(null, Problem.conflict("feature_exists",
          "feature " + featureId + " exists already")));
    }
    var created = new FeatureCreated(featureId, create.name(), create.description(), create.requestedBy(),
        Instant.now());
    return Effect().persist(List.of(created, new RevisionAdded(create.revision(), create.requestedBy())))
        .thenRun(s -> log.info("feature {} '{}' created by {} at revision {} ({})", featureId, s.name(),
            create.requestedBy(), PipelineRun.shortRev(create.revision().id()), s.status()))
        .thenReply(create.replyTo(), s -> new FeatureReply(s.view(), null));
  }

  private Effect<Event, State> onAddRevision(State state, AddRevision add) {
    if (pending != null) {
      return Effect().stash();
    }
    if (!state.exists()) {
      return gone(add.replyTo(), new FeatureReply(null, notFound()));
    }
    if (state.revisions().stream().anyMatch(r -> r.id().equals(add.revision().id()))) {
      // a commit that changed nothing returns the current head: nothing new to record
      return Effect().reply(add.replyTo(), new FeatureReply(state.view(), null));
    }
    return Effect().persist(new RevisionAdded(add.revision(), add.requestedBy()))
        .thenReply(add.replyTo(), s -> new FeatureReply(s.view(), null));
  }

  private Effect<Event, State> onRunTests(State state, RunTests run) {
    if (pending != null) {
      return Effect().stash();
    }
    if (!state.exists()) {
      return gone(run.replyTo(), new RunReply(null, notFound()));
    }
    var running = state.runningRun();
    if (running != null) {
      return Effect().reply(run.replyTo(), new RunReply(null, Problem.conflict("run_in_progress",
          "run " + running.runId() + " of revision " + PipelineRun.shortRev(running.revision())
              + " is still running; follow it at /api/features/" + featureId + "/runs/" + running.runId())));
    }
    var revision = state.revision(run.revision());
    if (revision == null) {
      return Effect().reply(run.replyTo(), new RunReply(null, unknownRevision(state, run.revision())));
    }
    if (!revision.testable()) {
      return Effect().reply(run.replyTo(), new RunReply(null, Problem.conflict("not_testable",
          "revision " + PipelineRun.shortRev(revision.id()) + " has no .gitlab-ci.yml, so there is nothing to run "
              + "(the feature is a draft): add code and a pipeline first")));
    }
    String runId = featureId + "-" + (state.runs().size() + 1);
    var started = new TestRunStarted(runId, revision.id(), run.requestedBy(), Instant.now());
    return Effect().persist(started)
        .thenRun(s -> {
          log.info("feature {}: test run {} of revision {} started by {}", featureId, runId,
              PipelineRun.shortRev(revision.id()), run.requestedBy());
          startRun(runId, revision.id(), run.requestedBy());
        })
        .thenReply(run.replyTo(), s -> new RunReply(new RunAccepted(featureId, runId, revision.id(), "running",
            "/api/features/" + featureId + "/runs/" + runId, "/api/features/" + featureId + "/runs/" + runId + "/log"),
            null));
  }

  private Problem unknownRevision(State state, String asked) {
    return Problem.notFound("unknown_revision", "feature " + featureId + " has no revision '"
        + FeatureCatalog.printable(String.valueOf(asked)) + "' (give a full commit id or a unique prefix; "
        + "GET /api/features/" + featureId + " lists its " + state.revisions().size() + " revisions)");
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
        .thenRun(s -> { if (!"passed".equals(done.status())) SystemNews.runFailed(context.getSystem(), featureId, s.name(), done.runId(), done.revision(), done.status(), done.detail()); })
        .thenRun(this::passivateIfGone)
        .thenReply(done.replyTo(), s -> Done.getInstance());
  }

  private Effect<Event, State> onDeploy(State state, Deploy deploy) {
    if (pending != null) {
      return Effect().stash();
    }
    if (!state.exists()) {
      return gone(deploy.replyTo(), new DeployReply(null, notFound()));
    }
    var revision = state.revision(deploy.revision());
    if (revision == null) {
      return Effect().reply(deploy.replyTo(), new DeployReply(null, unknownRevision(state, deploy.revision())));
    }
    String result = state.testResult(revision.id());
    var running = state.runningRun();
    if (!"passed".equals(result)) {
      String why = running != null && running.revision().equals(revision.id())
          ? "its test run " + running.runId() + " is still running"
          : result == null ? "it has not been tested: POST /api/features/test {\"feature_id\":\"" + featureId + "\"}"
          : "its last test run " + result;
      return Effect().reply(deploy.replyTo(), new DeployReply(null, Problem.conflict("not_tested",
          "revision " + PipelineRun.shortRev(revision.id()) + " cannot be deployed: " + why)));
    }
    if (!revision.runnable()) {
      return Effect().reply(deploy.replyTo(), new DeployReply(null, Problem.conflict("not_runnable",
          "revision " + PipelineRun.shortRev(revision.id()) + " has no `run` command in heyken.yml, so there is "
              + "nothing to invoke")));
    }
    if (state.deployment() != null && state.deployment().revision().equals(revision.id())) {
      return Effect().reply(deploy.replyTo(), new DeployReply(state.deploymentView(), null));
    }
    return askLedger(new PendingChange("deploy", revision.id(), revision.command(), deploy.requestedBy(),
        deploy.replyTo(), null), deploy.targetCore());
  }

  private Effect<Event, State> onRollback(State state, Rollback rollback) {
    if (pending != null) {
      return Effect().stash();
    }
    if (!state.exists()) {
      return gone(rollback.replyTo(), new DeployReply(null, notFound()));
    }
    if (state.deployment() == null || state.previous().isEmpty()) {
      return Effect().reply(rollback.replyTo(), new DeployReply(null, Problem.conflict("nothing_to_roll_back",
          state.deployment() == null ? "feature " + featureId + " is not deployed"
              : "revision " + PipelineRun.shortRev(state.deployment().revision())
                  + " is the first deployed revision: there is no earlier one to go back to (undeploy instead)")));
    }
    var back = state.previous().get(state.previous().size() - 1);
    return askLedger(new PendingChange("rollback", back.revision(), back.command(), rollback.requestedBy(),
        rollback.replyTo(), null), null);
  }

  private Effect<Event, State> onUndeploy(State state, Undeploy undeploy) {
    if (pending != null) {
      return Effect().stash();
    }
    if (!state.exists()) {
      return gone(undeploy.replyTo(), new DeployReply(null, notFound()));
    }
    if (state.deployment() == null) {
      return Effect().reply(undeploy.replyTo(), new DeployReply(null, Problem.conflict("not_deployed",
          "feature " + featureId + " is not deployed")));
    }
    return askLedger(new PendingChange("undeploy", state.deployment().revision(), null, undeploy.requestedBy(),
        undeploy.replyTo(), null), null);
  }

  private Effect<Event, State> onDelete(State state, Delete delete) {
    if (pending != null) {
      return Effect().stash();
    }
    if (!state.exists()) {
      return gone(delete.replyTo(), new FeatureReply(null, notFound()));
    }
    if (state.deployment() != null) {
      return askLedger(new PendingChange("delete", state.deployment().revision(), null, delete.requestedBy(),
          null, delete.replyTo()), null);
    }
    return deleted(delete.requestedBy(), delete.replyTo());
  }

  private Effect<Event, State> deleted(String requestedBy, ActorRef<FeatureReply> replyTo) {
    return Effect().persist(new FeatureDeleted(requestedBy, Instant.now()))
        .thenRun(s -> log.info("feature {} '{}' deleted by {}", featureId, s.name(), requestedBy))
        .thenRun(this::passivateIfGone)
        .thenReply(replyTo, s -> new FeatureReply(s.view(), null));
  }

  private Effect<Event, State> askLedger(PendingChange change, Integer targetCore) {
    pending = change;
    context.ask(DeploymentLedger.DeploymentOutcome.class, deployments, LEDGER_TIMEOUT,
        (ActorRef<DeploymentLedger.DeploymentOutcome> replyTo) -> change.kind().equals("deploy")
            || change.kind().equals("rollback")
            ? new DeploymentLedger.ActivateDeployment(featureId, change.revision(), change.command(), targetCore, replyTo)
            : new DeploymentLedger.RemoveDeployment(featureId, replyTo),
        (outcome, error) -> new LedgerAnswered(change, outcome, error == null ? null : error.toString()));
    return Effect().none();
  }

  private Effect<Event, State> onLedgerAnswered(State state, LedgerAnswered answer) {
    var change = answer.change();
    pending = null;
    Problem problem = answer.error() != null
        ? Problem.unavailable("core_manager_unavailable", "the active core did not answer in time (a hand-over may "
            + "be in progress): nothing was changed, try again")
        : answer.outcome().problem();
    if (problem != null) {
      if (change.deployReply() != null) {
        change.deployReply().tell(new DeployReply(null, problem));
      } else {
        change.deleteReply().tell(new FeatureReply(null, problem));
      }
      return Effect().unstashAll();
    }
    int core = answer.outcome().core();
    long epoch = answer.outcome().epoch();
    Instant now = Instant.now();
    return switch (change.kind()) {
      case "deploy" -> Effect().persist(new Deployed(change.revision(), change.command(), core, epoch,
              change.requestedBy(), now))
          .thenRun(s -> log.info("feature {}: revision {} deployed on core {} (epoch {}) by {}", featureId,
              PipelineRun.shortRev(change.revision()), core, epoch, change.requestedBy()))
          .thenRun(s -> SystemNews.deployed(context.getSystem(), featureId, s.name(), "deployed", change.revision(), change.command(), core, epoch, change.requestedBy(), now))
          .thenReply(change.deployReply(), s -> new DeployReply(s.deploymentView(), null))
          .thenUnstashAll();
      case "rollback" -> Effect().persist(new RolledBack(state.deployment().revision(), change.revision(), core, epoch,
              change.requestedBy(), now))
          .thenRun(s -> log.info("feature {}: rolled back to revision {} by {}", featureId,
              PipelineRun.shortRev(change.revision()), change.requestedBy()))
          .thenRun(s -> SystemNews.deployed(context.getSystem(), featureId, s.name(), "rolled back", change.revision(), null, core, epoch, change.requestedBy(), now))
          .thenReply(change.deployReply(), s -> new DeployReply(s.deploymentView(), null))
          .thenUnstashAll();
      case "undeploy" -> Effect().persist(new Undeployed(change.revision(), core, epoch, change.requestedBy(), now))
          .thenRun(s -> log.info("feature {}: undeployed by {}", featureId, change.requestedBy()))
          .thenReply(change.deployReply(), s -> new DeployReply(null, null))
          .thenUnstashAll();
      default -> Effect().persist(List.of(new Undeployed(change.revision(), core, epoch, change.requestedBy(), now),
              new FeatureDeleted(change.requestedBy(), now)))
          .thenRun(s -> log.info("feature {} '{}' undeployed and deleted by {}", featureId, s.name(),
              change.requestedBy()))
          .thenRun(this::passivateIfGone)
          .thenReply(change.deleteReply(), s -> new FeatureReply(s.view(), null))
          .thenUnstashAll();
    };
  }

  @Override
  public EventHandler<State, Event> eventHandler() {
    return newEventHandlerBuilder().forAnyState().onAnyEvent(State::apply);
  }
}
