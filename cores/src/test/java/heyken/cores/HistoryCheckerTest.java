package heyken.cores;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.cbor.CBORFactory;
import com.mongodb.client.MongoClient;
import com.mongodb.client.MongoClients;
import com.mongodb.client.MongoDatabase;
import de.bwaldvogel.mongo.MongoServer;
import de.bwaldvogel.mongo.backend.memory.MemoryBackend;
import heyken.testkit.history.HistoryChecker;
import heyken.testkit.history.WriteLog;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.bson.Document;
import org.bson.types.Binary;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The history checker on journals written the way the persistence plugin writes them (CBOR payloads). */
class HistoryCheckerTest {

  private static final ObjectMapper CBOR = new ObjectMapper(new CBORFactory());
  private static final Instant T0 = Instant.parse("2026-12-06T20:00:00Z");
  private MongoServer server;
  private MongoClient client;
  private MongoDatabase db;
  private final Map<String, Long> seq = new java.util.HashMap<>();

  @BeforeEach
  void start() {
    server = new MongoServer(new MemoryBackend());
    var address = server.bind();
    client = MongoClients.create("mongodb://127.0.0.1:" + address.getPort());
    db = client.getDatabase("heyken");
  }

  @AfterEach
  void stop() {
    client.close();
    server.shutdownNow();
  }

  private void event(String pid, String type, Map<String, Object> body) throws Exception {
    long sn = seq.merge(pid, 1L, Long::sum);
    var e = new Document("pid", pid).append("sn", sn).append("_sm", "heyken.actors.X$" + type)
        .append("p", new Binary(CBOR.writeValueAsBytes(body)));
    db.getCollection(HistoryChecker.JOURNAL).insertOne(new Document("pid", pid).append("from", sn).append("to", sn)
        .append("events", List.of(e)));
  }

  private void activated(int core, long epoch, int second) throws Exception {
    event("core-manager", "CoreActivated", Map.of("core", core, "epoch", epoch, "at", T0.plusSeconds(second).toString()));
  }

  private void registered(String name, long epoch, int second) throws Exception {
    event("component-registry", "ComponentRegistered",
        Map.of("name", name, "epoch", epoch, "at", T0.plusSeconds(second).toString()));
  }

  private static WriteLog acknowledged(String... names) {
    var log = new WriteLog();
    for (String n : names) {
      log.record(new WriteLog.Write("registration", n, T0, T0, 201, ""));
    }
    return log;
  }

  @Test
  void aCleanFailoverHistoryIsSafe() throws Exception {
    activated(1, 1, 0);
    registered("a", 1, 1);
    activated(2, 2, 10);
    registered("b", 2, 11);
    var report = HistoryChecker.check(db, acknowledged("a", "b"), List.of()).assertSafe();
    assertEquals(2, report.count("activations"));
    assertEquals(2, report.count("acknowledged registrations"));
  }

  @Test
  void aWriteWithAStaleEpochAfterANewerOneIsAViolation() throws Exception {
    activated(1, 1, 0);
    activated(2, 2, 10);
    registered("new", 2, 11);
    registered("stale", 1, 5);
    var violations = HistoryChecker.check(db, null, List.of()).violations();
    assertTrue(violations.stream().anyMatch(v -> v.startsWith("stale epoch accepted")), violations.toString());
  }

  @Test
  void anEpochActingAfterTheNextActivationIsAViolation() throws Exception {
    activated(1, 1, 0);
    activated(2, 2, 10);
    registered("late", 1, 12);
    var violations = HistoryChecker.check(db, null, List.of()).violations();
    assertTrue(violations.stream().anyMatch(v -> v.startsWith("epoch 1 acted after epoch 2")), violations.toString());
  }

  @Test
  void registrationsWhoseEventsTheSnapshotReplacedAreNotLost() throws Exception {
    // the registry snapshots every 200 events and deletes the events before: they live on in the snapshot only,
    // written here as the persistence plugin writes it (Pekko's snapshot serializer around the CBOR state)
    activated(1, 1, 0);
    registered("after-snapshot", 1, 3);
    var state = new heyken.actors.registry.ComponentRegistry.State(Map.of("in-snapshot",
        new heyken.actors.registry.ComponentRegistry.ComponentRegistered("in-snapshot", "http://x/", null, null, "api", 1,
            T0.plusSeconds(1))));
    var system = org.apache.pekko.actor.ActorSystem.create("history-snapshot", com.typesafe.config.ConfigFactory.load());
    try {
      byte[] bytes = org.apache.pekko.serialization.SerializationExtension.get(system)
          .serialize(new org.apache.pekko.persistence.serialization.Snapshot(state)).get();
      db.getCollection(HistoryChecker.SNAPSHOTS).insertOne(new Document("pid", "component-registry").append("sn", 1L)
          .append("ts", T0.toEpochMilli()).append("s2", new Binary(bytes)));
    } finally {
      system.terminate();
    }
    var report = HistoryChecker.check(db, acknowledged("in-snapshot", "after-snapshot"), List.of()).assertSafe();
    assertEquals(1, report.count("registrations read from the registry's snapshot"));
    var violations = HistoryChecker.check(db, acknowledged("in-snapshot", "nowhere"), List.of()).violations();
    assertEquals(1, violations.size(), violations.toString());
    assertTrue(violations.get(0).startsWith("acknowledged registration lost") && violations.get(0).contains("nowhere"));
  }

  @Test
  void aLostAcknowledgedWriteAndTwoActiveCoresAreViolations() throws Exception {
    activated(1, 1, 0);
    registered("kept", 1, 1);
    var seen = new ArrayList<HistoryChecker.DoubleActive>();
    seen.add(new HistoryChecker.DoubleActive(T0, "both said active"));
    var violations = HistoryChecker.check(db, acknowledged("kept", "lost"), seen).violations();
    assertTrue(violations.stream().anyMatch(v -> v.startsWith("acknowledged registration lost") && v.contains("lost")),
        violations.toString());
    assertTrue(violations.stream().anyMatch(v -> v.startsWith("two cores active at once")), violations.toString());
  }

  @Test
  void anEpochGoingBackwardsAndAChatAnswerGivenTwiceAreViolations() throws Exception {
    activated(1, 2, 0);
    activated(2, 1, 10);
    event("Conversation|web:x", "MessageAnswered", Map.of("messageId", "m1", "answer", "hi"));
    event("Conversation|web:x", "MessageAnswered", Map.of("messageId", "m1", "answer", "hi again"));
    var violations = HistoryChecker.check(db, null, List.of()).violations();
    assertTrue(violations.stream().anyMatch(v -> v.startsWith("activation with epoch 1 after epoch 2")),
        violations.toString());
    assertTrue(violations.stream().anyMatch(v -> v.startsWith("chat message answered twice")), violations.toString());
  }
}
