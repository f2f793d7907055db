package heyken.actors.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import heyken.actors.store.MongoStore;
import heyken.actors.support.TestStore;
import heyken.testkit.Await;
import java.time.Duration;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.persistence.testkit.javadsl.EventSourcedBehaviorTestKit;
import org.apache.pekko.persistence.typed.PersistenceId;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The DeploymentLedger's rules: a deployment is an event under the active core's epoch, one chat command has one
 * feature, only the active core deploys, and a superseded core changes nothing (and is fenced by it).
 */
class DeploymentLedgerTest {

  private static TestStore store;
  private static ActorTestKit testKit;
  private static com.mongodb.client.MongoClient mongo;
  private static int testNumber;

  @BeforeAll
  static void start() {
    store = new TestStore();
    testKit = ActorTestKit.create("deployment-ledger-test",
        EventSourcedBehaviorTestKit.config().withFallback(store.config("")));
    mongo = MongoStore.create(store.uri(), Duration.ofSeconds(2));
  }

  @AfterAll
  static void stop() {
    mongo.close();
    testKit.shutdownTestKit();
    store.close();
  }

  private EventSourcedBehaviorTestKit<DeploymentLedger.Command, DeploymentLedger.Event, DeploymentLedger.State> kit;
  private CoreNode node;
  private EpochFence fence;

  @BeforeEach
  void fresh() {
    testNumber++;
    fence = new EpochFence(mongo.getDatabase("deployments-fence-" + testNumber));
    node = new CoreNode(1);
    var coreManager = testKit.spawn(CoreManager.create(node, fence, Duration.ofMillis(100),
        PersistenceId.ofUniqueId("core-manager-deployments-" + testNumber)));
    kit = EventSourcedBehaviorTestKit.create(testKit.system(), DeploymentLedger.create(node,
        new FencedWrites(fence, MongoStore.get(testKit.system())), coreManager,
        PersistenceId.ofUniqueId("deployment-ledger-" + testNumber)));
    // the first answer comes once the ledger has taken over the (empty) deployments of the CoreManager's journal
    assertTrue(kit.<DeploymentLedger.Deployments>runCommand(DeploymentLedger.GetDeployments::new).reply()
        .byFeature().isEmpty());
    Await.until("the ledger's import recorded", Duration.ofSeconds(10), () -> kit.getState().imported());
  }

  private EventSourcedBehaviorTestKit.CommandResultWithReply<DeploymentLedger.Command, DeploymentLedger.Event,
      DeploymentLedger.State, DeploymentLedger.DeploymentOutcome> deploy(String feature, String command,
      Integer target) {
    return kit.runCommand(r -> new DeploymentLedger.ActivateDeployment(feature, "abc1234", command, target, r));
  }

  @Test
  void aDeploymentIsAnEventUnderTheActiveCoresEpoch() {
    var result = deploy("1", "weather", null);
    assertNull(result.reply().problem());
    assertEquals(1, result.reply().core());
    assertEquals(node.activeEpoch(), result.reply().epoch());
    var deployed = (CoreManager.FeatureDeployed) result.event();
    assertEquals("weather", deployed.command());
    assertEquals(node.activeEpoch(), deployed.epoch());
    kit.restart();
    var listed = kit.<DeploymentLedger.Deployments>runCommand(DeploymentLedger.GetDeployments::new).reply();
    assertEquals(java.util.Set.of("1"), listed.byFeature().keySet(), "the deployment survives a restart");
    assertEquals("abc1234", listed.byFeature().get("1").revision());
  }

  @Test
  void oneChatCommandIsAnsweredByOneFeature() {
    deploy("1", "weather", null);
    var taken = deploy("2", "weather", null);
    assertEquals("command_taken", taken.reply().problem().error());
    assertEquals(409, taken.reply().problem().status());
    assertTrue(taken.events().isEmpty());
    assertNull(deploy("1", "weather", null).reply().problem(), "a feature may be deployed again under its command");
  }

  @Test
  void onlyTheActiveCoreDeploys() {
    var other = deploy("1", "weather", 2);
    assertEquals("target_not_active", other.reply().problem().error());
    assertTrue(other.reply().problem().detail().contains("scripts/switch_core.sh 2"), other.reply().problem().detail());
    assertEquals(400, deploy("1", "weather", 3).reply().problem().status());
    var refused = other.reply().refused();
    assertEquals(CoreRefusal.Kind.TARGET_NOT_ACTIVE, refused.kind(), "the ledger says why in its own terms");
    assertEquals(2, refused.targetCore());
    assertEquals(other.reply().problem(), CoreApi.problem(other.reply()), "and the edge reads the same problem");
    assertTrue(other.events().isEmpty());
  }

  @Test
  void removingAFeatureThatIsNotDeployedChangesNothing() {
    var result = kit.<DeploymentLedger.DeploymentOutcome>runCommand(r -> new DeploymentLedger.RemoveDeployment("9", r));
    assertNull(result.reply().problem());
    assertTrue(result.events().isEmpty());
  }

  @Test
  void aSupersededCoreDeploysNothingAndIsFenced() {
    assertNull(deploy("1", "weather", null).reply().problem());
    long mine = node.activeEpoch();
    fence.nextEpoch(2, 4242); // the other core took over
    var refused = deploy("2", "joke", null);
    assertEquals("not_active", refused.reply().problem().error());
    assertEquals(503, refused.reply().problem().status());
    assertEquals(CoreRefusal.Kind.EPOCH_SUPERSEDED, refused.reply().refused().kind());
    assertTrue(refused.reply().refused().supersededBy() > mine, "the newer epoch is a fact of the refusal");
    assertTrue(refused.events().isEmpty());
    Await.until("core 1 to be fenced", Duration.ofSeconds(10), () -> !node.isActive());
    assertEquals(0, node.activeEpoch(), "core 1 (epoch " + mine + ") is fenced");
    assertTrue(node.fencedWritesRefused() >= 1);
  }
}
