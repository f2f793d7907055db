package heyken.actors.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import heyken.actors.store.MongoStore;
import heyken.actors.support.TestStore;
import heyken.testkit.Await;
import java.time.Duration;
import java.util.List;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.persistence.testkit.javadsl.EventSourcedBehaviorTestKit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The CoreManager's rules: activation, strictly increasing epochs, fencing, the switch's refusals. */
class CoreManagerTest {

  private static TestStore store;
  private static ActorTestKit testKit;
  private static int testNumber;

  @BeforeAll
  static void start() {
    store = new TestStore();
    testKit = ActorTestKit.create("core-manager-test",
        EventSourcedBehaviorTestKit.config().withFallback(store.config("")));
  }

  @AfterAll
  static void stop() {
    if (mongoClient != null) {
      mongoClient.close();
    }
    testKit.shutdownTestKit();
    store.close();
  }

  private EventSourcedBehaviorTestKit<CoreManager.Command, CoreManager.Event, CoreManager.State> kit;
  private CoreNode node;
  private EpochFence fence;
  private org.apache.pekko.persistence.typed.PersistenceId pid;

  /** Every test has its own journal (persistence id) and its own fence (database). */
  @BeforeEach
  void fresh() {
    testNumber++;
    pid = org.apache.pekko.persistence.typed.PersistenceId.ofUniqueId("core-manager-" + testNumber);
    fence = new EpochFence(mongo().getDatabase("fence-" + testNumber));
    node = new CoreNode(1);
    kit = null; // started by the first use, so that a test can start another core instead
  }

  private EventSourcedBehaviorTestKit<CoreManager.Command, CoreManager.Event, CoreManager.State> kitFor(CoreNode n) {
    return EventSourcedBehaviorTestKit.create(testKit.system(),
        CoreManager.create(n, fence, Duration.ofMillis(100), pid));
  }

  private static com.mongodb.client.MongoClient mongoClient;

  private static com.mongodb.client.MongoClient mongo() {
    if (mongoClient == null) {
      mongoClient = MongoStore.create(store.uri(), Duration.ofSeconds(2));
    }
    return mongoClient;
  }

  private CoreManager.CoreActivated nextActivation() {
    if (kit == null) {
      kit = kitFor(node);
    }
    var activated = kit.persistenceTestKit().expectNextPersistedClass(
        pid.id(), CoreManager.CoreActivated.class, Duration.ofSeconds(5));
    if (!installationIdentified) {
      // the very first activation also generates the installation id (dynamic services are labelled with it)
      kit.persistenceTestKit().expectNextPersistedClass(
          pid.id(), CoreManager.InstallationIdentified.class, Duration.ofSeconds(5));
      installationIdentified = true;
    }
    return activated;
  }

  private boolean installationIdentified;

  private CoreManager.ActiveCore active() {
    return kit.<CoreManager.ActiveCore>runCommand(CoreManager.GetActive::new).reply();
  }

  @Test
  void firstActivationPersistsCoreActivatedWithEpochOne() {
    var activated = nextActivation();
    assertEquals(1, activated.core());
    assertEquals(1, activated.epoch());
    assertNull(activated.previousCore());
    assertEquals("first start", activated.reason());
    awaitActive(1);
    assertEquals(1, fence.currentEpoch());
  }

  @Test
  void everyActivationTakesAStrictlyGreaterEpochAndRestartKeepsTheHistory() {
    long first = nextActivation().epoch();
    awaitActive(first);
    kit.restart();
    var second = nextActivation();
    assertTrue(second.epoch() > first, "epoch must grow: " + first + " then " + second.epoch());
    assertEquals(1, second.previousCore());
    assertTrue(second.reason().startsWith("core 1 restarted"), second.reason());
    awaitActive(second.epoch());
    assertEquals(2, kit.getState().activations());
    assertEquals(second.epoch(), active().epoch());
  }

  @Test
  void aCoreSupersededByANewerEpochStopsActingAndCountsTheRefusedWrite() {
    long epoch = nextActivation().epoch();
    awaitActive(epoch);
    // another core activates: the store hands out the next epoch
    long newer = fence.nextEpoch(2, 4242);
    Await.until("the stale core to notice the fence", Duration.ofSeconds(10), () -> !node.isActive());
    assertTrue(node.fencedWritesRefused() >= 1);
    var view = active();
    assertTrue(view.fenced());
    // nothing it does now lands: a switch is refused without an event
    var outcome = kit.<CoreManager.SwitchOutcome>runCommand(r -> new CoreManager.RequestSwitch(2, r));
    assertNotNull(outcome.reply().problem());
    assertEquals("not_active", outcome.reply().problem().error());
    assertTrue(outcome.events().isEmpty());
    assertTrue(newer > epoch);
  }

  @Test
  void theHeartbeatNeverPutsAnOlderEpochBack() {
    long epoch = nextActivation().epoch();
    awaitActive(epoch);
    long newer = fence.nextEpoch(2, 4242);
    fence.heartbeat(newer, 2, 4242);
    try {
      fence.heartbeat(epoch, 1, 1);
    } catch (EpochFence.StaleEpochException expected) {
      assertEquals(newer, expected.currentEpoch);
    }
    var doc = mongo().getDatabase("fence-" + testNumber).getCollection(EpochFence.COLLECTION)
        .find(new org.bson.Document("_id", EpochFence.ACTIVE_CORE_ID)).first();
    assertEquals(newer, doc.get("epoch", Number.class).longValue());
    assertEquals(2, doc.getInteger("core"));
  }

  @Test
  void switchingToTheActiveCoreIsRefused() {
    awaitActive(nextActivation().epoch());
    var result = kit.<CoreManager.SwitchOutcome>runCommand(r -> new CoreManager.RequestSwitch(1, r));
    assertEquals("already_active", result.reply().problem().error());
    assertEquals(409, result.reply().problem().status());
    assertTrue(result.events().isEmpty());
  }

  @Test
  void switchingToACoreThatIsNotUpIsRefusedWithWhatToDo() {
    awaitActive(nextActivation().epoch());
    var result = kit.<CoreManager.SwitchOutcome>runCommand(r -> new CoreManager.RequestSwitch(2, r));
    var problem = result.reply().problem();
    assertEquals("target_not_up", problem.error());
    assertTrue(problem.detail().contains("scripts/status.sh"), problem.detail());
    assertTrue(result.events().isEmpty());
    assertFalse(kit.getState().pendingSwitchTo() != null);
  }

  @Test
  void switchingToANonexistentCoreIsABadRequest() {
    awaitActive(nextActivation().epoch());
    for (int target : List.of(0, 3, -1)) {
      var result = kit.<CoreManager.SwitchOutcome>runCommand(r -> new CoreManager.RequestSwitch(target, r));
      assertEquals(400, result.reply().problem().status());
    }
  }

  /** The takeover by the other core is exercised for real in FailoverIT; here, the rule that names it. */
  @Test
  void aPlannedSwitchOrAFailoverIsExplainedInTheNextActivation() {
    var state = CoreManager.State.empty()
        .apply(new CoreManager.CoreActivated(1, 5, null, "first start", java.time.Instant.now()))
        .apply(new CoreManager.SwitchRequested(1, 2, 5, java.time.Instant.now()));
    assertEquals("planned switch from core 1", state.reasonForActivation(2));
    var withoutSwitch = CoreManager.State.empty()
        .apply(new CoreManager.CoreActivated(1, 5, null, "first start", java.time.Instant.now()));
    assertEquals("failover: core 1 (epoch 5) was lost", withoutSwitch.reasonForActivation(2));
  }

  private void awaitActive(long epoch) {
    Await.until("core 1 active under epoch " + epoch, Duration.ofSeconds(10), () -> node.activeEpoch() == epoch);
  }
}
