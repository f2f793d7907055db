package heyken.actors.upgrade;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import heyken.actors.support.TestStore;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Predicate;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.persistence.testkit.javadsl.EventSourcedBehaviorTestKit;
import org.apache.pekko.persistence.typed.PersistenceId;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The upgrade's rules: one at a time, steps in order, refused before a restart, rolled back after, survives restart. */
class UpgradeTest {

  private static TestStore store;
  private static ActorTestKit testKit;
  private static int n;

  static final BuildVersion OLD = new BuildVersion("aaaa", false, "2026-12-06T20:00:00Z", "1.7.0");
  static final BuildVersion NEW = new BuildVersion("bbbb", false, "2026-12-06T21:00:00Z", "1.7.0");

  /** Answers each step from a table the test fills; records what was asked (a test double of UpgradeRuntime). */
  static final class FakeSteps implements Upgrade.Steps {
    volatile boolean acting = true;
    final Map<String, CompletableFuture<Upgrade.StepResult>> results = new ConcurrentHashMap<>();
    final List<String> calls = new CopyOnWriteArrayList<>();
    final List<String> news = new CopyOnWriteArrayList<>();

    CompletableFuture<Upgrade.StepResult> result(String step) {
      return results.computeIfAbsent(step, s -> CompletableFuture.completedFuture(
          s.equals(Upgrade.BUILD) ? Upgrade.StepResult.built("built", "BUILD OK", "/jars/new.jar", NEW)
              : Upgrade.StepResult.ok(s + " ok")));
    }

    @Override
    public boolean acting() {
      return acting;
    }

    @Override
    public CompletionStage<String> checkFence() {
      return CompletableFuture.completedFuture(acting ? null : "not active");
    }

    @Override
    public CompletionStage<Upgrade.Preparation> prepare(String upgradeId, String ref, String jarPath) {
      calls.add("prepare " + (ref != null ? ref : jarPath));
      if ("unknown".equals(ref)) {
        return CompletableFuture.failedFuture(new Upgrade.Refused(Upgrade.Refusal.unknownRef("unknown", "/repo")));
      }
      return CompletableFuture.completedFuture(new Upgrade.Preparation("/jars/old.jar", OLD, 2, 1, List.of("store")));
    }

    @Override
    public CompletionStage<Upgrade.StepResult> build(Upgrade.Run run) {
      calls.add("build");
      return result(Upgrade.BUILD);
    }

    @Override
    public CompletionStage<Upgrade.StepResult> check(Upgrade.Run run) {
      calls.add("check " + run.newJar());
      return result(Upgrade.CHECK);
    }

    @Override
    public CompletionStage<Upgrade.StepResult> restart(Upgrade.Run run, int core, String jar, BuildVersion version) {
      calls.add("restart " + core + " " + jar);
      return result(core == run.firstCore() ? Upgrade.RESTART_STANDBY : Upgrade.RESTART_OTHER);
    }

    @Override
    public CompletionStage<Upgrade.StepResult> switchTo(Upgrade.Run run, int core) {
      calls.add("switch " + core);
      return result(Upgrade.SWITCH);
    }

    @Override
    public CompletionStage<Upgrade.StepResult> verify(Upgrade.Run run, Instant windowStart, Instant windowEnd) {
      calls.add("verify " + Duration.between(windowStart, windowEnd).toSeconds());
      return result(Upgrade.VERIFY);
    }

    @Override
    public CompletionStage<Upgrade.StepResult> restore(Upgrade.Run run) {
      calls.add("restore");
      return result(Upgrade.RESTORE);
    }

    @Override
    public Duration verificationWindow() {
      return Duration.ofSeconds(180);
    }

    @Override
    public void announce(String text, String key) {
      news.add(text);
    }
  }

  @BeforeAll
  static void start() {
    store = new TestStore();
    testKit = ActorTestKit.create("upgrade-test", EventSourcedBehaviorTestKit.config().withFallback(store.config("")));
  }

  @AfterAll
  static void stop() {
    testKit.shutdownTestKit();
    store.close();
  }

  private FakeSteps steps;
  private EventSourcedBehaviorTestKit<Upgrade.Command, Upgrade.Event, Upgrade.State> kit;

  @BeforeEach
  void fresh() {
    steps = new FakeSteps();
    kit = EventSourcedBehaviorTestKit.create(testKit.system(),
        Upgrade.create(steps, PersistenceId.ofUniqueId("upgrade-test-" + (++n))));
  }

  private Upgrade.StartOutcome start(String ref, String jar) {
    var probe = testKit.<Upgrade.StartOutcome>createTestProbe();
    kit.runCommand(new Upgrade.Start(ref, jar, "chat:u-admin", probe.ref()));
    return probe.receiveMessage(Duration.ofSeconds(10));
  }

  private Upgrade.Run awaitRun(String what, Predicate<Upgrade.Run> accept) {
    long deadline = System.nanoTime() + Duration.ofSeconds(15).toNanos();
    Upgrade.Run last = null;
    while (System.nanoTime() < deadline) {
      last = kit.getState().current();
      if (last != null && accept.test(last)) {
        return last;
      }
      try {
        Thread.sleep(20);
      } catch (InterruptedException e) {
        throw new AssertionError(e);
      }
    }
    throw new AssertionError("timed out waiting for " + what + "; last: " + last);
  }

  private static List<String> stepNames(Upgrade.Run run) {
    return run.steps().stream().map(s -> s.name() + ":" + s.state()).toList();
  }

  @Test
  void aPassingUpgradeRunsEveryStepInOrderAndCommits() {
    var outcome = start("main", null);
    assertNull(outcome.problem());
    assertNotNull(outcome.accepted().id());
    var run = awaitRun("committed", r -> r.state().equals("committed"));
    assertEquals(List.of("build:ok", "check:ok", "restart-standby:ok", "switch:ok", "verify:ok", "restart-other:ok"),
        stepNames(run));
    assertEquals(NEW, run.newVersion());
    assertEquals(List.of("prepare main", "build", "check /jars/new.jar", "restart 2 /jars/new.jar", "switch 2",
        "verify 180", "restart 1 /jars/new.jar"), steps.calls);
    assertEquals("chat:u-admin", run.requestedBy());
    assertTrue(steps.news.stream().anyMatch(t -> t.contains("committed")), steps.news.toString());
    assertEquals("BUILD OK", run.steps().get(0).tail());
  }

  @Test
  void aSecondUpgradeWhileOneRunsIsRefusedWith409() {
    steps.results.put(Upgrade.BUILD, new CompletableFuture<>());
    assertNull(start("main", null).problem());
    var second = start("other", null);
    assertEquals(409, second.problem().status());
    assertEquals("upgrade_running", second.problem().error());
  }

  @Test
  void exactlyOneOfRefAndJarIsAccepted() {
    assertEquals(400, start(null, null).problem().status());
    assertEquals(400, start("main", "/x.jar").problem().status());
    assertEquals("invalid_ref", start("--upload-pack=evil", null).problem().error());
    assertNull(kit.getState().current());
  }

  @Test
  void anUnknownRefIsRefusedBeforeAnythingIsRecorded() {
    var outcome = start("unknown", null);
    assertEquals(new Upgrade.Refusal(Upgrade.Refusal.Kind.UNKNOWN_REF, "unknown", null, "/repo", null, null, null, null,
        null, null, null, null), outcome.refused(), "the refusal in the upgrade's terms");
    assertEquals(400, outcome.problem().status());
    assertEquals("unknown_ref", outcome.problem().error());
    assertEquals("no commit 'unknown' in /repo (git -C /repo branch -a lists the branches)", outcome.problem().detail());
    assertNull(kit.getState().current());
  }

  @Test
  void aFailedBuildEndsTheUpgradeAndRestartsNothing() {
    steps.results.put(Upgrade.BUILD, CompletableFuture.completedFuture(
        Upgrade.StepResult.failed("the build or its unit tests failed (exit 1)", "[ERROR] Tests run: 3, Failures: 1")));
    start("main", null);
    var run = awaitRun("failed", r -> r.state().equals("failed"));
    assertEquals(List.of("build:failed"), stepNames(run));
    assertTrue(run.reason().contains("unit tests failed"), run.reason());
    assertTrue(steps.calls.stream().noneMatch(c -> c.startsWith("restart") || c.startsWith("switch")), steps.calls
        .toString());
  }

  @Test
  void aFailedCompatibilityCheckRestartsNothing() {
    steps.results.put(Upgrade.CHECK, CompletableFuture.completedFuture(
        Upgrade.StepResult.failed("incompatible serializer bindings")));
    start(null, "/some/heyken-core.jar");
    var run = awaitRun("failed", r -> r.state().equals("failed"));
    assertEquals(List.of("build:ok", "check:failed"), stepNames(run));
    assertTrue(steps.calls.stream().noneMatch(c -> c.startsWith("restart") || c.startsWith("switch")));
  }

  @Test
  void aFailureInTheVerificationWindowRollsBack() {
    steps.results.put(Upgrade.VERIFY, CompletableFuture.completedFuture(
        Upgrade.StepResult.failed("the bot did not answer")));
    start("main", null);
    var run = awaitRun("rolled back", r -> r.state().equals("rolled_back"));
    assertEquals("rollback", run.phase());
    assertEquals(List.of("build:ok", "check:ok", "restart-standby:ok", "switch:ok", "verify:failed", "restore:ok"),
        stepNames(run));
    assertTrue(run.reason().contains("the bot did not answer"), run.reason());
    assertTrue(steps.news.stream().anyMatch(t -> t.contains("rolled back")), steps.news.toString());
  }

  @Test
  void aStandbyThatNeverBecomesReadyRollsBack() {
    steps.results.put(Upgrade.RESTART_STANDBY, CompletableFuture.completedFuture(
        Upgrade.StepResult.failed("core 2 did not become Up and ready")));
    start("main", null);
    var run = awaitRun("rolled back", r -> r.state().equals("rolled_back"));
    assertTrue(steps.calls.contains("restore"));
    assertTrue(steps.calls.stream().noneMatch(c -> c.startsWith("switch")));
  }

  @Test
  void aRollbackThatKeepsFailingEndsAfterThreeAttempts() {
    steps.results.put(Upgrade.VERIFY, CompletableFuture.completedFuture(Upgrade.StepResult.failed("5xx")));
    steps.results.put(Upgrade.RESTORE, CompletableFuture.completedFuture(Upgrade.StepResult.failed("core 2 down")));
    start("main", null);
    var run = awaitRun("failed", r -> r.state().equals("failed"));
    assertEquals(3, run.steps().stream().filter(s -> s.name().equals(Upgrade.RESTORE)).count());
    assertTrue(run.reason().contains("rollback did not complete"), run.reason());
  }

  @Test
  void aPendingHandOverIsNotRecordedAndRunsAgainOnTheNextIncarnation() {
    steps.results.put(Upgrade.SWITCH, CompletableFuture.completedFuture(Upgrade.StepResult.pending("under way")));
    start("main", null);
    awaitRun("switch started", r -> r.last() != null && r.last().name().equals(Upgrade.SWITCH));
    assertEquals("running", kit.getState().current().last().state());
    steps.results.put(Upgrade.SWITCH, CompletableFuture.completedFuture(Upgrade.StepResult.ok("core 2 is active")));
    kit.restart();
    var run = awaitRun("committed", r -> r.state().equals("committed"));
    assertTrue(steps.calls.stream().filter(c -> c.equals("switch 2")).count() >= 2, steps.calls.toString());
    assertEquals("switch:ok", stepNames(run).get(3));
  }

  @Test
  void aRestartContinuesFromTheLastRecordedStep() {
    steps.results.put(Upgrade.VERIFY, new CompletableFuture<>());
    start("main", null);
    awaitRun("verify started", r -> r.last() != null && r.last().name().equals(Upgrade.VERIFY));
    var startedAt = kit.getState().current().last().startedAt();
    steps.results.put(Upgrade.VERIFY, CompletableFuture.completedFuture(
        Upgrade.StepResult.failed("the upgraded core 2 was lost in the verification window")));
    kit.restart();
    var run = awaitRun("rolled back", r -> r.state().equals("rolled_back"));
    assertEquals(startedAt, run.steps().get(4).startedAt(), "the window keeps its recorded start");
    assertEquals(1, steps.calls.stream().filter(c -> c.equals("build")).count(), "finished steps are not run again");
  }

  @Test
  void aFencedResultIsNotRecorded() {
    steps.results.put(Upgrade.CHECK, CompletableFuture.completedFuture(Upgrade.StepResult.fencedOut("superseded")));
    start("main", null);
    awaitRun("check started", r -> r.last() != null && r.last().name().equals(Upgrade.CHECK));
    steps.acting = false;
    assertEquals("running", kit.getState().current().last().state());
    assertEquals(409, start("other", null).problem().status(), "it still runs: the active core's singleton goes on");
  }

  @Test
  void aStandbyCoreRefusesToStart() {
    steps.acting = false;
    var outcome = start("main", null);
    assertEquals(503, outcome.problem().status());
    assertEquals("not_active", outcome.problem().error());
  }
}
