package heyken.actors.feature;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonInclude;
import heyken.actors.Failures;
import heyken.actors.logs.RunOutputBudget;
import heyken.actors.logs.RunOutputLog;
import heyken.protocol.CborSerializable;
import heyken.protocol.api.feature.JobView;
import heyken.protocol.api.feature.RunView;
import heyken.sandbox.pipeline.CiFile;
import heyken.sandbox.pipeline.CiJob;
import heyken.sandbox.pipeline.JobOutcome;
import heyken.sandbox.pipeline.PipelineExecutor;
import heyken.sandbox.pipeline.PipelineStatus;
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
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.Entity;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityTypeKey;
import org.apache.pekko.persistence.typed.PersistenceId;
import org.apache.pekko.persistence.typed.RecoveryCompleted;
import org.apache.pekko.persistence.typed.javadsl.CommandHandler;
import org.apache.pekko.persistence.typed.javadsl.Effect;
import org.apache.pekko.persistence.typed.javadsl.EventHandler;
import org.apache.pekko.persistence.typed.javadsl.EventSourcedBehavior;
import org.apache.pekko.persistence.typed.javadsl.SignalHandler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

/**
 * One test run of one revision of a feature: the sandbox job entity that owns the pipeline's jobs while they run.
 * Sharded and event-sourced with remember-entities: when the core running it dies, the entity starts again on the
 * survivor, records a new attempt, and runs the jobs that have no recorded outcome yet (the interrupted one again).
 * Jobs run one at a time in pipeline order, each in a fresh checkout, each outcome an event. When the run is over it
 * tells its {@link Feature} until the feature acknowledges.
 */
public final class PipelineRun
    extends EventSourcedBehavior<PipelineRun.Command, PipelineRun.Event, PipelineRun.State> {

  public static final EntityTypeKey<Command> ENTITY_KEY = EntityTypeKey.create(Command.class, "PipelineRun");
  public static final String TAG = "sandbox-run";
  private static final Logger log = LoggerFactory.getLogger(PipelineRun.class);
  static final String CI_FILE = ".gitlab-ci.yml";

  // ---------------------------------------------------------------- protocol

  public sealed interface Command extends CborSerializable {}

  /** Runs the pipeline of {@code revision}; a second Start of the same run is a no-op (the feature may repeat it). */
  public record Start(String featureId, String revision, String requestedBy) implements Command {}

  public record Get(ActorRef<RunView> replyTo) implements Command {}

  enum Resume implements Command {
    INSTANCE
  }

  enum ReportTick implements Command {
    INSTANCE
  }

  record Planned(int attempt, CiFile file, String error) implements Command {}

  record JobDone(int attempt, int index, JobRecord record) implements Command {}

  record Reported(boolean acknowledged, String error) implements Command {}

  /** The outcome of one job as it is kept in the journal. */
  public record JobRecord(String name, String stage, String status, Integer exitCode, String reason, Long durationMs,
      String backend, String image, String detail, String logTail,
      // what of the job's output the log store did not take (the run's bound): absent in older journals, and left
      // out of the JSON while absent so that their recovered states read the same
      @JsonInclude(JsonInclude.Include.NON_NULL) Long outputDroppedLines,
      @JsonInclude(JsonInclude.Include.NON_NULL) Long outputDroppedBytes) implements CborSerializable {

    public JobRecord(String name, String stage, String status, Integer exitCode, String reason, Long durationMs,
        String backend, String image, String detail, String logTail) {
      this(name, stage, status, exitCode, reason, durationMs, backend, image, detail, logTail, null, null);
    }

    JobView view() {
      long lines = outputDroppedLines == null ? 0 : outputDroppedLines;
      long bytes = outputDroppedBytes == null ? 0 : outputDroppedBytes;
      return new JobView(name, stage, status, exitCode, reason, durationMs, backend, image, detail, logTail,
          lines > 0 || bytes > 0, lines, bytes);
    }
  }

  /** A job of the pipeline as planned from the .gitlab-ci.yml of the revision. */
  public record PlannedJob(String name, String stage, String image) implements CborSerializable {}

  public sealed interface Event extends CborSerializable {}

  public record RunRequested(String runId, String featureId, String revision, String requestedBy, Instant at)
      implements Event {}

  /**
   * The run (re)started on {@code core}: more than one attempt means the core of the attempt before was lost (died,
   * stopped) or the run moved to the other core (a rebalance). {@code member}: the cluster incarnation
   * ({@code uniqueAddress.longUid}) of the core running this attempt, null outside a cluster and in older journals.
   * {@code previousLost}: whether the attempt before ended with its core gone (false: that core was still a live
   * member, the run was handed over); null in older journals, read as lost.
   */
  public record AttemptStarted(int attempt, int core, Instant at,
      @JsonInclude(JsonInclude.Include.NON_NULL) Long member,
      @JsonInclude(JsonInclude.Include.NON_NULL) Boolean previousLost) implements Event {

    public AttemptStarted(int attempt, int core, Instant at) {
      this(attempt, core, at, null, null);
    }

    boolean lostThePrevious() {
      return attempt > 1 && !Boolean.FALSE.equals(previousLost);
    }
  }

  public record PipelinePlanned(List<PlannedJob> jobs, List<String> warnings, Instant at) implements Event {}

  public record JobFinished(int attempt, int index, JobRecord job, int core, Instant at) implements Event {}

  /** {@code status}: passed, failed, or error (the pipeline could not run at all). */
  public record RunFinished(RunStatus status, String detail, Instant at) implements Event {}

  public record RunReported(Instant at) implements Event {}

  public record State(String runId, String featureId, String revision, int attempts, Integer core,
      List<PlannedJob> jobs,
      List<String> warnings, List<JobRecord> outcomes, RunStatus status, String detail, Instant requestedAt,
      Instant finishedAt, boolean reported,
      // attempts in a row that ended with the loss of their core before a job finished; absent (0) in journals
      // written before it existed, and left out of the JSON while 0 so that their recovered states read the same
      @JsonInclude(JsonInclude.Include.NON_DEFAULT) int lostAttempts) implements CborSerializable {

    @JsonCreator
    public State {
      jobs = jobs == null ? List.of() : jobs;
      warnings = warnings == null ? List.of() : warnings;
      outcomes = outcomes == null ? List.of() : outcomes;
    }

    boolean requested() {
      return runId != null;
    }

    boolean finished() {
      return finishedAt != null;
    }

    boolean planned() {
      return !jobs.isEmpty();
    }

    State apply(Event event) {
      if (event instanceof RunRequested r) {
        return new State(r.runId(), r.featureId(), r.revision(), 0, null, jobs, warnings, outcomes,
            RunStatus.RUNNING, null, r.at(), null, false, 0);
      }
      if (event instanceof AttemptStarted a) {
        // a later attempt starts only when a run that is not over recovers: the one before it was lost, unless
        // its core was still a live member (the run was moved)
        return new State(runId, featureId, revision, a.attempt(), a.core(), jobs, warnings, outcomes, status,
            detail, requestedAt, finishedAt, reported,
            a.attempt() == 1 ? 0 : a.lostThePrevious() ? lostAttempts + 1 : lostAttempts);
      }
      if (event instanceof PipelinePlanned p) {
        var empty = new ArrayList<JobRecord>();
        p.jobs().forEach(j -> empty.add(null));
        return new State(runId, featureId, revision, attempts, core, p.jobs(), p.warnings(), empty, status, detail,
            requestedAt, finishedAt, reported, lostAttempts);
      }
      if (event instanceof JobFinished f) {
        var next = new ArrayList<>(outcomes);
        next.set(f.index(), f.job());
        // a finished job is progress: the losses before it were not this run's doing
        return new State(runId, featureId, revision, attempts, core, jobs, warnings, next, status, detail, requestedAt,
            finishedAt, reported, 0);
      }
      if (event instanceof RunFinished f) {
        return new State(runId, featureId, revision, attempts, core, jobs, warnings, outcomes, f.status(),
            f.detail(), requestedAt, f.at(), reported, lostAttempts);
      }
      if (event instanceof RunReported r) {
        return new State(runId, featureId, revision, attempts, core, jobs, warnings, outcomes, status,
            detail, requestedAt, finishedAt, true, lostAttempts);
      }
      throw new IllegalArgumentException("unknown event " + event);
    }

    RunView view() {
      var views = new ArrayList<JobView>();
      boolean runningShown = false;
      for (int i = 0; i < jobs.size(); i++) {
        JobRecord done = i < outcomes.size() ? outcomes.get(i) : null;
        if (done != null) {
          views.add(done.view());
        } else {
          var j = jobs.get(i);
          String s = finished() ? "skipped" : runningShown ? "pending" : "running";
          runningShown = true;
          views.add(new JobView(j.name(), j.stage(), s, null, null, null, null, j.image(), null, null));
        }
      }
      return new RunView(runId, featureId, revision, status == null ? null : status.json(), detail, attempts, core,
          requestedAt == null ? null : requestedAt.toString(), finishedAt == null ? null : finishedAt.toString(),
          warnings, views);
    }
  }

  // ---------------------------------------------------------------- sharding

  public static void init(ActorSystem<?> system) {
    ClusterSharding.get(system).init(Entity.of(ENTITY_KEY, ctx -> Behaviors.<Command>setup(context ->
            Behaviors.withTimers(timers -> new PipelineRun(context, timers, ctx.getEntityId(), ctx.getShard()))))
        .withRole("core"));
  }

  /** A run outside sharding (tests): it never passivates. */
  public static Behavior<Command> create(String runId) {
    return Behaviors.setup(context -> Behaviors.withTimers(timers -> new PipelineRun(context, timers, runId, null)));
  }

  // ---------------------------------------------------------------- behaviour

  private final ActorContext<Command> context;
  private final TimerScheduler<Command> timers;
  private final String runId;
  // a run that is over and acknowledged leaves the shard: remember-entities would otherwise restart every run ever
  // made on every core start; a later Get starts it again from its journal
  private final ActorRef<ClusterSharding.ShardCommand> shard;
  private final SandboxRuntime runtime;
  private final int coreId;
  // not state: the parsed pipeline and whether a step is under way belong to this incarnation only
  private CiFile ciFile;
  private boolean busy;
  // what the run's jobs may still store in the log store, over all of them (this incarnation's share)
  private RunOutputBudget outputBudget;
  // the cluster incarnation that ran the latest attempt, from the journal (see eventHandler)
  private Long lastAttemptMember;

  private PipelineRun(ActorContext<Command> context, TimerScheduler<Command> timers, String runId,
      ActorRef<ClusterSharding.ShardCommand> shard) {
    super(PersistenceId.of(ENTITY_KEY.name(), runId),
        SupervisorStrategy.restartWithBackoff(Duration.ofMillis(500), Duration.ofSeconds(10), 0.2));
    this.context = context;
    this.timers = timers;
    this.runId = runId;
    this.shard = shard;
    this.runtime = SandboxRuntime.get(context.getSystem());
    this.coreId = runtime.coreId();
  }

  @Override
  public State emptyState() {
    return new State(null, null, null, 0, null, List.of(), List.of(), List.of(), null, null, null, null, false, 0);
  }

  @Override
  public Set<String> tagsFor(Event event) {
    return Set.of(TAG);
  }

  @Override
  public SignalHandler<State> signalHandler() {
    return newSignalHandlerBuilder()
        .onSignal(RecoveryCompleted.instance(), state -> {
          if (state.requested() && (!state.finished() || !state.reported())) {
            context.getSelf().tell(Resume.INSTANCE);
          } else if (state.reported()) {
            passivate();
          }
        })
        .build();
  }

  /**
   * The run's states, tried in this order: not requested yet (only Start does something), running (its jobs run one
   * at a time), finished and reporting to its feature until acknowledged, reported. A step's late result (a job or a
   * plan of an earlier attempt, a repeated Start) changes nothing.
   */
  @Override
  public CommandHandler<Command, Event, State> commandHandler() {
    var builder = newCommandHandlerBuilder();
    builder.forAnyState()
        .onCommand(Get.class, (state, get) -> Effect().reply(get.replyTo(), state.view()));
    builder.forState(state -> !state.requested())
        .onCommand(Start.class, this::onStart);
    builder.forState(state -> !state.finished())
        .onCommand(Start.class, (state, start) -> Effect().none())
        .onCommand(Resume.class, (state, resume) -> onResume(state))
        .onCommand(Planned.class, this::onPlanned)
        .onCommand(JobDone.class, this::onJobDone)
        .onCommand(Finish.class, this::onFinish)
        .onCommand(ReportTick.class, (state, tick) -> Effect().none())
        .onCommand(Reported.class, this::onReported);
    builder.forState(state -> !state.reported())
        .onCommand(Resume.class, (state, resume) -> reportNow(state))
        .onCommand(ReportTick.class, (state, tick) -> reportNow(state))
        .onCommand(Reported.class, this::onReported)
        .onAnyCommand(this::lateResult);
    builder.forAnyState()
        .onCommand(Resume.class, (state, resume) -> Effect().none())
        .onCommand(ReportTick.class, (state, tick) -> Effect().none())
        .onCommand(Reported.class, (state, reported) -> Effect().none())
        .onAnyCommand(this::lateResult);
    return builder.build();
  }

  /** A repeated Start, or the plan, a job or the end of a run that is over already: the step is no longer busy. */
  private Effect<Event, State> lateResult(Command command) {
    if (command instanceof Planned || command instanceof JobDone || command instanceof Finish) {
      busy = false;
    }
    return Effect().none();
  }

  private Effect<Event, State> reportNow(State state) {
    report(state);
    return Effect().none();
  }

  private Effect<Event, State> onStart(State state, Start start) {
    var requested = new RunRequested(runId, start.featureId(), start.revision(), start.requestedBy(), Instant.now());
    return Effect().persist(List.of(requested, new AttemptStarted(1, coreId, Instant.now(), selfMember(), null)))
        .thenRun(this::step);
  }

  private Effect<Event, State> onResume(State state) {
    int attempt = state.attempts() + 1;
    // a rebalance moves a run from a core that is still there: that attempt was not lost with its core
    boolean previousLost = !isLiveMember(lastAttemptMember);
    int lost = state.lostAttempts() + (previousLost ? 1 : 0);
    int maxLost = runtime.settings().maxLostAttempts();
    if (previousLost && lost >= maxLost) {
      String detail = lostAttemptsDetail(state, lost);
      withMdc(state, () -> log.warn("run {} of feature {} is not resumed: {}; fix the pipeline and run the tests "
          + "again", runId, state.featureId(), detail));
      return Effect().persist(new RunFinished(RunStatus.FAILED, detail, Instant.now())).thenRun(this::afterFinish);
    }
    withMdc(state, () -> log.info("run {} of feature {} resumes on core {} as attempt {} ({} of {} jobs done)",
        runId, state.featureId(), coreId, attempt, state.outcomes().stream().filter(o -> o != null).count(),
        state.jobs().size()));
    return Effect().persist(new AttemptStarted(attempt, coreId, Instant.now(), selfMember(), previousLost))
        .thenRun(this::step);
  }

  private synchronized RunOutputBudget outputBudget() {
    if (outputBudget == null) {
      outputBudget = runtime.runOutputBounds().newBudget();
    }
    return outputBudget;
  }

  /** Why a run that lost its core {@code lost} times in a row is failed: what a user reads in the run view. */
  static String lostAttemptsDetail(State state, int lost) {
    String where = "while its pipeline was being planned";
    for (int i = 0; i < state.outcomes().size() && i < state.jobs().size(); i++) {
      if (state.outcomes().get(i) == null) {
        where = "during job '" + state.jobs().get(i).name() + "'";
        break;
      }
    }
    return "stopped after " + lost + " attempts in a row that each ended with the loss of the core running them "
        + where + " (last on core " + state.core() + "): the pipeline may be making the core run out of memory or "
        + "crash; it is not resumed again";
  }

  /** Starts whatever comes next: planning, the next job, or the end of the run. One step at a time. */
  private void step(State state) {
    if (busy || state.finished()) {
      return;
    }
    int attempt = state.attempts();
    if (ciFile == null) {
      busy = true;
      var repos = runtime.repositories();
      context.pipeToSelf(runtime.blocking(() -> {
        String yaml = repos.readFile(state.featureId(), state.revision(), CI_FILE).orElse(null);
        return yaml;
      }), (yaml, error) -> {
        if (error != null) {
          return new Planned(attempt, null, "could not read " + CI_FILE + " of revision " + state.revision() + ": "
              + Failures.message(error));
        }
        if (yaml == null) {
          return new Planned(attempt, null, "revision " + state.revision() + " has no " + CI_FILE
              + ": add one (stages and jobs with a script) to make the feature testable");
        }
        try {
          return new Planned(attempt, CiFile.parse(yaml), null);
        } catch (RuntimeException e) {
          return new Planned(attempt, null, CI_FILE + " is invalid: " + e.getMessage());
        }
      });
      return;
    }
    List<CiJob> jobs = ciFile.jobsInOrder();
    int next = -1;
    for (int i = 0; i < jobs.size(); i++) {
      if (state.outcomes().get(i) == null) {
        next = i;
        break;
      }
    }
    if (next < 0) {
      finish(state);
      return;
    }
    CiJob job = jobs.get(next);
    List<JobOutcome> earlier = new ArrayList<>();
    for (int i = 0; i < next; i++) {
      earlier.add(toOutcome(state.outcomes().get(i)));
    }
    int index = next;
    busy = true;
    var skip = PipelineExecutor.skipReason(job, earlier);
    if (skip.isPresent()) {
      context.getSelf().tell(new JobDone(attempt, index, new JobRecord(job.name(), job.stage(), JobOutcome.SKIPPED,
          null, null, 0L, null, state.jobs().get(index).image(), skip.get(), null)));
      return;
    }
    context.pipeToSelf(runtime.blocking(() -> runJob(state, attempt, index, job)),
        (record, error) -> new JobDone(attempt, index, error == null ? record
            : new JobRecord(job.name(), job.stage(), "failed", null, "error", null, runtime.backend().name(),
                job.image(), "the runner failed: " + Failures.message(error), null)));
  }

  private JobRecord runJob(State state, int attempt, int index, CiJob job) {
    String workName = runId + "-a" + attempt + "-j" + index;
    // the sandbox job id is unique per attempt: a resumed job never meets the container of its earlier attempt
    var settings = runtime.settings();
    try (var writer = runtime.runLogs().writer(runId, attempt, job.name(), settings.policy().outputCapBytes());
        var output = new RunOutputLog(writer, String.valueOf(state.featureId()), runId, job.name(),
            outputBudget())) {
      if (attempt > 1) {
        writer.note("Heyken: attempt " + attempt + " of this run, on core " + coreId
            + " (the core that ran the earlier attempt was lost)");
      }
      var dir = runtime.newWorkDir(workName);
      try {
        runtime.repositories().checkout(state.featureId(), state.revision(), dir);
        JobOutcome outcome = PipelineExecutor.runJob(job, dir, runtime.slotLimited(), settings.policy(),
            settings::resolveImage, runtime.jobId(workName), state.revision(), output);
        writer.note("Heyken: job '" + job.name() + "' " + outcome.status() + " (reason " + outcome.reason() + ", exit code "
            + outcome.exitCode() + ", " + outcome.duration().toMillis() + " ms)"
            + (outcome.detail() == null || outcome.detail().isEmpty() ? "" : ": " + outcome.detail()));
        output.close(); // its last unfinished line counts too
        var dropped = output.dropped();
        if (dropped.any()) {
          writer.note("Heyken: " + dropped.lines() + " lines (" + dropped.bytes() + " bytes) of job '" + job.name()
              + "' are not in the log store: the run's output is bounded (heyken.logs.run-output)");
        }
        return new JobRecord(outcome.name(), outcome.stage(), outcome.status(), outcome.exitCode(), outcome.reason(),
            outcome.duration().toMillis(), outcome.backend(), settings.resolveImage(job.image()), outcome.detail(),
            outcome.logTail(), dropped.any() ? dropped.lines() : null, dropped.any() ? dropped.bytes() : null);
      } catch (InterruptedException e) {
        // the dispatcher is shutting down (the core is stopping): the backend has killed the job; the run resumes
        // on whichever core runs this entity next
        Thread.currentThread().interrupt();
        throw new IllegalStateException("the job was interrupted because core " + coreId + " is stopping", e);
      } finally {
        SandboxRuntime.deleteTree(dir);
      }
    }
  }

  private Effect<Event, State> onPlanned(State state, Planned planned) {
    busy = false;
    if (planned.attempt() != state.attempts()) {
      return Effect().none();
    }
    if (planned.error() != null) {
      return Effect().persist(new RunFinished(RunStatus.ERROR, planned.error(), Instant.now())).thenRun(this::afterFinish);
    }
    ciFile = planned.file();
    var jobs = ciFile.jobsInOrder().stream()
        .map(j -> new PlannedJob(j.name(), j.stage(), runtime.settings().resolveImage(j.image()))).toList();
    if (jobs.isEmpty()) {
      return Effect().persist(new RunFinished(RunStatus.ERROR, CI_FILE + " defines no job to run", Instant.now()))
          .thenRun(this::afterFinish);
    }
    if (state.planned()) {
      if (!state.jobs().stream().map(PlannedJob::name).toList().equals(jobs.stream().map(PlannedJob::name).toList())) {
        // the same revision always yields the same plan; anything else means the repository changed under us
        return Effect().persist(new RunFinished(RunStatus.ERROR, "the pipeline of revision " + state.revision()
            + " is not the one planned before the restart", Instant.now())).thenRun(this::afterFinish);
      }
      step(state);
      return Effect().none();
    }
    return Effect().persist(new PipelinePlanned(jobs, ciFile.warnings(), Instant.now())).thenRun(this::step);
  }

  private Effect<Event, State> onJobDone(State state, JobDone done) {
    busy = false;
    if (done.attempt() != state.attempts() || state.outcomes().get(done.index()) != null) {
      return Effect().none();
    }
    withMdc(state, () -> log.info("run {} of feature {}: job {} {} (reason={} exit_code={} duration_ms={})", runId,
        state.featureId(), done.record().name(), done.record().status(), done.record().reason(),
        done.record().exitCode(), done.record().durationMs()));
    return Effect().persist(new JobFinished(done.attempt(), done.index(), done.record(), coreId, Instant.now()))
        .thenRun(this::step);
  }

  private void finish(State state) {
    var outcomes = state.outcomes().stream().map(PipelineRun::toOutcome).toList();
    PipelineStatus status = PipelineExecutor.decide(outcomes);
    boolean failed = status == PipelineStatus.FAILED;
    long passed = outcomes.stream().filter(o -> o.status().equals(JobOutcome.PASSED)).count();
    String detail = failed
        ? "failed: " + String.join(", ", outcomes.stream().filter(JobOutcome::failed)
            .map(o -> o.name() + " (" + o.reason() + ")").toList())
        : passed + " of " + outcomes.size() + " jobs passed";
    busy = true;
    if (status == PipelineStatus.SKIPPED) {
      // a pipeline whose jobs are all manual or `when: never` tested nothing: it must not count as passed
      context.getSelf().tell(new Finish(RunStatus.ERROR, "no job ran (all are manual or when: never): nothing was tested"));
      return;
    }
    context.getSelf().tell(new Finish(failed ? RunStatus.FAILED : RunStatus.PASSED, detail));
  }

  record Finish(RunStatus status, String detail) implements Command {}

  private Effect<Event, State> onFinish(State state, Finish finish) {
    busy = false;
    return Effect().persist(new RunFinished(finish.status(), finish.detail(), Instant.now()))
        .thenRun(this::afterFinish);
  }

  private void afterFinish(State state) {
    heyken.actors.metrics.Metrics.pipelineRun(state.status().json());
    withMdc(state, () -> log.info("run {} of feature {} revision {}: {} ({})", runId, state.featureId(),
        shortRev(state.revision()), state.status(), state.detail()));
    report(state);
  }

  /** Tells the feature the result of the finished run (the handlers call it only while it is unreported). */
  private void report(State state) {
    var feature = ClusterSharding.get(context.getSystem()).entityRefFor(Feature.ENTITY_KEY, state.featureId());
    context.ask(Done.class, feature,
        Duration.ofSeconds(5), (ActorRef<Done> replyTo) -> new Feature.RunCompleted(runId, state.revision(),
            state.status(), state.detail(), replyTo),
        (ok, error) -> new Reported(error == null, error == null ? null : error.toString()));
  }

  private Effect<Event, State> onReported(State state, Reported reported) {
    if (!reported.acknowledged()) {
      log.warn("run {}: feature {} did not acknowledge the result ({}); retrying in 2 s", runId, state.featureId(),
          reported.error());
      timers.startSingleTimer(ReportTick.INSTANCE, Duration.ofSeconds(2));
      return Effect().none();
    }
    return Effect().persist(new RunReported(Instant.now())).thenRun(s -> passivate());
  }

  private void passivate() {
    if (shard != null) {
      shard.tell(new ClusterSharding.Passivate<>(context.getSelf()));
    }
  }

  @Override
  public EventHandler<State, Event> eventHandler() {
    return newEventHandlerBuilder().forAnyState().onAnyEvent((state, event) -> {
      if (event instanceof AttemptStarted a) {
        // replayed in order: after recovery this is the member that ran the latest attempt (not part of the state,
        // which the journal fixture pins; only the next resume needs it)
        lastAttemptMember = a.member();
      }
      return state.apply(event);
    });
  }

  /** This core's cluster incarnation, or null outside a cluster (tests of the entity alone). */
  private Long selfMember() {
    try {
      return org.apache.pekko.cluster.typed.Cluster.get(context.getSystem()).selfMember().uniqueAddress().longUid();
    } catch (RuntimeException e) {
      return null;
    }
  }

  /** Whether the cluster incarnation {@code member} is still a member that is not going away; false when unknown. */
  private boolean isLiveMember(Long member) {
    if (member == null) {
      return false;
    }
    try {
      var cluster = org.apache.pekko.cluster.typed.Cluster.get(context.getSystem());
      for (var m : cluster.state().getMembers()) {
        if (m.uniqueAddress().longUid() == member && (m.status() == org.apache.pekko.cluster.MemberStatus.up()
            || m.status() == org.apache.pekko.cluster.MemberStatus.weaklyUp())
            && !cluster.state().getUnreachable().contains(m)) {
          return true;
        }
      }
      return false;
    } catch (RuntimeException e) {
      return false;
    }
  }

  // ---------------------------------------------------------------- helpers

  private static JobOutcome toOutcome(JobRecord r) {
    return new JobOutcome(r.name(), r.stage(), r.status(), r.exitCode() == null ? -1 : r.exitCode(),
        r.reason(), Duration.ofMillis(r.durationMs() == null ? 0 : r.durationMs()), r.logTail(), r.backend(),
        r.detail());
  }

  static String shortRev(String revision) {
    return revision == null ? "-" : revision.substring(0, Math.min(8, revision.length()));
  }



  private void withMdc(State state, Runnable r) {
    MDC.put("feature", String.valueOf(state.featureId()));
    MDC.put("run", runId);
    try {
      r.run();
    } finally {
      MDC.remove("feature");
      MDC.remove("run");
    }
  }
}
