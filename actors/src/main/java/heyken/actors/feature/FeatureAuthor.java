package heyken.actors.feature;

import com.fasterxml.jackson.annotation.JsonCreator;
import heyken.actors.Failures;
import heyken.actors.chat.ChatNews;
import heyken.actors.llm.LanguageModel;
import heyken.protocol.CborSerializable;
import heyken.protocol.api.feature.AuthoringView;
import heyken.protocol.api.feature.FeatureView;
import heyken.protocol.api.feature.RunView;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
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
 * The author loop of one feature (entity id = the feature id): the language model plans and writes the feature as
 * whole files, each accepted answer is one commit (a revision of the {@link Feature}), the pipeline tests it in the
 * sandbox ({@link PipelineRun}), and on failure the tail of the failing jobs' output goes back to the model. The loop
 * stops when a revision passes (it then waits for an admin's approval, or deploys itself with autodeploy), when the
 * attempts are used up, on the same failure twice, on an answer cut off ({@code done_reason: length}), or on
 * unparseable output twice — and says why.
 *
 * <p>Sharded and event-sourced with remember-entities: every step is recorded before the next one starts
 * ({@code AttemptAnswered} → {@code AttemptCommitted} → {@code AttemptTestStarted} → {@code AttemptTested}), and each
 * step is idempotent (committing the same files again makes no commit; a run of the recorded revision is adopted
 * rather than started twice), so a core that dies in the middle leaves the survivor to continue from the last
 * recorded step without losing or repeating a committed attempt.
 */
public final class FeatureAuthor
    extends EventSourcedBehavior<FeatureAuthor.Command, FeatureAuthor.Event, FeatureAuthor.State> {

  public static final EntityTypeKey<Command> ENTITY_KEY = EntityTypeKey.create(Command.class, "FeatureAuthor");
  public static final String TAG = "feature-author";
  static final String BY = "author";
  private static final Logger log = LoggerFactory.getLogger(FeatureAuthor.class);
  private static final Duration ASK = Duration.ofSeconds(10);

  // ---------------------------------------------------------------- protocol

  public sealed interface Command extends CborSerializable {}

  /** Starts the loop; a second Start of the same feature is a no-op. */
  public record Start(String featureId, String name, String command, String description, String requestedBy)
      implements Command {}

  public record Get(ActorRef<AuthorReply> replyTo) implements Command {}

  /** {@code view} is null when the loop never started for this feature. */
  public record AuthorReply(AuthoringView view) implements CborSerializable {}

  enum Resume implements Command {
    INSTANCE
  }

  record Tick(int attempt) implements Command {}

  record Answered(int attempt, String text, String doneReason, String model, String error) implements Command {}

  record Committed(int attempt, String revision, String error) implements Command {}

  record RunAdopted(int attempt, String runId, boolean retryLater, String error) implements Command {}

  record RunPolled(int attempt, String runId, String status, String detail, String feedback, String error)
      implements Command {}

  record DeployAnswered(String revision, String command, String problem) implements Command {}

  public sealed interface Event extends CborSerializable {}

  public record AuthoringStarted(String featureId, String name, String command, String description, int maxAttempts,
      String model, String requestedBy, Instant at) implements Event {}

  /** The model's answer {@code n} passed the guard: these whole files are what attempt n commits. */
  public record AttemptAnswered(int n, String summary, String testCommand, Map<String, String> files,
      String doneReason, Instant at) implements Event {}

  /** Answer {@code n} was not committed. {@code kind}: unparseable, refused (the guard), truncated (length). */
  public record AttemptRefused(int n, String kind, String reason, Instant at) implements Event {}

  public record AttemptCommitted(int n, String revision, Instant at) implements Event {}

  public record AttemptTestStarted(int n, String runId, Instant at) implements Event {}

  /** {@code feedback}: the bounded tail of the failing jobs' output, as the model hears it. */
  public record AttemptTested(int n, String runId, String status, String detail, String feedback, Instant at)
      implements Event {}

  public record AuthoringPassed(int n, String revision, Instant at) implements Event {}

  public record AuthoringFailed(String reason, Instant at) implements Event {}

  /** Autodeploy was tried: {@code problem} is null when the revision is deployed. */
  public record AutoDeployTried(String revision, String problem, Instant at) implements Event {}

  /** One attempt as the journal has it so far. */
  public record Attempt(int n, String summary, String testCommand, Map<String, String> files, String refusedKind,
      String refusedReason, String revision, String runId, String testStatus, String detail, String feedback)
      implements CborSerializable {

    Attempt with(String revision, String runId, String testStatus, String detail, String feedback) {
      return new Attempt(n, summary, testCommand, files, refusedKind, refusedReason, revision, runId, testStatus,
          detail, feedback);
    }

    boolean refused() {
      return refusedKind != null;
    }

    boolean failedTests() {
      return testStatus != null && !testStatus.equals("passed");
    }
  }

  /**
   * How the loop ended so far: a revision passed its tests (waiting for a deploy), it failed (no attempt passed, or
   * the loop could not go on), or the passing revision was deployed. Persisted in the snapshot as its lower-case name,
   * as it always was; a name this version does not know fails the recovery with that name.
   */
  public enum Result {
    PASSED("passed"),
    FAILED("failed"),
    DEPLOYED("deployed");

    private final String json;

    Result(String json) {
      this.json = json;
    }

    @com.fasterxml.jackson.annotation.JsonValue
    public String json() {
      return json;
    }

    @JsonCreator(mode = JsonCreator.Mode.DELEGATING)
    public static Result of(String json) {
      return java.util.Arrays.stream(values()).filter(r -> r.json.equals(json)).findFirst()
          .orElseThrow(() -> new IllegalArgumentException("unknown authoring outcome '" + json + "' (known: passed, "
              + "failed, deployed): written by another version of Heyken?"));
    }

    @Override
    public String toString() {
      return json;
    }
  }

  /** {@code outcome}: null while authoring, then a {@link Result}. */
  public record State(String featureId, String name, String command, String description, int maxAttempts,
      String model, List<Attempt> attempts, Result outcome, String reason, String passedRevision,
      boolean autoDeployTried) implements CborSerializable {

    @JsonCreator
    public State {
      attempts = attempts == null ? List.of() : attempts;
    }

    static State empty() {
      return new State(null, null, null, null, 0, null, List.of(), null, null, null, false);
    }

    boolean started() {
      return featureId != null;
    }

    /**
     * No outcome yet: attempts are being written and tested (a step's result, the only command this state adds,
     * comes after the start).
     */
    boolean authoring() {
      return outcome == null;
    }

    /** Failed, or deployed: nothing more to do. */
    boolean done() {
      return outcome == Result.FAILED || outcome == Result.DEPLOYED;
    }

    /** A revision passed its tests: waiting for an admin's deploy or the autodeploy's answer. */
    boolean passed() {
      return outcome == Result.PASSED;
    }

    Attempt last() {
      return attempts.isEmpty() ? null : attempts.get(attempts.size() - 1);
    }

    private State withAttempts(List<Attempt> next) {
      return new State(featureId, name, command, description, maxAttempts, model, next, outcome, reason,
          passedRevision, autoDeployTried);
    }

    private State replaceLast(Attempt a) {
      var next = new ArrayList<>(attempts);
      next.set(next.size() - 1, a);
      return withAttempts(next);
    }

    State apply(Event event) {
      if (event instanceof AuthoringStarted s) {
        return new State(s.featureId(), s.name(), s.command(), s.description(), s.maxAttempts(), s.model(),
            List.of(), null, null, null, false);
      }
      if (event instanceof AttemptAnswered a) {
        var next = new ArrayList<>(attempts);
        next.add(new Attempt(a.n(), a.summary(), a.testCommand(), a.files(), null, null, null, null, null, null,
            null));
        return withAttempts(next);
      }
      if (event instanceof AttemptRefused r) {
        var next = new ArrayList<>(attempts);
        next.add(new Attempt(r.n(), null, null, Map.of(), r.kind(), r.reason(), null, null, null, null, null));
        return withAttempts(next);
      }
      if (event instanceof AttemptCommitted c) {
        return replaceLast(last().with(c.revision(), null, null, null, null));
      }
      if (event instanceof AttemptTestStarted t) {
        var l = last();
        return replaceLast(l.with(l.revision(), t.runId(), null, null, null));
      }
      if (event instanceof AttemptTested t) {
        var l = last();
        return replaceLast(l.with(l.revision(), t.runId(), t.status(), t.detail(), t.feedback()));
      }
      if (event instanceof AuthoringPassed p) {
        return new State(featureId, name, command, description, maxAttempts, model, attempts, Result.PASSED, null,
            p.revision(), autoDeployTried);
      }
      if (event instanceof AuthoringFailed f) {
        return new State(featureId, name, command, description, maxAttempts, model, attempts, Result.FAILED, f.reason(),
            passedRevision, autoDeployTried);
      }
      if (event instanceof AutoDeployTried d) {
        return new State(featureId, name, command, description, maxAttempts, model, attempts,
            d.problem() == null ? Result.DEPLOYED : outcome, d.problem() == null ? null : "autodeploy refused: "
            + d.problem(), passedRevision, true);
      }
      throw new IllegalArgumentException("unknown event " + event);
    }

    /** Where the loop is, for GET /api/features/{id}. */
    String step(boolean autodeploy) {
      if (done()) {
        return "done";
      }
      if (passed()) {
        return autodeploy && !autoDeployTried ? "deploying" : "waiting";
      }
      var l = last();
      if (l == null || l.refused() || l.failedTests()) {
        return "planning";
      }
      if (l.revision() == null) {
        return "committing";
      }
      return "testing";
    }

    AuthoringView view(boolean autodeploy) {
      var views = new ArrayList<AuthoringView.Attempt>();
      for (var a : attempts) {
        String result = a.refused() ? a.refusedKind() : a.testStatus() != null ? a.testStatus()
            : a.runId() != null ? "running" : "committing";
        String detail = a.refused() ? a.refusedReason() : a.detail();
        views.add(new AuthoringView.Attempt(a.n(), a.summary(), a.testCommand(),
            a.files() == null ? List.of() : List.copyOf(a.files().keySet()), a.revision(), a.runId(), result, detail));
      }
      String st = outcome == null ? "authoring" : outcome == Result.PASSED ? "awaiting_approval" : outcome.json();
      var l = last();
      int attempt = l == null ? (outcome == Result.FAILED ? 0 : 1)
          : step(autodeploy).equals("planning") && outcome == null ? Math.min(l.n() + 1, maxAttempts) : l.n();
      return new AuthoringView(st, step(autodeploy), attempt, maxAttempts, model, reason, views);
    }
  }

  // ---------------------------------------------------------------- sharding

  /** What the loop works with: the language model, the feature operations (revision info), its settings. */
  public record Wiring(LanguageModel model, FeatureService features, AuthorSettings settings) {}

  public static void init(ActorSystem<?> system, Wiring wiring) {
    ClusterSharding.get(system).init(Entity.of(ENTITY_KEY, ctx -> Behaviors.<Command>setup(context ->
            Behaviors.withTimers(timers -> new FeatureAuthor(context, timers, ctx.getEntityId(), wiring,
                ctx.getShard()))))
        .withRole("core"));
  }

  /** An entity outside sharding (tests): it never passivates. */
  public static Behavior<Command> create(String featureId, Wiring wiring) {
    return Behaviors.setup(context -> Behaviors.withTimers(timers ->
        new FeatureAuthor(context, timers, featureId, wiring, null)));
  }

  // ---------------------------------------------------------------- behaviour

  private final ActorContext<Command> context;
  private final TimerScheduler<Command> timers;
  private final String featureId;
  private final Wiring wiring;
  private final AuthorSettings settings;
  private final SandboxRuntime runtime;
  private final ActorRef<ClusterSharding.ShardCommand> shard;
  // not state: a step (model call, commit, ask) is under way in this incarnation
  private boolean busy;

  private FeatureAuthor(ActorContext<Command> context, TimerScheduler<Command> timers, String featureId,
      Wiring wiring, ActorRef<ClusterSharding.ShardCommand> shard) {
    super(PersistenceId.of(ENTITY_KEY.name(), featureId),
        SupervisorStrategy.restartWithBackoff(Duration.ofMillis(500), Duration.ofSeconds(10), 0.2));
    this.context = context;
    this.timers = timers;
    this.featureId = featureId;
    this.wiring = wiring;
    this.settings = wiring.settings();
    this.runtime = SandboxRuntime.get(context.getSystem());
    this.shard = shard;
  }

  @Override
  public State emptyState() {
    return State.empty();
  }

  @Override
  public Set<String> tagsFor(Event event) {
    return Set.of(TAG);
  }

  @Override
  public SignalHandler<State> signalHandler() {
    return newSignalHandlerBuilder()
        .onSignal(RecoveryCompleted.instance(), state -> {
          if (state.started()) {
            if (state.outcome() == null) {
              withMdc(() -> log.info("author of feature {} resumes at attempt {} ({})", featureId,
                  state.last() == null ? 1 : state.last().n(), state.step(settings.autodeploy())));
            }
            context.getSelf().tell(Resume.INSTANCE);
          }
        })
        .build();
  }

  /**
   * The loop's states, tried in this order: not started (only Start does something), authoring (attempts are
   * planned, committed and tested), passed (waiting for an admin, or for the autodeploy's answer) and done (failed or
   * deployed). A step's result that arrives in a later state (the loop failed meanwhile) changes nothing.
   */
  @Override
  public CommandHandler<Command, Event, State> commandHandler() {
    var builder = newCommandHandlerBuilder();
    builder.forState(state -> !state.started())
        .onCommand(Start.class, this::onStart)
        .onCommand(Get.class, (state, get) -> {
          passivate(); // asked about a feature that was never authored: nothing to keep alive
          return Effect().reply(get.replyTo(), new AuthorReply(null));
        });
    builder.forAnyState()
        .onCommand(Start.class, (state, start) -> Effect().none())
        .onCommand(Get.class, (state, get) ->
            Effect().reply(get.replyTo(), new AuthorReply(state.view(settings.autodeploy()))))
        .onCommand(Resume.class, (state, r) -> stepNow(state))
        .onCommand(Tick.class, (state, t) -> stepNow(state));
    builder.forState(State::authoring)
        .onCommand(Answered.class, this::onAnswered)
        .onCommand(Committed.class, this::onCommitted)
        .onCommand(RunAdopted.class, this::onRunAdopted)
        .onCommand(RunPolled.class, this::onRunPolled)
        .onCommand(FailNow.class, this::onFailNow);
    builder.forState(State::passed)
        .onCommand(DeployAnswered.class, this::onDeployAnswered);
    builder.forAnyState()
        .onAnyCommand(this::lateResult);
    return builder.build();
  }

  private Effect<Event, State> stepNow(State state) {
    step(state);
    return Effect().none();
  }

  /** The result of a step that no longer matters (the loop ended, or is past that step): it is not busy any more. */
  private Effect<Event, State> lateResult(Command command) {
    busy = false;
    return Effect().none();
  }

  private Effect<Event, State> onStart(State state, Start start) {
    var started = new AuthoringStarted(start.featureId(), start.name(), start.command(), start.description(),
        settings.maxAttempts(), wiring.model() == null ? "none" : modelName(), start.requestedBy(), Instant.now());
    return Effect().persist(started)
        .thenRun(s -> {
          withMdc(() -> log.info("author of feature {} '{}' started by {} with model {} (at most {} attempts)",
              featureId, s.name(), start.requestedBy(), s.model(), s.maxAttempts()));
          news(s, "start", "Feature #" + featureId + " " + s.name() + ": writing it with " + s.model()
              + " (at most " + s.maxAttempts() + " attempts); progress: GET :5010/api/features/" + featureId);
        })
        .thenRun(this::step);
  }

  private String modelName() {
    try {
      return ((heyken.actors.llm.OllamaModel) wiring.model()).settings().codeModel();
    } catch (ClassCastException e) {
      return "the code model";
    }
  }

  /** Starts whatever comes next, one step at a time; every step's result comes back as a command. */
  private void step(State state) {
    if (busy || !state.started()) {
      return;
    }
    if (state.done()) {
      passivate();
      return;
    }
    if (state.passed()) {
      if (settings.autodeploy() && !state.autoDeployTried()) {
        deploy(state);
      } else {
        passivate(); // waits for an admin: the deploy itself is the Feature's business
      }
      return;
    }
    Attempt last = state.last();
    if (last == null) {
      ask(state, 1, null, null);
      return;
    }
    if (last.refused()) {
      var stop = stopAfterRefusal(state, last);
      if (stop != null) {
        fail(stop);
        return;
      }
      ask(state, last.n() + 1, null, AuthorPrompt.repair(last.n(), "was refused and nothing was committed",
          last.refusedReason()));
      return;
    }
    if (last.revision() == null) {
      commit(state, last);
      return;
    }
    if (last.runId() == null) {
      adoptOrStartRun(state, last);
      return;
    }
    if (last.testStatus() == null) {
      poll(last);
      return;
    }
    // the last attempt failed its tests (a pass ends the loop with AuthoringPassed)
    var stop = stopAfterFailure(state, last);
    if (stop != null) {
      fail(stop);
      return;
    }
    ask(state, last.n() + 1, planJson(last), AuthorPrompt.repair(last.n(), "failed its tests (" + last.detail() + ")",
        "Output of the failing jobs (the last lines):\n" + last.feedback()));
  }

  private String stopAfterRefusal(State state, Attempt last) {
    if ("truncated".equals(last.refusedKind())) {
      return "the model's answer to attempt " + last.n() + " was cut off (done_reason: length): ask for a smaller "
          + "feature or raise heyken.author.num-predict / num-ctx";
    }
    long unparseable = state.attempts().stream().filter(a -> "unparseable".equals(a.refusedKind())).count();
    if ("unparseable".equals(last.refusedKind()) && unparseable >= 2) {
      return "the model's output could not be parsed twice (last: " + last.refusedReason() + ")";
    }
    if (last.n() >= state.maxAttempts()) {
      return "attempts exhausted: " + state.maxAttempts() + " of " + state.maxAttempts() + " used; the last was "
          + "refused: " + last.refusedReason();
    }
    return null;
  }

  private String stopAfterFailure(State state, Attempt last) {
    Attempt earlier = null;
    for (int i = state.attempts().size() - 2; i >= 0; i--) {
      if (state.attempts().get(i).failedTests()) {
        earlier = state.attempts().get(i);
        break;
      }
    }
    if (earlier != null && signature(earlier.feedback()).equals(signature(last.feedback()))) {
      return "the same failure twice (attempts " + earlier.n() + " and " + last.n() + "): " + last.detail();
    }
    if (last.n() >= state.maxAttempts()) {
      return "attempts exhausted: " + state.maxAttempts() + " of " + state.maxAttempts() + " failed their tests; the "
          + "last: " + last.detail();
    }
    return null;
  }

  /**
   * Output that differs only in numbers and commit ids (durations, revisions) or in the order of its lines (stdout and
   * stderr interleave differently from run to run) is the same failure.
   */
  static String signature(String feedback) {
    if (feedback == null) {
      return "";
    }
    return feedback.lines().map(l -> l.replaceAll("[0-9a-f]{7,40}", "#").replaceAll("[0-9]+", "#").strip())
        .filter(l -> !l.isEmpty()).sorted().collect(java.util.stream.Collectors.joining("\n"));
  }

  private static String planJson(Attempt a) {
    return new AuthorPlan(a.summary() == null ? "" : a.summary(), a.testCommand(), a.files()).toJson();
  }

  // ---------------------------------------------------------------- the model's answer

  private void ask(State state, int n, String previousAnswer, String feedback) {
    busy = true;
    var request = AuthorPrompt.request(state.name(), state.command(), state.description(), settings, previousAnswer,
        feedback);
    var model = wiring.model();
    context.pipeToSelf(runtime.blocking(() -> {
      if (model == null) {
        throw new IllegalStateException("no language model is configured (OLLAMA_URL is empty)");
      }
      var availability = model.availability();
      if (!availability.up()) {
        throw new IllegalStateException("the code model is not available: " + availability.describe());
      }
      // streamed: a long answer is bounded by the silence between chunks, not by one deadline for the whole call
      return model.stream(request, (delta, soFar) -> { });
    }), (reply, error) -> error != null
        ? new Answered(n, null, null, null, Failures.message(error))
        : new Answered(n, reply.text(), reply.doneReason().name().toLowerCase(java.util.Locale.ROOT), reply.model(),
            null));
  }

  private Effect<Event, State> onAnswered(State state, Answered answered) {
    busy = false;
    if (expected(state) != answered.attempt()) {
      return Effect().none();
    }
    int n = answered.attempt();
    Instant now = Instant.now();
    if (answered.error() != null) {
      return failEffect("the code model could not answer attempt " + n + ": " + answered.error());
    }
    if ("length".equals(answered.doneReason())) {
      var refused = new AttemptRefused(n, "truncated", "the answer was cut off at num_predict "
          + settings.numPredict() + " tokens (done_reason: length)", now);
      return Effect().persist(refused).thenRun(s -> refusedNews(s, refused)).thenRun(this::step);
    }
    AuthorPlan plan;
    try {
      plan = AuthorPlan.parse(answered.text());
    } catch (AuthorPlan.Unparseable e) {
      var refused = new AttemptRefused(n, "unparseable", e.getMessage(), now);
      return Effect().persist(refused).thenRun(s -> refusedNews(s, refused)).thenRun(this::step);
    }
    var problems = plan.problems(settings, state.command());
    if (!problems.isEmpty()) {
      var refused = new AttemptRefused(n, "refused", String.join("; ", problems), now);
      return Effect().persist(refused).thenRun(s -> refusedNews(s, refused)).thenRun(this::step);
    }
    var files = plan.filesToCommit();
    return Effect().persist(new AttemptAnswered(n, plan.summary(), plan.testCommand(), files,
            answered.doneReason(), now))
        .thenRun(s -> {
          withMdc(() -> log.info("author of feature {}: attempt {} planned ({} files: {})", featureId, n,
              files.size(), String.join(", ", files.keySet())));
          news(s, n + ":plan", prefix(s, n) + "plan: " + (plan.summary().isEmpty() ? "(no summary)"
              : oneLine(plan.summary(), 300)) + " — files: " + String.join(", ", files.keySet()));
        })
        .thenRun(this::step);
  }

  /** The attempt the loop waits an answer for. */
  private static int expected(State state) {
    var last = state.last();
    return last == null ? 1 : last.n() + 1;
  }

  private void refusedNews(State s, AttemptRefused r) {
    withMdc(() -> log.warn("author of feature {}: answer {} {}: {}", featureId, r.n(), r.kind(), r.reason()));
    news(s, r.n() + ":refused", prefix(s, r.n()) + "answer " + r.kind() + ", nothing committed: "
        + oneLine(r.reason(), 400));
  }

  // ---------------------------------------------------------------- commit and test

  private void commit(State state, Attempt attempt) {
    busy = true;
    int n = attempt.n();
    String message = "attempt " + n + ": " + oneLine(attempt.summary() == null || attempt.summary().isEmpty()
        ? "written by the language model" : attempt.summary(), 200);
    CompletionStage<Committed> work = runtime.blocking(() -> {
          // committing the same files again (a retry after a crash) makes no commit and returns the same revision
          var revision = runtime.repositories().commit(featureId, attempt.files(), message, BY);
          return wiring.features().revisionInfo(featureId, revision, BY);
        })
        .thenCompose(info -> feature().<Feature.FeatureReply>ask(
                reply -> new Feature.AddRevision(info, BY, reply), ASK)
            .thenApply(reply -> reply.refused() != null ? new Committed(n, null, detail(reply.refused()))
                : new Committed(n, info.id(), null)));
    context.pipeToSelf(work, (c, error) -> error != null ? new Committed(n, null, Failures.message(error)) : c);
  }

  private Effect<Event, State> onCommitted(State state, Committed committed) {
    busy = false;
    var last = state.last();
    if (last == null || last.n() != committed.attempt() || last.revision() != null) {
      return Effect().none();
    }
    if (committed.error() != null) {
      if (isTransient(committed.error())) {
        return retryLater(committed.attempt(), "commit", committed.error());
      }
      return failEffect("attempt " + committed.attempt() + " could not be committed: " + committed.error());
    }
    return Effect().persist(new AttemptCommitted(committed.attempt(), committed.revision(), Instant.now()))
        .thenRun(s -> news(s, committed.attempt() + ":commit", prefix(s, committed.attempt()) + "revision "
            + PipelineRun.shortRev(committed.revision()) + " committed; testing it in the sandbox"))
        .thenRun(this::step);
  }

  /** A run of the attempt's revision that the feature already knows is adopted (a retry after a crash). */
  private void adoptOrStartRun(State state, Attempt attempt) {
    busy = true;
    int n = attempt.n();
    String revision = attempt.revision();
    CompletionStage<RunAdopted> work = feature().<Feature.FeatureReply>ask(Feature.Get::new, ASK)
        .thenCompose(reply -> {
          if (reply.refused() != null) {
            return CompletableFuture.completedFuture(new RunAdopted(n, null, false, detail(reply.refused())));
          }
          for (var run : FeatureApi.view(reply).runs()) { // newest first
            if (run.revision().equals(revision)) {
              return CompletableFuture.completedFuture(new RunAdopted(n, run.runId(), false, null));
            }
          }
          return feature().<Feature.RunReply>ask(reply2 -> new Feature.RunTests(revision, BY, reply2), ASK)
              .thenApply(r -> r.refused() == null ? new RunAdopted(n, r.run().runId(), false, null)
                  : new RunAdopted(n, null, r.refused().kind() == Feature.Refusal.Kind.RUN_IN_PROGRESS,
                      detail(r.refused())));
        });
    context.pipeToSelf(work, (r, error) -> error != null ? new RunAdopted(n, null, true, Failures.message(error)) : r);
  }

  private Effect<Event, State> onRunAdopted(State state, RunAdopted adopted) {
    busy = false;
    var last = state.last();
    if (last == null || last.n() != adopted.attempt() || last.runId() != null) {
      return Effect().none();
    }
    if (adopted.runId() == null) {
      if (adopted.retryLater()) {
        return retryLater(adopted.attempt(), "test run", adopted.error());
      }
      return failEffect("the tests of attempt " + adopted.attempt() + " could not start: " + adopted.error());
    }
    return Effect().persist(new AttemptTestStarted(adopted.attempt(), adopted.runId(), Instant.now()))
        .thenRun(s -> withMdc(() -> log.info("author of feature {}: attempt {} is tested by run {}", featureId,
            adopted.attempt(), adopted.runId())))
        .thenRun(this::step);
  }

  /** Looks at the run as the feature has it; once finished, reads the failing jobs' output from the run. */
  private void poll(Attempt attempt) {
    busy = true;
    int n = attempt.n();
    String runId = attempt.runId();
    CompletionStage<RunPolled> work = feature().<Feature.FeatureReply>ask(Feature.Get::new, ASK)
        .thenCompose(reply -> {
          if (reply.refused() != null) {
            return CompletableFuture.completedFuture(new RunPolled(n, runId, null, null, null,
                detail(reply.refused())));
          }
          FeatureView.RunSummary run = FeatureApi.view(reply).runs().stream().filter(r -> r.runId().equals(runId))
              .findFirst().orElse(null);
          if (run == null || run.finishedAt() == null) {
            return CompletableFuture.completedFuture(new RunPolled(n, runId, null, null, null, null));
          }
          return ClusterSharding.get(context.getSystem()).entityRefFor(PipelineRun.ENTITY_KEY, runId)
              .<RunView>ask(PipelineRun.Get::new, ASK)
              .thenApply(view -> new RunPolled(n, runId, run.status(), view.detail(), feedback(view), null));
        });
    context.pipeToSelf(work, (r, error) -> error != null ? new RunPolled(n, runId, null, null, null, null) : r);
  }

  /** What the model hears of a failed run: each failing job with its reason and the tail of its log, bounded. */
  private String feedback(RunView view) {
    if ("passed".equals(view.status())) {
      return "";
    }
    var b = new StringBuilder();
    if ("error".equals(view.status())) {
      b.append("The pipeline could not run: ").append(view.detail()).append('\n');
    }
    for (var job : view.jobs()) {
      if (job.status().equals("failed")) {
        b.append("Job ").append(job.name()).append(" failed (reason ").append(job.reason()).append(", exit code ")
            .append(job.exitCode()).append(")").append(job.detail() == null || job.detail().isEmpty() ? ""
                : ": " + job.detail()).append('\n').append(job.logTail() == null ? "" : job.logTail()).append('\n');
      }
    }
    return AuthorPrompt.tail(b.toString(), settings.feedbackLines(), settings.feedbackBytes());
  }

  private Effect<Event, State> onRunPolled(State state, RunPolled polled) {
    busy = false;
    var last = state.last();
    if (last == null || last.n() != polled.attempt() || last.testStatus() != null) {
      return Effect().none();
    }
    if (polled.error() != null) {
      return failEffect("the feature could not be read while attempt " + polled.attempt() + " was tested: "
          + polled.error());
    }
    if (polled.status() == null) {
      timers.startSingleTimer(new Tick(polled.attempt()), settings.pollInterval());
      return Effect().none();
    }
    int n = polled.attempt();
    Instant now = Instant.now();
    var tested = new AttemptTested(n, polled.runId(), polled.status(), polled.detail(), polled.feedback(), now);
    if (polled.status().equals("passed")) {
      return Effect().persist(List.of(tested, new AuthoringPassed(n, last.revision(), now)))
          .thenRun(s -> {
            withMdc(() -> log.info("author of feature {}: attempt {} passed at revision {}", featureId, n,
                PipelineRun.shortRev(last.revision())));
            news(s, n + ":tested", prefix(s, n) + "tests passed (" + polled.detail() + ")");
            if (!settings.autodeploy()) {
              news(s, "approve", "Feature #" + featureId + " " + s.name() + " passed its tests at revision "
                  + PipelineRun.shortRev(last.revision()) + " and waits for approval: an admin says `deploy "
                  + featureId + "` (then yes), or POST :5010/api/features/deploy {\"feature_id\":\"" + featureId
                  + "\"}. Then: !" + s.command());
            }
          })
          .thenRun(this::step);
    }
    return Effect().persist(tested)
        .thenRun(s -> {
          withMdc(() -> log.info("author of feature {}: attempt {} {} ({})", featureId, n, polled.status(),
              polled.detail()));
          news(s, n + ":tested", prefix(s, n) + "tests " + polled.status() + " (" + polled.detail() + ")"
              + (polled.feedback() == null || polled.feedback().isBlank() ? ""
              : ": " + oneLine(AuthorPrompt.tail(polled.feedback(), 3, 300), 300)));
        })
        .thenRun(this::step);
  }

  // ---------------------------------------------------------------- deploy

  private void deploy(State state) {
    busy = true;
    String revision = state.passedRevision();
    context.pipeToSelf(feature().<Feature.DeployReply>ask(
            reply -> new Feature.Deploy(revision, null, BY + " (autodeploy)", reply), ASK),
        (reply, error) -> new DeployAnswered(revision, state.command(),
            error != null ? Failures.message(error) : reply.refused() == null ? null : detail(reply.refused())));
  }

  private Effect<Event, State> onDeployAnswered(State state, DeployAnswered answer) {
    busy = false;
    if (state.autoDeployTried()) {
      return Effect().none();
    }
    return Effect().persist(new AutoDeployTried(answer.revision(), answer.problem(), Instant.now()))
        .thenRun(s -> news(s, "deployed", answer.problem() == null
            ? "Feature #" + featureId + " " + s.name() + " is deployed (HEYKEN_AUTODEPLOY): try !" + s.command()
            : "Feature #" + featureId + " " + s.name() + " passed, but autodeploy was refused: " + answer.problem()
                + ". An admin can deploy it: deploy " + featureId))
        .thenRun(this::step);
  }

  // ---------------------------------------------------------------- helpers

  /** A stop decided outside a command handler: recorded by the next command. */
  private void fail(String reason) {
    busy = true;
    context.getSelf().tell(new FailNow(reason));
  }

  record FailNow(String reason) implements Command {}

  private Effect<Event, State> onFailNow(State state, FailNow failNow) {
    busy = false;
    return failEffect(failNow.reason());
  }

  private Effect<Event, State> failEffect(String reason) {
    return Effect().persist(new AuthoringFailed(reason, Instant.now()))
        .thenRun(s -> {
          withMdc(() -> log.warn("author of feature {} stopped: {}", featureId, reason));
          news(s, "failed", "Feature #" + featureId + " " + s.name() + " failed: " + reason);
        })
        .thenRun(this::step);
  }

  private Effect<Event, State> retryLater(int attempt, String what, String error) {
    withMdc(() -> log.warn("author of feature {}: {} of attempt {} failed for now ({}); retrying", featureId, what,
        attempt, error));
    timers.startSingleTimer(new Tick(attempt), settings.pollInterval().multipliedBy(2));
    return Effect().none();
  }

  /** A refusal of the feature as the loop records and announces it: the API's detail. */
  private static String detail(Feature.Refusal refused) {
    return FeatureApi.problem(refused).detail();
  }

  private static boolean isTransient(String error) {
    return error.contains("AskTimeout") || error.contains("timed out") || error.contains("did not answer");
  }

  private org.apache.pekko.cluster.sharding.typed.javadsl.EntityRef<Feature.Command> feature() {
    return ClusterSharding.get(context.getSystem()).entityRefFor(Feature.ENTITY_KEY, featureId);
  }

  private String prefix(State s, int n) {
    return "Feature #" + featureId + " " + s.name() + ", attempt " + n + "/" + s.maxAttempts() + ": ";
  }

  private void news(State s, String key, String text) {
    ChatNews.get(context.getSystem()).publish(ChatNews.SANDBOX, text, "author:" + featureId + ":" + key);
  }

  private static String oneLine(String s, int max) {
    String t = s.replaceAll("\\s+", " ").strip();
    return t.length() > max ? t.substring(0, max) + "…" : t;
  }

  private void passivate() {
    if (shard != null) {
      shard.tell(new ClusterSharding.Passivate<>(context.getSelf()));
    }
  }

  private void withMdc(Runnable r) {
    MDC.put("feature", featureId);
    try {
      r.run();
    } finally {
      MDC.remove("feature");
    }
  }

  @Override
  public EventHandler<State, Event> eventHandler() {
    return newEventHandlerBuilder().forAnyState().onAnyEvent(State::apply);
  }
}
