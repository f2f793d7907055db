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
 * A run whose attempts keep losing their core (a pipeline that makes the core run out of memory kills every core
 * that resumes it) is failed after {@code heyken.sandbox.max-lost-attempts} such attempts in a row, with a reason the
 * run view shows, instead of being resumed forever. Restarting the entity in the middle of an attempt is what a core's
 * death looks like to it: the survivor recovers the journal and resumes.
 */
class PipelineRunLostAttemptsTest {

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

  @Test
  void aRunRestartedTwiceInTheMiddleOfItsJobIsFailedWithTheReason() {
    var sandbox = SandboxRuntime.get(testKit.system());
    if (!sandbox.backend().availability().available()) {
      String why = "bubblewrap cannot run jobs here: " + sandbox.backend().availability().detail();
      if (REQUIRED) {
        fail("HEYKEN_REQUIRE_SANDBOX=true but " + why);
      }
      org.junit.jupiter.api.Assumptions.assumeTrue(false, why);
    }
    String feature = "lost-feature-" + runs;
    var revision = sandbox.repositories().create(feature, Map.of(PipelineRun.CI_FILE,
        "test:\n  script:\n    - echo started\n    - sleep 30\n"), "a job that outlives its core", "test");
    var kit = kit();
    kit.runCommand(new PipelineRun.Start(feature, revision.id(), "test"));
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
