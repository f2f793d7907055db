package heyken.cores.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import heyken.actors.core.CoreManager.FeatureUndeployed;
import java.io.File;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.persistence.typed.PersistenceId;
import org.apache.pekko.persistence.typed.javadsl.CommandHandler;
import org.apache.pekko.persistence.typed.javadsl.EventHandler;
import org.apache.pekko.persistence.typed.javadsl.EventSourcedBehavior;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The real persistence plugin's recovery on the real store is served by the index the store keeps: a journal written
 * through the plugin, in a store file as the version before the index left it (the index's map removed), recovers
 * each persistence id to its state after the reopen, and the recovery's queries read only that id's documents.
 */
class StorePluginIndexTest {

  private static final String JOURNAL = "pekko_persistence_journal";
  private static final String PID_INDEX = "max_sequence_sort"; // the plugin's default name, which Heyken keeps

  @TempDir
  Path dir;

  sealed interface Command {}

  record Write(int events, ActorRef<Integer> replyTo) implements Command {}

  record Get(ActorRef<Integer> replyTo) implements Command {}

  static final class Counter extends EventSourcedBehavior<Command, FeatureUndeployed, Integer> {
    Counter(String id) {
      super(PersistenceId.ofUniqueId(id));
    }

    static Behavior<Command> create(String id) {
      return new Counter(id);
    }

    @Override
    public Integer emptyState() {
      return 0;
    }

    @Override
    public CommandHandler<Command, FeatureUndeployed, Integer> commandHandler() {
      return newCommandHandlerBuilder().forAnyState()
          .onCommand(Write.class, (state, w) -> {
            List<FeatureUndeployed> events = new ArrayList<>();
            for (int i = 0; i < w.events(); i++) {
              events.add(new FeatureUndeployed(String.valueOf(state + i + 1), 1, Instant.now()));
            }
            return Effect().persist(events).thenReply(w.replyTo(), s -> s);
          })
          .onCommand(Get.class, (state, g) -> Effect().reply(g.replyTo(), state))
          .build();
    }

    @Override
    public EventHandler<Integer, FeatureUndeployed> eventHandler() {
      return newEventHandlerBuilder().forAnyState().onAnyEvent((state, e) -> state + 1);
    }
  }

  @Test
  void theReplayOfAStoreFileWithoutTheIndexIsServedByTheIndexBuiltOnOpen() {
    HeykenStore store = new HeykenStore(settings());
    ActorTestKit kit = ActorTestKit.create("store-plugin-index", config(store.start().getPort()));
    try {
      TestProbe<Integer> probe = kit.createTestProbe();
      ActorRef<Command> target = kit.spawn(Counter.create("index-target"));
      for (int i = 0; i < 3; i++) {
        target.tell(new Write(50, probe.ref()));
        probe.expectMessage(Duration.ofSeconds(30), 50 * (i + 1));
      }
      for (int k = 0; k < 100; k++) {
        kit.spawn(Counter.create("index-other-" + k)).tell(new Write(5, probe.ref()));
      }
      for (int k = 0; k < 100; k++) {
        probe.expectMessage(Duration.ofSeconds(30), 5);
      }
    } finally {
      kit.shutdownTestKit();
      store.stop();
    }

    StoreIndexTest.removeIndexMap(dir, JOURNAL, PID_INDEX);

    store = new HeykenStore(settings());
    kit = ActorTestKit.create("store-plugin-index", config(store.start().getPort()));
    try {
      PersistedSecondaryIndex index = StoreIndexTest.index(store, JOURNAL, PID_INDEX);
      assertEquals(103, index.builtFromDocuments(), "one document per persistAll: 3 + 100");
      TestProbe<Integer> probe = kit.createTestProbe();
      kit.spawn(Counter.create("index-target")).tell(new Get(probe.ref()));
      probe.expectMessage(Duration.ofSeconds(30), 150);
      assertTrue(index.lookups() >= 2, "the recovery (highest sequence number, replay) did not use the index: "
          + index.lookups() + " lookups");
      assertEquals(3 * index.lookups(), index.positionsReturned(),
          "the recovery's queries read other ids' documents (the journal has 103)");
    } finally {
      kit.shutdownTestKit();
      store.stop();
    }
  }

  // Without the compaction on close, which this test does not need (H2 2.3.232's compactFile fails an internal
  // assertion under -ea now and then, which is why the test JVMs run with H2's assertions off: see pom.xml)
  private HeykenStore.Settings settings() {
    return StoreOpenTest.settings(dir, Duration.ZERO);
  }

  private static Config config(int port) {
    File root = new File("../application.conf");
    assertTrue(root.exists(), "tests run from the module directory and read ../application.conf");
    return ConfigFactory.load(ConfigFactory.parseString("""
        heyken.mongo.uri = "mongodb://127.0.0.1:%d/heyken"
        pekko.actor.provider = local
        pekko.loglevel = WARNING
        """.formatted(port)).withFallback(ConfigFactory.parseFile(root)));
  }
}
