package heyken.actors.journal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import heyken.actors.bot.BotCommand;
import heyken.actors.bot.Conversation;
import heyken.actors.core.CoreManager;
import heyken.actors.core.CoreNode;
import heyken.actors.core.DeploymentLedger;
import heyken.actors.core.EpochFence;
import heyken.actors.core.FencedWrites;
import heyken.actors.core.ServiceLedger;
import heyken.actors.store.MongoStore;
import heyken.actors.support.TestStore;
import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import pekko.contrib.persistence.mongodb.JavaDslMongoReadJournal;
import pekko.contrib.persistence.mongodb.MongoReadJournal;
import org.apache.pekko.persistence.query.PersistenceQuery;
import org.apache.pekko.stream.javadsl.Sink;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Journals written by an earlier version still recover: the committed fixture (raw documents of the persistence
 * plugin, written by {@link JournalFixtureWriter}) is loaded into an empty embedded store and every persistence id
 * is recovered through the real plugin with the current classes; each must reach the state recorded when the fixture
 * was written. Renaming or moving an event or state class, renaming a persisted field or changing the serializer
 * makes this fail. See docs/journal-compatibility.md.
 */
class JournalFixtureTest {

  private static TestStore store;
  private static ActorTestKit testKit;
  private static JsonNode recorded;

  @BeforeAll
  static void start() throws Exception {
    store = new TestStore();
    int loaded = JournalFixture.load(store.uri(), JournalFixture.DIR);
    assertTrue(loaded > 0, "no documents in " + JournalFixture.DIR.toAbsolutePath());
    recorded = JournalFixture.mapper().readTree(Files.readString(JournalFixture.DIR.resolve(JournalFixture.STATES)));
    testKit = ActorTestKit.create("journal-fixture", store.config(""));
  }

  @AfterAll
  static void stop() {
    if (testKit != null) {
      testKit.shutdownTestKit();
    }
    if (store != null) {
      store.close();
    }
  }

  /** The state {@code persistenceId} recovers to through the plugin, as canonical JSON. */
  static ObjectNode recover(ActorTestKit testKit, String persistenceId) {
    var probe = testKit.createTestProbe(Object.class);
    var replayer = testKit.spawn(JournalFixture.replayer(persistenceId));
    replayer.tell(new JournalEntities.GetState(probe.ref()));
    Object state = probe.receiveMessage(Duration.ofSeconds(30));
    testKit.stop(replayer);
    return JournalFixture.canonical(state);
  }

  private static List<String> persistenceIds() {
    var ids = new ArrayList<String>();
    recorded.fieldNames().forEachRemaining(ids::add);
    return ids;
  }

  @Test
  void everyPersistenceIdRecoversToTheRecordedState() {
    for (String pid : persistenceIds()) {
      assertEquals(recorded.get(pid), recover(testKit, pid), "persistence id " + pid
          + " no longer recovers to the state recorded in the fixture: a persisted class, field or serializer"
          + " changed (see docs/journal-compatibility.md)");
    }
  }

  /**
   * The CoreManager recorded deployments and services in its own journal until they got their ledgers: started on
   * that old journal, the real CoreManager and ledgers (through the real plugin) answer the same deployments,
   * installation id and services as the old CoreManager's state held.
   */
  @Test
  void theLedgersTakeOverTheDeploymentsAndServicesOfAnOldCoreManagerJournal() throws Exception {
    var old = recorded.get("core-manager").get("state");
    try (var own = new TestStore()) {
      JournalFixture.load(own.uri(), JournalFixture.DIR);
      var kit = ActorTestKit.create("journal-fixture-import", own.config(""));
      try {
        var node = new CoreNode(1);
        var store = MongoStore.get(kit.system());
        var fence = new EpochFence(store.database());
        var writes = new FencedWrites(fence, store);
        var coreManager = kit.spawn(CoreManager.create(node, fence, Duration.ofSeconds(1)));
        var deploymentLedger = kit.spawn(DeploymentLedger.create(node, writes, coreManager));
        var serviceLedger = kit.spawn(ServiceLedger.create(node, writes, coreManager, null));
        var deployments = kit.<DeploymentLedger.Deployments>createTestProbe();
        deploymentLedger.tell(new DeploymentLedger.GetDeployments(deployments.ref()));
        assertEquals(old.get("deployments"),
            JournalFixture.json(deployments.receiveMessage(Duration.ofSeconds(30)).byFeature()));
        var services = kit.<ServiceLedger.ServicesState>createTestProbe();
        serviceLedger.tell(new ServiceLedger.GetServices(services.ref()));
        var wanted = services.receiveMessage(Duration.ofSeconds(30));
        assertEquals(old.get("services"), JournalFixture.json(wanted.services()));
        assertEquals(old.get("installationId").asText(), wanted.installationId());
        // taken over once: restarted, the ledgers answer from their own journals
        kit.stop(deploymentLedger);
        var again = kit.spawn(DeploymentLedger.create(node, writes, coreManager));
        again.tell(new DeploymentLedger.GetDeployments(deployments.ref()));
        assertEquals(old.get("deployments"),
            JournalFixture.json(deployments.receiveMessage(Duration.ofSeconds(30)).byFeature()));
      } finally {
        kit.shutdownTestKit();
      }
    }
  }

  @Test
  void theFixtureHoldsEveryEventTypeOfEveryEntity() throws Exception {
    var journal = PersistenceQuery.get(testKit.system().classicSystem())
        .getReadJournalFor(JavaDslMongoReadJournal.class, MongoReadJournal.Identifier());
    var seen = new HashSet<Class<?>>();
    var commands = new HashSet<Class<?>>();
    for (String pid : persistenceIds()) {
      var events = journal.currentEventsByPersistenceId(pid, 0, Long.MAX_VALUE).map(e -> e.event())
          .runWith(Sink.seq(), testKit.system()).toCompletableFuture().get(30, java.util.concurrent.TimeUnit.SECONDS);
      for (Object event : events) {
        seen.add(event.getClass());
        if (event instanceof Conversation.ConfirmationRequested c) {
          commands.add(c.command().getClass());
        }
      }
    }
    var missing = new TreeSet<String>();
    for (var entity : JournalFixture.ENTITIES) {
      for (Class<?> type : entity.event().getPermittedSubclasses()) {
        if (!seen.contains(type)) {
          missing.add(type.getName());
        }
      }
    }
    for (Class<?> type : BotCommand.class.getPermittedSubclasses()) {
      if (!commands.contains(type)) {
        missing.add(type.getName());
      }
    }
    assertEquals(Set.of(), missing, "event types not in the journal fixture: add them to JournalFixtureWriter and"
        + " regenerate (docs/journal-compatibility.md)");
  }

  @Test
  void theFixtureHoldsASnapshotOfEveryEntitysState() throws Exception {
    var manifests = new StringBuilder();
    try (var files = Files.list(JournalFixture.DIR)) {
      for (var f : files.filter(f -> f.getFileName().toString().startsWith("pekko_persistence_snaps")).toList()) {
        for (String line : Files.readAllLines(f)) {
          // the snapshot's serializer manifest (the state's class name) is inside the stored bytes
          var bytes = org.bson.Document.parse(line).get("s2", org.bson.types.Binary.class).getData();
          manifests.append(new String(bytes, java.nio.charset.StandardCharsets.ISO_8859_1)).append('\n');
        }
      }
    }
    var missing = new TreeSet<String>();
    for (var entity : JournalFixture.ENTITIES) {
      if (!manifests.toString().contains(entity.state().getName())) {
        missing.add(entity.state().getName());
      }
    }
    assertEquals(Set.of(), missing, "state types with no snapshot in the journal fixture");
  }
}
