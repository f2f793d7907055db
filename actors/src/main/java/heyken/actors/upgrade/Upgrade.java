package heyken.actors.upgrade;

import com.fasterxml.jackson.annotation.JsonCreator;
import heyken.protocol.CborSerializable;
import heyken.protocol.api.Problem;
import heyken.protocol.api.UpgradeView;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.SupervisorStrategy;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
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
 * The upgrade of Heyken itself, as one journaled process: a cluster singleton (it runs on the active core and moves
 * with it) that builds the new jar, checks it against the journal and the cluster protocol, restarts the standby on
 * it, hands over, watches the new version for a verification window and then upgrades the other core, or rolls back.
 * Every step is an event written under the active core's epoch (the {@link Steps} check the fence before a result is
 * recorded); a singleton that starts on the survivor of a crash continues from the last recorded step, re-running a
 * step that had started (each step is idempotent: it looks at what the cores run before it acts).
 */
public final class Upgrade extends EventSourcedBehavior<Upgrade.Command, Upgrade.Event, Upgrade.State> {

  public static final PersistenceId PERSISTENCE_ID = PersistenceId.ofUniqueId("upgrade");
  public static final String TAG = "upgrade";
  private static final Logger log = LoggerFactory.getLogger(Upgrade.class);
  private static final int HISTORY = 10;
  private static final int RESTORE_ATTEMPTS = 3;

  /** The steps of an upgrade in order; a rollback runs {@link #RESTORE}. */
  public static final String BUILD = "build";
  public static final String CHECK = "check";
  public static final String RESTART_STANDBY = "restart-standby";
  public static final String SWITCH = "switch";
  public static final String VERIFY = "verify";
  public static final String RESTART_OTHER = "restart-other";
  public static final String RESTORE = "restore";
  static final List<String> FORWARD = List.of(BUILD, CHECK, RESTART_STANDBY, SWITCH, VERIFY, RESTART_OTHER);

  // ---------------------------------------------------------------- protocol

  public sealed interface Command extends CborSerializable {}

  /** Starts an upgrade to a git ref or a built jar (exactly one); 409 while one runs. */
  public record Start(String ref, String jarPath, String requestedBy, ActorRef<StartOutcome> replyTo)
      implements Command {}

  /**
   * The accepted upgrade, or why not. The request may cross cores of two versions (an upgrade is exactly when they
   * differ): for one release the refusal is written twice, as {@code refused} (its kind and facts) and as the API's
   * {@code problem} an older route reads; a reader takes {@code refused} when present ({@link UpgradeApi#problem}).
   * Once every running core is of the release after issue 15's, {@code problem} can go.
   */
  public record StartOutcome(UpgradeView.Accepted accepted, Problem problem, Refusal refused)
      implements CborSerializable {

    static StartOutcome accepted(UpgradeView.Accepted accepted) {
      return new StartOutcome(accepted, null, null);
    }

    static StartOutcome refused(Refusal refused) {
      return new StartOutcome(null, UpgradeApi.problem(refused), refused);
    }
  }

  /**
   * Why an upgrade was not started, in the upgrade's terms: the kind and the facts of that kind ({@code ref} and
   * {@code jarPath} as asked; {@code where} the repository, the jars' folder, the standby's management URL or the
   * folder that is no repository; {@code core}/{@code peer} and their versions; the running upgrade's id, requester
   * and step; {@code detail} the fence's or the failure's own words). {@link UpgradeApi#problem} makes the API's
   * answer of it.
   */
  public record Refusal(Kind kind, String ref, String jarPath, String where, Integer core, Integer peer,
      String version, String peerVersion, String runId, String requestedBy, String step, String detail)
      implements CborSerializable {

    public enum Kind {
      INVALID_UPGRADE, INVALID_REF, UPGRADE_RUNNING, HANDING_OVER, FENCED, NOT_PREPARED, UNKNOWN_REF, UNKNOWN_JAR,
      NOT_A_JAR, STANDBY_NOT_UP, VERSIONS_DIFFER, JAR_NOT_KEPT, NO_REPOSITORY
    }

    public static Refusal of(Kind kind) {
      return new Refusal(kind, null, null, null, null, null, null, null, null, null, null, null);
    }

    public static Refusal because(Kind kind, String detail) {
      return new Refusal(kind, null, null, null, null, null, null, null, null, null, null, detail);
    }

    public static Refusal badRef(String ref) {
      return new Refusal(Kind.INVALID_REF, ref, null, null, null, null, null, null, null, null, null, null);
    }

    public static Refusal unknownRef(String ref, String repository) {
      return new Refusal(Kind.UNKNOWN_REF, ref, null, repository, null, null, null, null, null, null, null, null);
    }

    public static Refusal unknownJar(String jarPath) {
      return new Refusal(Kind.UNKNOWN_JAR, null, jarPath, null, null, null, null, null, null, null, null, null);
    }

    public static Refusal at(Kind kind, String where, String detail) {
      return new Refusal(kind, null, null, where, null, null, null, null, null, null, null, detail);
    }

    /** The standby is not up and ready; {@code readyUrl} null when it did not even say which version it runs. */
    public static Refusal standbyNotUp(int peer, String readyUrl) {
      return new Refusal(Kind.STANDBY_NOT_UP, null, null, readyUrl, null, peer, null, null, null, null, null, null);
    }

    public static Refusal versionsDiffer(int core, String version, int peer, String peerVersion) {
      return new Refusal(Kind.VERSIONS_DIFFER, null, null, null, core, peer, version, peerVersion, null, null, null,
          null);
    }

    static Refusal running(String runId, String requestedBy, String step) {
      return new Refusal(Kind.UPGRADE_RUNNING, null, null, null, null, null, null, null, runId, requestedBy, step,
          null);
    }
  }

  public record Get(ActorRef<UpgradeView.Status> replyTo) implements Command {}

  /** Sent by the singleton manager on hand-over. */
  public enum Stop implements Command {
    INSTANCE
  }

  enum Tick implements Command {
    INSTANCE
  }

  record Prepared(String upgradeId, Start start, Preparation preparation, Refusal refused) implements Command {}

  record StepDone(String upgradeId, String step, Instant stepStartedAt, StepResult result) implements Command {}

  record DecisionChecked(String upgradeId, Event event, String refusal) implements Command {}

  /** What a started upgrade knows before its first step: the running jar and version, the order of the cores. */
  public record Preparation(String oldJar, BuildVersion oldVersion, int firstCore, int secondCore,
      List<String> baseline) implements CborSerializable {}

  /**
   * The outcome of one step. {@code ok}: done; otherwise {@code reason} says why not. {@code pending}: the step
   * cannot finish on this core (a hand-over is under way): nothing is recorded, the singleton's next incarnation
   * runs it again. {@code fenced}: this core is no longer active; nothing is recorded.
   */
  public record StepResult(boolean ok, boolean pending, boolean fenced, String detail, String reason, String tail,
      String newJar, BuildVersion newVersion) implements CborSerializable {

    public static StepResult ok(String detail) {
      return new StepResult(true, false, false, detail, null, null, null, null);
    }

    public static StepResult ok(String detail, String tail) {
      return new StepResult(true, false, false, detail, null, tail, null, null);
    }

    public static StepResult built(String detail, String tail, String jar, BuildVersion version) {
      return new StepResult(true, false, false, detail, null, tail, jar, version);
    }

    public static StepResult failed(String reason) {
      return new StepResult(false, false, false, null, reason, null, null, null);
    }

    public static StepResult failed(String reason, String tail) {
      return new StepResult(false, false, false, null, reason, tail, null, null);
    }

    public static StepResult pending(String detail) {
      return new StepResult(false, true, false, detail, null, null, null, null);
    }

    public static StepResult fencedOut(String detail) {
      return new StepResult(false, false, true, detail, null, null, null, null);
    }
  }

  /**
   * The side effects of the steps, done by {@code UpgradeRuntime} on the blocking dispatcher. Each completes with a
   * {@link StepResult} (never exceptionally) after it checked this core's epoch in the fence.
   */
  public interface Steps {
    /** Whether this core is the active one now (the singleton waits otherwise). */
    boolean acting();

    /** Completes with null when this core's epoch is still the newest, else with why not. */
    CompletionStage<String> checkFence();

    /** Checks a request before anything is recorded: the ref or jar exists, both cores up on one version. */
    CompletionStage<Preparation> prepare(String upgradeId, String ref, String jarPath);

    CompletionStage<StepResult> build(Run run);

    CompletionStage<StepResult> check(Run run);

    /** Makes {@code core} run {@code jar} (restarting it as standby when it does not already) and waits until Up. */
    CompletionStage<StepResult> restart(Run run, int core, String jar, BuildVersion version);

    /** Hands the active role to {@code core} (pending while the hand-over runs; ok once this core is it). */
    CompletionStage<StepResult> switchTo(Run run, int core);

    /** Watches the new version until {@code windowEnd}; fails at the first check that does not pass. */
    CompletionStage<StepResult> verify(Run run, Instant windowStart, Instant windowEnd);

    /** Brings both cores back to the old jar (switching away from a core that runs the new one first). */
    CompletionStage<StepResult> restore(Run run);

    Duration verificationWindow();

    /** A line for heyken-system; {@code key} makes a repeat a no-op. */
    void announce(String text, String key);
  }

  /** Thrown into a {@link Preparation} stage for a request that is refused (a 4xx/5xx for the caller). */
  public static final class Refused extends RuntimeException {
    public final transient Refusal refusal;

    public Refused(Refusal refusal) {
      super(UpgradeApi.problem(refusal).detail());
      this.refusal = refusal;
    }
  }

  // ---------------------------------------------------------------- events and state

  public sealed interface Event extends CborSerializable {
    String id();

    Instant at();
  }

  public record UpgradeRequested(String id, String ref, String jarPath, String requestedBy, String oldJar,
      BuildVersion oldVersion, int firstCore, int secondCore, List<String> baseline, Instant at) implements Event {}

  public record StepStarted(String id, String step, Integer core, Instant at) implements Event {}

  public record StepSucceeded(String id, String step, String detail, String tail, String newJar,
      BuildVersion newVersion, Instant at) implements Event {}

  public record StepFailed(String id, String step, String reason, String tail, Instant at) implements Event {}

  public record RollbackStarted(String id, String reason, String requestedBy, Instant at) implements Event {}

  public record UpgradeCommitted(String id, String version, String requestedBy, Instant at) implements Event {}

  public record UpgradeRolledBack(String id, String reason, String requestedBy, Instant at) implements Event {}

  public record UpgradeFailed(String id, String reason, String requestedBy, Instant at) implements Event {}

  public record StepRecord(String name, Integer core, String state, Instant startedAt, Instant finishedAt,
      String detail, String reason, String tail) implements CborSerializable {}

  /** One upgrade. {@code state}: running, committed, failed, rolled_back; {@code phase}: forward or rollback. */
  public record Run(String id, String ref, String jarPath, String requestedBy, Instant startedAt, String oldJar,
      BuildVersion oldVersion, String newJar, BuildVersion newVersion, int firstCore, int secondCore,
      List<String> baseline, String state, String phase, List<StepRecord> steps, String reason, Instant finishedAt)
      implements CborSerializable {

    @JsonCreator
    public Run {
      steps = steps == null ? List.of() : List.copyOf(steps);
      baseline = baseline == null ? List.of() : List.copyOf(baseline);
    }

    public boolean running() {
      return "running".equals(state);
    }

    public StepRecord last() {
      return steps.isEmpty() ? null : steps.get(steps.size() - 1);
    }

    long restores() {
      return steps.stream().filter(s -> s.name().equals(RESTORE)).count();
    }

    Run with(List<StepRecord> nextSteps) {
      return new Run(id, ref, jarPath, requestedBy, startedAt, oldJar, oldVersion, newJar, newVersion, firstCore,
          secondCore, baseline, state, phase, nextSteps, reason, finishedAt);
    }

    Run finished(String endState, String why, Instant at) {
      return new Run(id, ref, jarPath, requestedBy, startedAt, oldJar, oldVersion, newJar, newVersion, firstCore,
          secondCore, baseline, endState, phase, steps, why, at);
    }

    Run apply(Event event) {
      var next = new ArrayList<>(steps);
      if (event instanceof StepStarted s) {
        next.add(new StepRecord(s.step(), s.core(), "running", s.at(), null, null, null, null));
        return with(next);
      }
      if (event instanceof StepSucceeded s) {
        var l = last();
        next.set(next.size() - 1, new StepRecord(l.name(), l.core(), "ok", l.startedAt(), s.at(), s.detail(), null,
            s.tail()));
        return new Run(id, ref, jarPath, requestedBy, startedAt, oldJar, oldVersion,
            s.newJar() != null ? s.newJar() : newJar, s.newVersion() != null ? s.newVersion() : newVersion,
            firstCore, secondCore, baseline, state, phase, next, reason, finishedAt);
      }
      if (event instanceof StepFailed f) {
        var l = last();
        next.set(next.size() - 1, new StepRecord(l.name(), l.core(), "failed", l.startedAt(), f.at(), null,
            f.reason(), f.tail()));
        return with(next);
      }
      if (event instanceof RollbackStarted r) {
        return new Run(id, ref, jarPath, requestedBy, startedAt, oldJar, oldVersion, newJar, newVersion, firstCore,
            secondCore, baseline, state, "rollback", steps, r.reason(), finishedAt);
      }
      if (event instanceof UpgradeCommitted c) {
        return finished("committed", null, c.at());
      }
      if (event instanceof UpgradeRolledBack r) {
        return finished("rolled_back", r.reason(), r.at());
      }
      if (event instanceof UpgradeFailed f) {
        return finished("failed", f.reason(), f.at());
      }
      throw new IllegalArgumentException("not an event of a running upgrade: " + event);
    }
  }

  /** The upgrade that runs or ran last ({@code current}), and the ones before it, newest first. */
  public record State(Run current, List<Run> history) implements CborSerializable {

    @JsonCreator
    public State {
      history = history == null ? List.of() : List.copyOf(history);
    }

    static State empty() {
      return new State(null, List.of());
    }

    public boolean running() {
      return current != null && current.running();
    }

    State apply(Event event) {
      if (event instanceof UpgradeRequested r) {
        var older = new ArrayList<Run>();
        if (current != null) {
          older.add(current);
        }
        older.addAll(history);
        var run = new Run(r.id(), r.ref(), r.jarPath(), r.requestedBy(), r.at(), r.oldJar(), r.oldVersion(), null,
            null, r.firstCore(), r.secondCore(), r.baseline(), "running", "forward", List.of(), null, null);
        return new State(run, older.subList(0, Math.min(HISTORY, older.size())));
      }
      if (current == null || !current.id().equals(event.id())) {
        return this;
      }
      return new State(current.apply(event), history);
    }
  }

  /**
   * What the process does next, from the recorded state alone: the event to record, or null when a step runs (or
   * nothing runs). A pure function, so the survivor of a crash decides exactly as the core that died would have.
   */
  static Event nextDecision(Run run, Instant now) {
    if (run == null || !run.running()) {
      return null;
    }
    var last = run.last();
    if ("rollback".equals(run.phase())) {
      if (last == null || !last.name().equals(RESTORE)) {
        return new StepStarted(run.id(), RESTORE, null, now);
      }
      return switch (last.state()) {
        case "ok" -> new UpgradeRolledBack(run.id(), run.reason(), run.requestedBy(), now);
        case "failed" -> run.restores() < RESTORE_ATTEMPTS ? new StepStarted(run.id(), RESTORE, null, now)
            : new UpgradeFailed(run.id(), "the rollback did not complete after " + RESTORE_ATTEMPTS + " attempts ("
                + last.reason() + "); the upgrade failed because: " + run.reason() + ". Check scripts/status.sh; a "
                + "core on the wrong jar is fixed by writing the old jar's path into data/run/core-N.jar and "
                + "restarting that core", run.requestedBy(), now);
        default -> null;
      };
    }
    if (last == null) {
      return new StepStarted(run.id(), BUILD, null, now);
    }
    return switch (last.state()) {
      case "ok" -> {
        int i = FORWARD.indexOf(last.name());
        if (i == FORWARD.size() - 1) {
          yield new UpgradeCommitted(run.id(), run.newVersion() == null ? null : run.newVersion().label(),
              run.requestedBy(), now);
        }
        String step = FORWARD.get(i + 1);
        yield new StepStarted(run.id(), step, coreOf(run, step), now);
      }
      case "failed" -> last.name().equals(BUILD) || last.name().equals(CHECK)
          ? new UpgradeFailed(run.id(), last.reason(), run.requestedBy(), now)
          : new RollbackStarted(run.id(), last.name() + " failed: " + last.reason(), run.requestedBy(), now);
      default -> null;
    };
  }

  private static Integer coreOf(Run run, String step) {
    return switch (step) {
      case RESTART_STANDBY, SWITCH, VERIFY -> run.firstCore();
      case RESTART_OTHER -> run.secondCore();
      default -> null;
    };
  }

  // ---------------------------------------------------------------- behaviour

  public static Behavior<Command> create(Steps steps) {
    return create(steps, PERSISTENCE_ID);
  }

  static Behavior<Command> create(Steps steps, PersistenceId persistenceId) {
    return Behaviors.setup(context -> Behaviors.withTimers(timers ->
        new Upgrade(context, timers, steps, persistenceId)));
  }

  private final ActorContext<Command> context;
  private final TimerScheduler<Command> timers;
  private final Steps steps;
  // not state: what this incarnation is doing now (a step, or a decision being checked in the fence)
  private String inFlight;

  private Upgrade(ActorContext<Command> context, TimerScheduler<Command> timers, Steps steps,
      PersistenceId persistenceId) {
    super(persistenceId, SupervisorStrategy.restartWithBackoff(Duration.ofMillis(200), Duration.ofSeconds(5), 0.2));
    this.context = context;
    this.timers = timers;
    this.steps = steps;
  }

  @Override
  public State emptyState() {
    return State.empty();
  }

  @Override
  public RetentionCriteria retentionCriteria() {
    // the events stay: the audit shows every upgrade and rollback
    return RetentionCriteria.snapshotEvery(100, 2);
  }

  @Override
  public Set<String> tagsFor(Event event) {
    return Set.of(TAG);
  }

  @Override
  public SignalHandler<State> signalHandler() {
    return newSignalHandlerBuilder()
        .onSignal(RecoveryCompleted.instance(), state -> {
          if (state.running()) {
            log.info("upgrade {} continues on this core from its last recorded step ({})", state.current().id(),
                state.current().last() == null ? "none" : state.current().last().name() + " "
                    + state.current().last().state());
          }
          advance(state);
        })
        .build();
  }

  @Override
  public CommandHandler<Command, Event, State> commandHandler() {
    return newCommandHandlerBuilder().forAnyState()
        .onCommand(Start.class, this::onStart)
        .onCommand(Prepared.class, this::onPrepared)
        .onCommand(Get.class, (state, get) -> Effect().reply(get.replyTo(), view(state)))
        .onCommand(Tick.class, (state, tick) -> {
          advance(state);
          return Effect().none();
        })
        .onCommand(StepDone.class, this::onStepDone)
        .onCommand(DecisionChecked.class, this::onDecisionChecked)
        .onCommand(Stop.class, (state, stop) -> Effect().stop())
        .build();
  }

  private Effect<Event, State> onStart(State state, Start start) {
    Refusal refusal = requestRefusal(state, start);
    if (refusal != null) {
      return Effect().reply(start.replyTo(), StartOutcome.refused(refusal));
    }
    String id = newId();
    context.pipeToSelf(steps.prepare(id, blankToNull(start.ref()), blankToNull(start.jarPath())), (prepared, error) -> {
      Throwable cause = error instanceof java.util.concurrent.CompletionException ? error.getCause() : error;
      if (cause == null) {
        return new Prepared(id, start, prepared, null);
      }
      return new Prepared(id, start, null, cause instanceof Refused r ? r.refusal
          : Refusal.because(Refusal.Kind.NOT_PREPARED, cause.getMessage()));
    });
    return Effect().none();
  }

  private Refusal requestRefusal(State state, Start start) {
    boolean hasRef = blankToNull(start.ref()) != null;
    boolean hasJar = blankToNull(start.jarPath()) != null;
    if (hasRef == hasJar) {
      return Refusal.of(Refusal.Kind.INVALID_UPGRADE);
    }
    if (hasRef && !start.ref().strip().matches("[A-Za-z0-9][A-Za-z0-9._/@^~{}-]{0,199}")) {
      return Refusal.badRef(start.ref());
    }
    if (state.running()) {
      return running(state);
    }
    if (!steps.acting()) {
      return Refusal.of(Refusal.Kind.HANDING_OVER);
    }
    return null;
  }

  private static Refusal running(State state) {
    var run = state.current();
    return Refusal.running(run.id(), run.requestedBy(), run.last() == null ? null : run.last().name());
  }

  private Effect<Event, State> onPrepared(State state, Prepared prepared) {
    var start = prepared.start();
    if (prepared.refused() != null) {
      return Effect().reply(start.replyTo(), StartOutcome.refused(prepared.refused()));
    }
    if (state.running()) {
      return Effect().reply(start.replyTo(), StartOutcome.refused(running(state)));
    }
    var p = prepared.preparation();
    var event = new UpgradeRequested(prepared.upgradeId(), blankToNull(start.ref()), blankToNull(start.jarPath()),
        start.requestedBy(),
        p.oldJar(), p.oldVersion(), p.firstCore(), p.secondCore(), p.baseline(), Instant.now());
    return Effect().persist(event).thenRun(s -> {
      log.info("upgrade {} requested by {}: {} (core {} first, now on {})", event.id(), event.requestedBy(),
          event.ref() != null ? "ref " + event.ref() : "jar " + event.jarPath(), event.firstCore(),
          event.oldVersion().label());
      announce(s.current(), event);
      advance(s);
    }).thenReply(start.replyTo(), s -> StartOutcome.accepted(new UpgradeView.Accepted(event.id(), "running",
        "/api/upgrade")));
  }

  /** Decides and starts what comes next; one thing at a time per incarnation. */
  private void advance(State state) {
    if (!state.running() || inFlight != null) {
      return;
    }
    if (!steps.acting()) {
      // a hand-over or failover is under way: the singleton on the active core continues
      timers.startSingleTimer(Tick.INSTANCE, Duration.ofSeconds(1));
      return;
    }
    var run = state.current();
    var last = run.last();
    if (last != null && last.state().equals("running")) {
      execute(run, last);
      return;
    }
    Event decision = nextDecision(run, Instant.now());
    if (decision == null) {
      return;
    }
    inFlight = "decision:" + run.id();
    context.pipeToSelf(steps.checkFence(), (refusal, error) -> new DecisionChecked(run.id(), decision,
        error != null ? String.valueOf(error.getMessage()) : refusal));
  }

  private Effect<Event, State> onDecisionChecked(State state, DecisionChecked checked) {
    inFlight = null;
    if (!state.running() || !state.current().id().equals(checked.upgradeId())) {
      return Effect().none();
    }
    if (checked.refusal() != null) {
      log.warn("upgrade {}: not recording {} ({}); the active core's singleton continues",
          checked.upgradeId(), checked.event().getClass().getSimpleName(), checked.refusal());
      timers.startSingleTimer(Tick.INSTANCE, Duration.ofSeconds(2));
      return Effect().none();
    }
    // decided again from the state as it is now: only the decision that still follows is recorded
    Event again = nextDecision(state.current(), checked.event().at());
    if (again == null || !again.equals(checked.event())) {
      advance(state);
      return Effect().none();
    }
    return Effect().persist(checked.event()).thenRun(s -> {
      log.info("upgrade {}: {}", checked.upgradeId(), describe(checked.event()));
      announce(s.current(), checked.event());
      advance(s);
    });
  }

  private void execute(Run run, StepRecord step) {
    inFlight = "step:" + run.id() + ":" + step.name() + ":" + step.startedAt();
    CompletionStage<StepResult> result = switch (step.name()) {
      case BUILD -> steps.build(run);
      case CHECK -> steps.check(run);
      case RESTART_STANDBY -> steps.restart(run, run.firstCore(), run.newJar(), run.newVersion());
      case SWITCH -> steps.switchTo(run, run.firstCore());
      case VERIFY -> steps.verify(run, step.startedAt(), step.startedAt().plus(steps.verificationWindow()));
      case RESTART_OTHER -> steps.restart(run, run.secondCore(), run.newJar(), run.newVersion());
      case RESTORE -> steps.restore(run);
      default -> java.util.concurrent.CompletableFuture.completedFuture(
          StepResult.failed("unknown step " + step.name()));
    };
    context.pipeToSelf(result, (r, error) -> new StepDone(run.id(), step.name(), step.startedAt(),
        error != null ? StepResult.failed(String.valueOf(error.getMessage())) : r));
  }

  private Effect<Event, State> onStepDone(State state, StepDone done) {
    inFlight = null;
    var run = state.current();
    var last = run == null ? null : run.last();
    if (!state.running() || !run.id().equals(done.upgradeId()) || last == null || !last.state().equals("running")
        || !last.name().equals(done.step()) || !last.startedAt().equals(done.stepStartedAt())) {
      return Effect().none();
    }
    var r = done.result();
    if (r.fenced()) {
      log.warn("upgrade {}: step {} not recorded: {}; the new active core's singleton continues", run.id(),
          done.step(), r.detail());
      timers.startSingleTimer(Tick.INSTANCE, Duration.ofSeconds(2));
      return Effect().none();
    }
    if (r.pending()) {
      log.info("upgrade {}: step {} waits: {}", run.id(), done.step(), r.detail());
      timers.startSingleTimer(Tick.INSTANCE, Duration.ofSeconds(2));
      return Effect().none();
    }
    Instant now = Instant.now();
    Event event = r.ok()
        ? new StepSucceeded(run.id(), done.step(), r.detail(), tail(r.tail()), r.newJar(), r.newVersion(), now)
        : new StepFailed(run.id(), done.step(), r.reason(), tail(r.tail()), now);
    return Effect().persist(event).thenRun(s -> {
      log.info("upgrade {}: {}", run.id(), describe(event));
      announce(s.current(), event);
      advance(s);
    });
  }

  private void announce(Run run, Event event) {
    String text;
    if (event instanceof UpgradeRequested r) {
      text = "Upgrade " + r.id() + " requested by " + r.requestedBy() + ": "
          + (r.ref() != null ? "ref " + r.ref() : "jar " + r.jarPath()) + " (now " + r.oldVersion().label()
          + "). Steps: GET :5021/api/upgrade";
    } else if (event instanceof StepStarted st) {
      text = "Upgrade " + st.id() + ": " + st.step() + (st.core() == null ? "" : " (core " + st.core() + ")")
          + " started" + (st.step().equals(VERIFY) ? ", verification window "
          + steps.verificationWindow().toSeconds() + " s" : "");
    } else if (event instanceof StepSucceeded ok) {
      text = "Upgrade " + ok.id() + ": " + ok.step() + " ok" + (ok.detail() == null ? "" : ": " + ok.detail());
    } else if (event instanceof StepFailed f) {
      text = "Upgrade " + f.id() + ": " + f.step() + " FAILED: " + f.reason();
    } else if (event instanceof RollbackStarted r) {
      text = "Upgrade " + r.id() + ": rolling back to " + run.oldVersion().label() + " because " + r.reason();
    } else if (event instanceof UpgradeCommitted c) {
      text = "Upgrade " + c.id() + " committed: both cores run " + c.version();
    } else if (event instanceof UpgradeRolledBack r) {
      text = "Upgrade " + r.id() + " rolled back: both cores run " + run.oldVersion().label() + " again ("
          + r.reason() + ")";
    } else {
      text = "Upgrade " + event.id() + " failed, no core was changed: " + ((UpgradeFailed) event).reason();
    }
    steps.announce(text, "upgrade:" + event.id() + ":" + event.getClass().getSimpleName() + ":"
        + event.at().toEpochMilli());
  }

  private static String describe(Event event) {
    if (event instanceof StepStarted st) {
      return "step " + st.step() + " started" + (st.core() == null ? "" : " on core " + st.core());
    }
    if (event instanceof StepSucceeded ok) {
      return "step " + ok.step() + " ok" + (ok.detail() == null ? "" : ": " + ok.detail());
    }
    if (event instanceof StepFailed f) {
      return "step " + f.step() + " failed: " + f.reason();
    }
    if (event instanceof RollbackStarted r) {
      return "rollback started: " + r.reason();
    }
    if (event instanceof UpgradeCommitted c) {
      return "committed: " + c.version();
    }
    if (event instanceof UpgradeRolledBack r) {
      return "rolled back: " + r.reason();
    }
    if (event instanceof UpgradeFailed f) {
      return "failed: " + f.reason();
    }
    return event.getClass().getSimpleName();
  }

  private static String tail(String text) {
    if (text == null) {
      return null;
    }
    return text.length() <= 4000 ? text : text.substring(text.length() - 4000);
  }

  private static String blankToNull(String s) {
    return s == null || s.isBlank() ? null : s.strip();
  }

  private static String newId() {
    return "u" + java.time.format.DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss").withZone(java.time.ZoneOffset.UTC)
        .format(Instant.now()) + "-" + Long.toHexString(Double.doubleToLongBits(Math.random())).substring(0, 4);
  }

  /** What chat's {@code upgrade <ref>} does: (ref, requested by) → the bot's answer. */
  public static java.util.function.BiFunction<String, String, CompletionStage<String>> chatStarter(
      ActorRef<Command> upgrade, org.apache.pekko.actor.typed.ActorSystem<?> system) {
    return (ref, by) -> org.apache.pekko.actor.typed.javadsl.AskPattern.<Command, StartOutcome>ask(upgrade,
            reply -> new Start(ref, null, by, reply), Duration.ofSeconds(40), system.scheduler())
        .thenApply(o -> o.problem() != null ? "Refused: " + o.problem().detail()
            : "Upgrade " + o.accepted().id() + " to " + ref + " started: build, compatibility check, standby first. "
                + "Each step is announced in heyken-system; GET :5021/api/upgrade shows them.");
  }

  /** The upgrade's view for the status page (the view without the step details' cost is the same ask). */
  public static java.util.function.Supplier<CompletionStage<UpgradeView.Status>> viewer(ActorRef<Command> upgrade,
      org.apache.pekko.actor.typed.ActorSystem<?> system) {
    return () -> org.apache.pekko.actor.typed.javadsl.AskPattern.ask(upgrade, Get::new, Duration.ofMillis(500),
        system.scheduler());
  }

  // ---------------------------------------------------------------- view

  UpgradeView.Status view(State state) {
    return view(state, steps.verificationWindow());
  }

  public static UpgradeView.Status view(State state, Duration window) {
    var history = state.history().stream().map(Upgrade::summary).toList();
    return new UpgradeView.Status(state.running(), state.current() == null ? null : view(state.current(), window),
        history);
  }

  static UpgradeView view(Run run, Duration window) {
    var steps = run.steps().stream().map(s -> new UpgradeView.Step(s.name(), s.state(), s.core(), str(s.startedAt()),
        str(s.finishedAt()), s.detail(), s.reason(), s.tail())).toList();
    return new UpgradeView(run.id(), run.state(), run.phase(), run.ref(), run.jarPath(), run.requestedBy(),
        str(run.startedAt()), str(run.finishedAt()), run.oldVersion() == null ? null : run.oldVersion().label(),
        run.newVersion() == null ? null : run.newVersion().label(), run.oldJar(), run.newJar(), run.firstCore(),
        window.toSeconds(), run.reason(), steps);
  }

  private static UpgradeView.Summary summary(Run run) {
    return new UpgradeView.Summary(run.id(), run.state(), run.oldVersion() == null ? null : run.oldVersion().label(),
        run.newVersion() == null ? null : run.newVersion().label(), run.requestedBy(), str(run.startedAt()),
        str(run.finishedAt()), run.reason());
  }

  private static String str(Instant at) {
    return at == null ? null : at.toString();
  }

  @Override
  public EventHandler<State, Event> eventHandler() {
    return newEventHandlerBuilder().forAnyState().onAnyEvent(State::apply);
  }
}
