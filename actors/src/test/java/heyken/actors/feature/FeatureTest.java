package heyken.actors.feature;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import heyken.actors.core.CoreApi;
import heyken.actors.core.CoreRefusal;
import heyken.actors.core.DeploymentLedger;
import heyken.actors.support.TestStore;
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

/** The feature's rules: draft until it has a pipeline, one run at a time, deploy only what passed, rollback, delete. */
class FeatureTest {

  private static TestStore store;
  private static ActorTestKit testKit;
  private static int testNumber;

  @BeforeAll
  static void start() {
    store = new TestStore();
    testKit = ActorTestKit.create("feature-test", EventSourcedBehaviorTestKit.config().withFallback(store.config("")));
    // a run is started through sharding; this cluster never forms, so the run entities never start (and need no
    // sandbox): the feature's own rules are under test here
    PipelineRun.init(testKit.system());
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
        Feature.create(String.valueOf(testNumber), ledger.ref()));
  }

  private static Feature.RevisionInfo revision(String id, boolean testable) {
    return new Feature.RevisionInfo(id, "commit " + id, "api", Instant.now(), testable, true, "hello");
  }

  private Feature.FeatureReply create(boolean testable) {
    return kit.<Feature.FeatureReply>runCommand(
        r -> new Feature.Create("hello", "says hello", revision("aaaaaaa1", testable), "test", r)).reply();
  }

  private Feature.RunReply runTests() {
    return kit.<Feature.RunReply>runCommand(r -> new Feature.RunTests(null, "test", r)).reply();
  }

  private void finishRun(String runId, String status) {
    var result = kit.<Done>runCommand(r -> new Feature.RunCompleted(runId, "aaaaaaa1", RunStatus.of(status), status, r));
    assertEquals(Done.getInstance(), result.reply());
  }

  /** Sends Deploy; answers the DeploymentLedger's question with {@code outcome} (null: accepted by core 1, epoch 7). */
  private Feature.DeployReply deploy(String revision, Integer target, DeploymentLedger.DeploymentOutcome outcome) {
    var replies = testKit.<Feature.DeployReply>createTestProbe();
    kit.runCommand(new Feature.Deploy(revision, target, "test", replies.ref()));
    var question = ledger.expectMessageClass(DeploymentLedger.ActivateDeployment.class);
    assertEquals(target, question.targetCore());
    question.replyTo().tell(outcome != null ? outcome : DeploymentLedger.DeploymentOutcome.made(1, 7));
    return replies.receiveMessage(Duration.ofSeconds(5));
  }

  @Test
  void aFeatureWithoutPipelineIsADraftAndCannotBeTested() {
    assertEquals("draft", create(false).view().status());
    var reply = runTests();
    assertNull(reply.run());
    assertEquals(409, FeatureApi.problem(reply.refused()).status());
    assertEquals("not_testable", FeatureApi.problem(reply.refused()).error());
  }

  @Test
  void aFeatureWithPipelineIsReadyAndATestRunMakesItTesting() {
    assertEquals("ready", create(true).view().status());
    var run = runTests();
    assertNotNull(run.run());
    assertEquals(testNumber + "-1", run.run().runId());
    assertEquals("testing", kit.<Feature.FeatureReply>runCommand(Feature.Get::new).reply().view().status());
  }

  @Test
  void onlyOneRunAtATime() {
    create(true);
    runTests();
    var second = runTests();
    assertEquals("run_in_progress", FeatureApi.problem(second.refused()).error());
  }

  @Test
  void deployIsRefusedUntilTestsPass() {
    create(true);
    var untested = kit.<Feature.DeployReply>runCommand(r -> new Feature.Deploy(null, null, "test", r)).reply();
    assertEquals("not_tested", FeatureApi.problem(untested.refused()).error());

    String runId = runTests().run().runId();
    finishRun(runId, "failed");
    var failed = kit.<Feature.DeployReply>runCommand(r -> new Feature.Deploy(null, null, "test", r)).reply();
    assertEquals("not_tested", FeatureApi.problem(failed.refused()).error());
    assertTrue(FeatureApi.problem(failed.refused()).detail().contains("failed"), FeatureApi.problem(failed.refused()).detail());
    ledger.expectNoMessage(Duration.ofMillis(100));

    finishRun(runTests().run().runId(), "passed");
    var deployed = deploy(null, 1, null);
    assertNull(deployed.refused());
    assertEquals("aaaaaaa1", deployed.deployment().revision());
    assertEquals(7, deployed.deployment().epoch());
    assertEquals("deployed", kit.<Feature.FeatureReply>runCommand(Feature.Get::new).reply().view().status());
  }

  @Test
  void aRefusalOfTheActiveCoreChangesNothing() {
    create(true);
    finishRun(runTests().run().runId(), "passed");
    var ledgerRefused = new CoreRefusal(CoreRefusal.Kind.TARGET_NOT_ACTIVE, 1, 7, 0, 2, null, null, null, null, null,
        null);
    var refused = deploy(null, 2, DeploymentLedger.DeploymentOutcome.refused(1, 7, ledgerRefused));
    assertEquals(ledgerRefused, refused.refused().ledgerRefused(), "the ledger's refusal is passed on as it is");
    assertEquals("target_not_active", FeatureApi.problem(refused.refused()).error());
    assertEquals(CoreApi.problem(ledgerRefused), refused.refused().ledger(), "and as the problem older cores read");
    var view = kit.<Feature.FeatureReply>runCommand(Feature.Get::new).reply().view();
    assertNull(view.deployment());
    assertEquals("passed", view.status());
  }

  @Test
  void aRefusalOfALedgerOfThePreviousReleaseIsReadFromItsProblem() {
    create(true);
    finishRun(runTests().run().runId(), "passed");
    var old = heyken.protocol.api.Problem.conflict("command_taken", "the chat command 'hello' is feature 3's");
    var refused = deploy(null, null, new DeploymentLedger.DeploymentOutcome(1, 7, old, null));
    assertNull(refused.deployment());
    assertEquals(old, FeatureApi.problem(refused.refused()));
    assertNull(kit.<Feature.FeatureReply>runCommand(Feature.Get::new).reply().view().deployment());
  }

  @Test
  void rollbackGoesBackToThePreviousDeployedRevision() {
    create(true);
    finishRun(runTests().run().runId(), "passed");
    deploy(null, null, null);
    var none = kit.<Feature.DeployReply>runCommand(r -> new Feature.Rollback("test", r)).reply();
    assertEquals("nothing_to_roll_back", FeatureApi.problem(none.refused()).error());

    kit.<Feature.FeatureReply>runCommand(r -> new Feature.AddRevision(revision("bbbbbbb2", true), "test", r));
    var run = runTests().run();
    assertEquals("bbbbbbb2", run.revision());
    kit.<Done>runCommand(r -> new Feature.RunCompleted(run.runId(), "bbbbbbb2", RunStatus.PASSED, "ok", r));
    assertEquals("bbbbbbb2", deploy(null, null, null).deployment().revision());

    var replies = testKit.<Feature.DeployReply>createTestProbe();
    kit.runCommand(new Feature.Rollback("test", replies.ref()));
    var question = ledger.expectMessageClass(DeploymentLedger.ActivateDeployment.class);
    assertEquals("aaaaaaa1", question.revision());
    question.replyTo().tell(DeploymentLedger.DeploymentOutcome.made(1, 7));
    var back = replies.receiveMessage();
    assertEquals("aaaaaaa1", back.deployment().revision());
    assertTrue(back.deployment().previous().isEmpty());
  }

  @Test
  void aRepeatedRunReportIsAcknowledgedWithoutAnEvent() {
    create(true);
    String runId = runTests().run().runId();
    finishRun(runId, "passed");
    var again = kit.<Done>runCommand(r -> new Feature.RunCompleted(runId, "aaaaaaa1", RunStatus.PASSED, "", r));
    assertEquals(Done.getInstance(), again.reply());
    assertTrue(again.events().isEmpty());
  }

  @Test
  void stateSurvivesARestart() {
    create(true);
    finishRun(runTests().run().runId(), "passed");
    deploy(null, null, null);
    kit.restart();
    var view = kit.<Feature.FeatureReply>runCommand(Feature.Get::new).reply().view();
    assertEquals("deployed", view.status());
    assertEquals(1, view.runs().size());
    assertEquals("passed", view.runs().get(0).status());
  }

  @Test
  void aDeletedFeatureIsUndeployedAndThenUnknown() {
    create(true);
    finishRun(runTests().run().runId(), "passed");
    deploy(null, null, null);
    var replies = testKit.<Feature.FeatureReply>createTestProbe();
    kit.runCommand(new Feature.Delete("test", replies.ref()));
    var question = ledger.expectMessageClass(DeploymentLedger.RemoveDeployment.class);
    question.replyTo().tell(DeploymentLedger.DeploymentOutcome.made(1, 7));
    assertEquals("deleted", replies.receiveMessage().view().status());
    var get = kit.<Feature.FeatureReply>runCommand(Feature.Get::new).reply();
    assertEquals(404, FeatureApi.problem(get.refused()).status());
    assertInstanceOf(Feature.State.class, kit.getState());
  }

  private void createTested() {
    kit.<Feature.FeatureReply>runCommand(r -> new Feature.Create("hello", "says hello",
        new Feature.RevisionInfo("aaaaaaa1", "commit", "api", Instant.now(), true, true, "hello"), "test", r));
    String runId = kit.<Feature.RunReply>runCommand(r -> new Feature.RunTests(null, "test", r)).reply().run()
        .runId();
    kit.<Done>runCommand(r -> new Feature.RunCompleted(runId, "aaaaaaa1", RunStatus.PASSED, "ok", r));
  }

  private static String error(Feature.Refusal refused) {
    return refused == null ? null : FeatureApi.problem(refused).error();
  }

  // ------------------------------------------------ the states of the handlers: a deployment change under way, an
  // unknown feature, an existing one

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
    assertEquals("feature_exists", error(created.reply().refused()), "Create is answered at once, in any state");
    got.expectNoMessage(Duration.ofMillis(300));

    question.replyTo().tell(DeploymentLedger.DeploymentOutcome.made(1, 3));
    assertEquals("aaaaaaa1", deployed.receiveMessage().deployment().revision());
    assertEquals("deployed", got.receiveMessage().view().status(), "the waiting Get sees the deployment");
    // the waiting Undeploy asks the ledger in its turn
    ledger.expectMessageClass(DeploymentLedger.RemoveDeployment.class).replyTo()
        .tell(DeploymentLedger.DeploymentOutcome.made(1, 3));
    var undeploy = undeployed.receiveMessage();
    assertNull(undeploy.refused());
    assertNull(undeploy.deployment());
  }

  @Test
  void everyRequestToAnUnknownFeatureIsUnknownFeature() {
    assertEquals("unknown_feature", error(kit.<Feature.FeatureReply>runCommand(Feature.Get::new).reply().refused()));
    assertEquals("unknown_feature", error(kit.<Feature.FeatureReply>runCommand(r -> new Feature.AddRevision(
        new Feature.RevisionInfo("b", "m", "api", Instant.now(), true, true, null), "test", r)).reply().refused()));
    assertEquals("unknown_feature", error(kit.<Feature.RunReply>runCommand(
        r -> new Feature.RunTests(null, "test", r)).reply().refused()));
    assertEquals("unknown_feature", error(kit.<Feature.DeployReply>runCommand(
        r -> new Feature.Deploy(null, null, "test", r)).reply().refused()));
    assertEquals("unknown_feature", error(kit.<Feature.DeployReply>runCommand(
        r -> new Feature.Rollback("test", r)).reply().refused()));
    assertEquals("unknown_feature", error(kit.<Feature.DeployReply>runCommand(
        r -> new Feature.Undeploy("test", r)).reply().refused()));
    var delete = kit.<Feature.FeatureReply>runCommand(r -> new Feature.Delete("test", r));
    assertEquals("unknown_feature", error(delete.reply().refused()));
    assertTrue(delete.events().isEmpty());
    ledger.expectNoMessage(Duration.ofMillis(100));
  }

  @Test
  void undeployIsRefusedWhenNothingIsDeployedAndOtherwiseAsksTheLedger() {
    createTested();
    var refused = kit.<Feature.DeployReply>runCommand(r -> new Feature.Undeploy("test", r));
    assertEquals("not_deployed", error(refused.reply().refused()));
    assertTrue(refused.events().isEmpty());
  }

  @Test
  void aLedgerThatDoesNotAnswerChangesNothingAndTheFeatureAnswersAgain() {
    createTested();
    var deployed = testKit.<Feature.DeployReply>createTestProbe();
    kit.runCommand(new Feature.Deploy(null, null, "test", deployed.ref()));
    ledger.expectMessageClass(DeploymentLedger.ActivateDeployment.class); // and never answered
    var answer = deployed.receiveMessage(Duration.ofSeconds(15));
    assertEquals("core_manager_unavailable", error(answer.refused()));
    assertEquals(503, FeatureApi.problem(answer.refused()).status());
    var view = kit.<Feature.FeatureReply>runCommand(Feature.Get::new).reply().view();
    assertEquals("passed", view.status());
    assertNull(view.deployment());
  }
}
