package heyken.actors.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import heyken.testkit.Await;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/**
 * A core that acts as active but that the cluster cannot reach as such (its CoreManager restarted in place after a
 * lapsed lease, where the singleton proxies never look: issue 16, finding 6) stops acting and, as the oldest member,
 * leaves to rejoin as standby, once the store answers; a core that the cluster reaches is left alone.
 */
class ActiveCoreWatchTest {

  private static final ActorTestKit testKit = ActorTestKit.create();
  private static final ActiveCoreWatch.Settings FAST =
      new ActiveCoreWatch.Settings(Duration.ofMillis(100), Duration.ofMillis(200), Duration.ofSeconds(1));
  private static final AtomicInteger names = new AtomicInteger();

  @AfterAll
  static void stop() {
    testKit.shutdownTestKit();
  }

  /** A CoreManager as the proxy delivers it: silent (the proxy buffers for ever), or answering with {@code core}. */
  private static ActorRef<CoreManager.Command> coreManager(Integer core, long epoch) {
    return testKit.spawn(Behaviors.receiveMessage(c -> {
      if (core != null && c instanceof CoreManager.GetActive get) {
        get.replyTo().tell(new CoreManager.ActiveCore(core, epoch, Instant.now(), "test", null, false));
      }
      return Behaviors.same();
    }), "core-manager-" + names.incrementAndGet());
  }

  private static CoreNode activeNode(long epoch, AtomicBoolean switched) {
    var node = new CoreNode(1);
    node.activated(epoch);
    node.onSwitchAway(() -> switched.set(true));
    return node;
  }

  private static void watch(CoreNode node, ActorRef<CoreManager.Command> coreManager, boolean oldest,
      AtomicBoolean storeAnswers) {
    testKit.spawn(ActiveCoreWatch.create(node, coreManager, new ActiveCoreWatch.Probes(() -> oldest,
        () -> CompletableFuture.completedFuture(storeAnswers.get())), FAST), "watch-" + names.incrementAndGet());
  }

  @Test
  void anActiveOldestCoreThatItsOwnProxyCannotReachStopsActingAndLeavesToRejoinAsStandby() {
    var switched = new AtomicBoolean();
    var node = activeNode(12, switched);
    watch(node, coreManager(null, 0), true, new AtomicBoolean(true));
    Await.until("the core stepped down and left", Duration.ofSeconds(10), () -> !node.isActive() && switched.get());
    assertTrue(node.stepDownReason().contains("does not answer through the cluster"), node.stepDownReason());
  }

  @Test
  void anActiveCoreTheClusterReachesAsTheActiveOneIsLeftAlone() throws Exception {
    var switched = new AtomicBoolean();
    var node = activeNode(5, switched);
    watch(node, coreManager(1, 5), true, new AtomicBoolean(true));
    Thread.sleep(2500); // two and a half step-down periods: an observation window, not synchronization
    assertTrue(node.isActive());
    assertEquals(5, node.activeEpoch());
    assertFalse(switched.get());
  }

  @Test
  void nothingIsDoneWhileTheStoreIsAwayAndTheStepDownComesOnceItAnswers() throws Exception {
    var switched = new AtomicBoolean();
    var node = activeNode(8, switched);
    var store = new AtomicBoolean(false);
    watch(node, coreManager(null, 0), true, store);
    Thread.sleep(2500); // the store is away: nobody could take over, the lease decides
    assertTrue(node.isActive(), "a core must not give up while nobody can take over");
    assertFalse(switched.get());
    store.set(true);
    Await.until("the step-down once the store answers", Duration.ofSeconds(10),
        () -> !node.isActive() && switched.get());
  }

  @Test
  void aCoreThatTheCoreManagerDoesNotNameStopsActingAndAYoungerOneStaysInTheCluster() {
    var switched = new AtomicBoolean();
    var node = activeNode(3, switched);
    watch(node, coreManager(2, 4), false, new AtomicBoolean(true));
    Await.until("the core stopped acting", Duration.ofSeconds(10), () -> !node.isActive());
    assertTrue(node.stepDownReason().contains("names core 2 under epoch 4"), node.stepDownReason());
    assertFalse(switched.get(), "only the oldest member, where the singletons run, leaves");
  }
}
