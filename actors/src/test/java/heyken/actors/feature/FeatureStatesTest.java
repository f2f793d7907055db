package heyken.actors.feature;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import heyken.actors.core.DeploymentLedger;
import heyken.actors.support.TestStore;
import heyken.protocol.api.Problem;
import java.time.Duration;
import java.time.Instant;
import org.apache.pekko.Done;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.persistence.testkit.javadsl.EventSourcedBehaviorTestKit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The feature's states as its handlers split them: a deployment change under way (everything but Create and a run's
 * report waits), an unknown feature (every request is "unknown feature"), and an existing one.
 */
class FeatureStatesTest {

  private static TestStore store;
  private static ActorTestKit testKit;
  private static int testNumber;

  @BeforeAll
  static void start() {
    store = new TestStore();
    testKit = ActorTestKit.create("feature-states-test",
        EventSourcedBehaviorTestKit.config().withFallback(store.config("")));
    PipelineRun.init(testKit.system()); // the cluster never forms: runs never start, the feature's rules are tested
  }

  @AfterAll
  static void stop() {
    testKit.shutdownTestKit();
    store.close();
  }

  private TestProbe<DeploymentLedger.Command> ledger;
  private EventSourcedBehaviorTestKit<Feature.Command, Feature.Event, Feature.State> kit;

  @BeforeEach
  void fresh() {
    testNumber++;
    ledger = testKit.createTestProbe();
    kit = EventSourcedBehaviorTestKit.create(testKit.system(),
        Feature.create("s" + testNumber, ledger.ref()));
  }

  private void createTested() {
    kit.<Feature.FeatureReply>runCommand(r -> new Feature.Create("hello", "says hello",
        new Feature.RevisionInfo("aaaaaaa1", "commit", "api", Instant.now(), true, true, "hello"), "test", r));
    String runId = kit.<Feature.RunReply>runCommand(r -> new Feature.RunTests(null, "test", r)).reply().run()
        .runId();
    kit.<Done>runCommand(r -> new Feature.RunCompleted(runId, "aaaaaaa1", RunStatus.PASSED, "ok", r));
  }

  private static String error(Problem problem) {
    return problem == null ? null : problem.error();
  }

  @Test
  void whileTheLedgerIsAskedOtherRequestsWaitAndAreAnsweredInOrderAfterwards() {
    createTested();
    var deployed = testKit.<Feature.DeployReply>createTestProbe();
    kit.runCommand(new Feature.Deploy(null, null, "test", deployed.ref()));
    var question = ledger.expectMessageClass(DeploymentLedger.ActivateDeployment.class);

    var got = testKit.<Feature.FeatureReply>createTestProbe();
    var undeployed = testKit.<Feature.DeployReply>createTestProbe();
    kit.runCommand(new Feature.Get(got.ref()));
    kit.runCommand(new Feature.Undeploy("test", undeployed.ref()));
    var created = kit.<Feature.FeatureReply>runCommand(r -> new Feature.Create("again", "", null, "test", r));
    assertEquals("feature_exists", error(created.reply().problem()), "Create is answered at once, in any state");
    got.expectNoMessage(Duration.ofMillis(300));

    question.replyTo().tell(new DeploymentLedger.DeploymentOutcome(1, 3, null));
    assertEquals("aaaaaaa1", deployed.receiveMessage().deployment().revision());
    assertEquals("deployed", got.receiveMessage().view().status(), "the waiting Get sees the deployment");
    // the waiting Undeploy asks the ledger in its turn
    ledger.expectMessageClass(DeploymentLedger.RemoveDeployment.class).replyTo()
        .tell(new DeploymentLedger.DeploymentOutcome(1, 3, null));
    var undeploy = undeployed.receiveMessage();
    assertNull(undeploy.problem());
    assertNull(undeploy.deployment());
  }

  @Test
  void everyRequestToAnUnknownFeatureIsUnknownFeature() {
    assertEquals("unknown_feature", error(kit.<Feature.FeatureReply>runCommand(Feature.Get::new).reply().problem()));
    assertEquals("unknown_feature", error(kit.<Feature.FeatureReply>runCommand(r -> new Feature.AddRevision(
        new Feature.RevisionInfo("b", "m", "api", Instant.now(), true, true, null), "test", r)).reply().problem()));
    assertEquals("unknown_feature", error(kit.<Feature.RunReply>runCommand(
        r -> new Feature.RunTests(null, "test", r)).reply().problem()));
    assertEquals("unknown_feature", error(kit.<Feature.DeployReply>runCommand(
        r -> new Feature.Deploy(null, null, "test", r)).reply().problem()));
    assertEquals("unknown_feature", error(kit.<Feature.DeployReply>runCommand(
        r -> new Feature.Rollback("test", r)).reply().problem()));
    assertEquals("unknown_feature", error(kit.<Feature.DeployReply>runCommand(
        r -> new Feature.Undeploy("test", r)).reply().problem()));
    var delete = kit.<Feature.FeatureReply>runCommand(r -> new Feature.Delete("test", r));
    assertEquals("unknown_feature", error(delete.reply().problem()));
    assertTrue(delete.events().isEmpty());
    ledger.expectNoMessage(Duration.ofMillis(100));
  }

  @Test
  void undeployIsRefusedWhenNothingIsDeployedAndOtherwiseAsksTheLedger() {
    createTested();
    var refused = kit.<Feature.DeployReply>runCommand(r -> new Feature.Undeploy("test", r));
    assertEquals("not_deployed", error(refused.reply().problem()));
    assertTrue(refused.events().isEmpty());
  }

  @Test
  void aLedgerThatDoesNotAnswerChangesNothingAndTheFeatureAnswersAgain() {
    createTested();
    var deployed = testKit.<Feature.DeployReply>createTestProbe();
    kit.runCommand(new Feature.Deploy(null, null, "test", deployed.ref()));
    ledger.expectMessageClass(DeploymentLedger.ActivateDeployment.class); // and never answered
    var answer = deployed.receiveMessage(Duration.ofSeconds(15));
    assertEquals("core_manager_unavailable", error(answer.problem()));
    assertEquals(503, answer.problem().status());
    var view = kit.<Feature.FeatureReply>runCommand(Feature.Get::new).reply().view();
    assertEquals("passed", view.status());
    assertNull(view.deployment());
  }
}
