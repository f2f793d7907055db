package heyken.actors.feature;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import heyken.actors.support.TestStore;
import heyken.protocol.api.feature.RunView;
import heyken.sandbox.JobWorkDir;
import heyken.testkit.Await;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.persistence.testkit.javadsl.EventSourcedBehaviorTestKit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The bounds of a test run. Its output: a job that prints more lines than the run may store in the log store has the
 * rest counted, and the run view says its output was cut. Its attempts: a run whose attempts keep losing their core (a pipeline that makes the core run out of memory kills every core
 * that resumes it) is failed after {@code heyken.sandbox.max-lost-attempts} such attempts in a row, with a reason the
 * run view shows, instead of being resumed forever. Restarting the entity in the middle of an attempt is what a core's
 * death looks like to it: the survivor recovers the journal and resumes.
 */
class PipelineRunBoundsTest {

  private static final boolean REQUIRED = "true".equalsIgnoreCase(System.getenv("HEYKEN_REQUIRE_SANDBOX"))
      || "true".equalsIgnoreCase(System.getenv("CI"));
  private static TestStore store;
  private static ActorTestKit testKit;
  private static Path dataDir;
  private static int runs;

  @BeforeAll
  static void start() throws IOException {
    store = new TestStore();
    dataDir = Files.createTempDirectory("heyken-lost-attempts-test-");
    // sandbox jobs run as uid 65534 in work/ below it
    Files.setPosixFilePermissions(dataDir, PosixFilePermissions.fromString("rwx--x--x"));
    testKit = ActorTestKit.create("lost-attempts-test", EventSourcedBehaviorTestKit.config().withFallback(
        store.config("""
            heyken.core.id = 1
            heyken.data-dir = "%s"
            heyken.sandbox.backend = bubblewrap
            heyken.sandbox.max-lost-attempts = 2
            heyken.logs.run-output.max-lines = 50
            """.formatted(dataDir))));
    // a finished run reports to its feature through sharding; this cluster never forms, so the report waits (and is
    // retried) without an answer: the run's own rules are under test here
    Feature.init(testKit.system(), testKit.<heyken.actors.core.DeploymentLedger.Command>createTestProbe().ref());
  }

  @AfterAll
  static void stop() throws IOException {
    if (testKit != null) {
      testKit.shutdownTestKit();
    }
    if (store != null) {
      store.close();
    }
    if (dataDir != null) {
      JobWorkDir.deleteTree(dataDir);
    }
  }

  private static EventSourcedBehaviorTestKit<PipelineRun.Command, PipelineRun.Event, PipelineRun.State> kit() {
    return EventSourcedBehaviorTestKit.create(testKit.system(), PipelineRun.create("lost-" + (++runs)));
  }

  private static RunView view(EventSourcedBehaviorTestKit<PipelineRun.Command, PipelineRun.Event, PipelineRun.State> kit) {
    return kit.<RunView>runCommand(PipelineRun.Get::new).reply();
  }

  private static SandboxRuntime sandbox() {
    var sandbox = SandboxRuntime.get(testKit.system());
    if (!sandbox.backend().availability().available()) {
      String why = "bubblewrap cannot run jobs here: " + sandbox.backend().availability().detail();
      if (REQUIRED) {
        fail("HEYKEN_REQUIRE_SANDBOX=true but " + why);
      }
      org.junit.jupiter.api.Assumptions.assumeTrue(false, why);
    }
    return sandbox;
  }

  /** A run of a new feature whose pipeline file is {@code ciFile}, started. */
  private static EventSourcedBehaviorTestKit<PipelineRun.Command, PipelineRun.Event, PipelineRun.State> started(
      String ciFile) {
    var sandbox = sandbox();
    String feature = "feature-of-run-" + (runs + 1);
    var revision = sandbox.repositories().create(feature, Map.of(PipelineRun.CI_FILE, ciFile), "a pipeline", "test");
    var kit = kit();
    kit.runCommand(new PipelineRun.Start(feature, revision.id(), "test"));
    return kit;
  }

  @Test
  void aJobPrintingMoreThanTheRunMayStoreIsCutAndTheRunViewSaysSo() {
    var kit = started("build:\n  stage: build\n  script: [seq 1 30]\ntest:\n  script: ['seq 1 5000']\n");
    Await.until("the run finished", Duration.ofSeconds(60), () -> kit.getState().finished());
    var view = view(kit);
    assertEquals("passed", view.status(), view.detail());
    var build = view.jobs().get(0);
    var test = view.jobs().get(1);
    // the build's 30 lines and its runner lines fit the run's 50; the test job's 5,000 lines mostly do not
    assertEquals(false, build.outputTruncated(), build.toString());
    assertTrue(test.outputTruncated(), test.toString());
    assertTrue(test.outputDroppedLines() > 4_950 && test.outputDroppedLines() <= 5_001, test.toString());
    assertTrue(test.outputDroppedBytes() > 20_000, test.toString());
    assertTrue(view.outputTruncated());
    assertEquals(test.outputDroppedLines(), view.outputDroppedLines());
    // and it survives recovery (the figures are in the journal)
    kit.restart();
    assertEquals(test.outputDroppedLines(), view(kit).outputDroppedLines());
  }

  @Test
  void aRunRestartedTwiceInTheMiddleOfItsJobIsFailedWithTheReason() {
    // a job that outlives its core
    var kit = started("test:\n  script:\n    - echo started\n    - sleep 30\n");
    for (int attempt = 1; attempt <= 2; attempt++) {
      int current = attempt;
      // the job is under way (planned, no outcome yet): now the core dies
      Await.until("attempt " + current + " running its job", Duration.ofSeconds(30), () -> {
        var state = kit.getState();
        return state.attempts() == current && state.planned() && state.outcomes().get(0) == null;
      });
      kit.restart();
    }
    Await.until("the run failed", Duration.ofSeconds(30), () -> kit.getState().finished());
    var state = kit.getState();
    assertEquals(RunStatus.FAILED, state.status());
    assertEquals(2, state.attempts(), "no third attempt was started");
    var view = view(kit);
    assertEquals("failed", view.status());
    assertTrue(view.detail().startsWith("stopped after 2 attempts in a row that each ended with the loss of the core "
        + "running them during job 'test'"), view.detail());
    // and it stays failed: the next recovery does not resume it
    kit.restart();
    assertEquals(RunStatus.FAILED, kit.getState().status());
    assertEquals(2, kit.getState().attempts());
  }

  @Test
  void aLostAttemptIsResumedAndAFinishedJobStartsTheCountAgain() {
    var kit = kit();
    Instant t = Instant.now();
    var job = new PipelineRun.JobRecord("build", "build", "passed", 0, "ok", 10L, "bubblewrap", "img", "", "");
    // attempt 1 was lost before finishing a job, attempt 2 finished one: the loss before it no longer counts
    // (initialize recovers these events, as a survivor would after the death of the core running attempt 2)
    kit.initialize(new PipelineRun.RunRequested("r", "no-such-feature", "abc", "test", t),
        new PipelineRun.AttemptStarted(1, 1, t),
        new PipelineRun.AttemptStarted(2, 2, t),
        new PipelineRun.PipelinePlanned(List.of(new PipelineRun.PlannedJob("build", "build", "img"),
            new PipelineRun.PlannedJob("test", "test", "img")), List.of(), t),
        new PipelineRun.JobFinished(2, 0, job, 2, t));
    // resumed as attempt 3 (its plan then fails: the feature has no repository here), not failed for lost cores
    Await.until("the run resumed and ended", Duration.ofSeconds(30), () -> kit.getState().finished());
    assertEquals(3, kit.getState().attempts());
    assertEquals(1, kit.getState().lostAttempts());
    assertEquals(RunStatus.ERROR, kit.getState().status(), kit.getState().detail());
    assertTrue(kit.getState().detail().contains("no-such-feature") || kit.getState().detail().contains("abc"),
        kit.getState().detail());
  }

  @Test
  void aRunMovedOffACoreThatIsStillAMemberIsNotALostAttempt() throws IOException {
    // a rebalance hands a run over from a core that stays up: that is not the core's death, however often it happens
    Path dir = Files.createTempDirectory("heyken-moved-run-test-");
    Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx--x--x"));
    var clusterKit = ActorTestKit.create("moved-run-test", EventSourcedBehaviorTestKit.config().withFallback(
        store.config("heyken.core.id = 1\nheyken.data-dir = \"" + dir + "\"\n"
            + "heyken.sandbox.backend = bubblewrap\nheyken.sandbox.max-lost-attempts = 2\n")));
    try {
      var cluster = org.apache.pekko.cluster.typed.Cluster.get(clusterKit.system());
      cluster.manager().tell(new org.apache.pekko.cluster.typed.Join(cluster.selfMember().address()));
      Await.until("the one-node cluster up", Duration.ofSeconds(20),
          () -> cluster.selfMember().status() == org.apache.pekko.cluster.MemberStatus.up());
      Feature.init(clusterKit.system(), clusterKit.<heyken.actors.core.DeploymentLedger.Command>createTestProbe().ref());
      long live = cluster.selfMember().uniqueAddress().longUid();
      Instant t = Instant.now();
      var moved = EventSourcedBehaviorTestKit.<PipelineRun.Command, PipelineRun.Event, PipelineRun.State>create(
          clusterKit.system(), PipelineRun.create("moved-" + (++runs)));
      // one loss already, then attempt 2 ran on a member that is still up when the run recovers elsewhere
      moved.initialize(new PipelineRun.RunRequested("r", "no-such-feature", "abc", "test", t),
          new PipelineRun.AttemptStarted(1, 2, t, 42L, null),
          new PipelineRun.AttemptStarted(2, 1, t, live, true));
      Await.until("the run resumed and ended", Duration.ofSeconds(30), () -> moved.getState().finished());
      assertEquals(3, moved.getState().attempts());
      assertEquals(1, moved.getState().lostAttempts(), "the hand-over did not count");
      assertEquals(RunStatus.ERROR, moved.getState().status(), "resumed (its plan then fails: no repository)");
      // the same history, but the member of attempt 2 is gone: the second loss in a row fails the run
      var died = EventSourcedBehaviorTestKit.<PipelineRun.Command, PipelineRun.Event, PipelineRun.State>create(
          clusterKit.system(), PipelineRun.create("died-" + (++runs)));
      died.initialize(new PipelineRun.RunRequested("r", "no-such-feature", "abc", "test", t),
          new PipelineRun.AttemptStarted(1, 2, t, 42L, null),
          new PipelineRun.AttemptStarted(2, 1, t, 43L, true));
      Await.until("the run failed", Duration.ofSeconds(30), () -> died.getState().finished());
      assertEquals(RunStatus.FAILED, died.getState().status(), died.getState().detail());
    } finally {
      // a cluster member leaves before it stops: more than the kit's default 10 s on a busy machine
      ActorTestKit.shutdown(clusterKit.system(), Duration.ofSeconds(60), true);
      JobWorkDir.deleteTree(dir);
    }
  }

  @Test
  void theSecondLossInARowFailsTheRunOnRecoveryWithoutAnotherAttempt() {
    var kit = kit();
    Instant t = Instant.now();
    kit.initialize(new PipelineRun.RunRequested("r", "no-such-feature", "abc", "test", t),
        new PipelineRun.AttemptStarted(1, 1, t),
        new PipelineRun.AttemptStarted(2, 2, t));
    Await.until("the run failed", Duration.ofSeconds(30), () -> kit.getState().finished());
    assertEquals(RunStatus.FAILED, kit.getState().status());
    assertEquals(2, kit.getState().attempts());
    assertTrue(kit.getState().detail().contains("while its pipeline was being planned (last on core 2)"),
        kit.getState().detail());
  }
}
