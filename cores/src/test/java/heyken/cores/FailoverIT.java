package heyken.cores;

import static heyken.testkit.HeykenProcesses.core;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.mongodb.client.MongoClients;
import com.mongodb.client.model.Filters;
import heyken.testkit.HeykenProcesses;
import heyken.testkit.history.HistoryChecker;
import heyken.testkit.history.WriteLog;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.bson.Document;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Failover with the real thing: the store and both cores as separate JVMs from the fat jar, killed with -9,
 * frozen with SIGSTOP, switched with the API. Every test gets a fresh installation.
 */
class FailoverIT {

  private static final Duration START = Duration.ofSeconds(90);
  private HeykenProcesses heyken;
  // what the tests' writers were told; the history checker proves the journal against it after each test
  private final WriteLog writes = new WriteLog();

  @BeforeEach
  void start() throws Exception {
    Path jar = HeykenProcesses.itJar();
    heyken = new HeykenProcesses(jar, Files.createTempDirectory("heyken-failover-"));
    heyken.startStore();
    heyken.startCore(1);
    heyken.startCore(2);
    heyken.awaitStatus("core 1 active and both cores up", START,
        s -> s.path("healthy").asBoolean() && s.path("active_core").asInt() == 1);
  }

  @AfterEach
  void stop() {
    if (heyken != null) {
      try {
        // epochs increasing, no side effect outside its epoch, no stale epoch accepted, no acknowledged write lost
        var report = new HistoryChecker(heyken.mongoUri()).check(writes, List.of());
        System.out.println(report);
        report.assertSafe();
      } finally {
        heyken.close();
      }
    }
  }

  private String dump() {
    return "\n--- core-1 ---\n" + heyken.tail("core-1", 40) + "\n--- core-2 ---\n" + heyken.tail("core-2", 40);
  }

  @Test
  void killingTheActiveCoreMovesTheActiveRoleToTheOtherCoreAndTheKilledOneReturnsAsStandby() {
    long epochBefore = heyken.status().get("epoch").asLong();
    var registered = heyken.post(heyken.port("registry"), "/api/components",
        "{\"name\":\"before-crash\",\"url\":\"http://127.0.0.1:1/\"}", heyken.token());
    assertEquals(201, registered.status(), registered.raw());
    long oldPid = heyken.pid(1);

    heyken.kill9(1);

    JsonNode after = heyken.awaitStatus("core 2 active on the documented port", Duration.ofSeconds(60),
        s -> s.path("active_core").asInt() == 2);
    assertTrue(after.get("epoch").asLong() > epochBefore, "epoch must grow: " + after);
    assertEquals(2, after.get("served_by").asInt(), "the documented monitor port is served by the new active core");
    assertTrue(after.get("activation_reason").asText().startsWith("failover: core 1"), after.toString());

    JsonNode settled = heyken.awaitStatus("core 1 back as standby", Duration.ofSeconds(60), s ->
        core(s, 1).path("status").asText().equals("up") && !core(s, 1).path("active").asBoolean()
            && s.path("healthy").asBoolean());
    assertNotEquals(oldPid, core(settled, 1).get("pid").asLong(), "core 1 is a new process");
    assertTrue(heyken.restarts(1) >= 1);
    assertEquals(2, settled.get("active_core").asInt(), "the restarted core did not take the role back");

    var kept = heyken.get(heyken.port("registry"), "/api/components/before-crash");
    assertEquals(200, kept.status(), "a write acknowledged before the crash survives it: " + kept.raw());
  }

  @Test
  void switchingOneToTwoToOneLosesNoAcknowledgedWrite() throws Exception {
    var acknowledged = Collections.synchronizedList(new ArrayList<String>());
    var writing = new AtomicBoolean(true);
    var counter = new AtomicInteger();
    Thread writer = new Thread(() -> {
      while (writing.get()) {
        String name = "w-" + counter.incrementAndGet();
        // whichever port answers: documented (active core) or either inspection port
        for (int port : new int[] {heyken.port("registry"), heyken.inspectionPort("registry", 1),
            heyken.inspectionPort("registry", 2)}) {
          var r = heyken.post(port, "/api/components", "{\"name\":\"" + name + "\",\"url\":\"http://127.0.0.1:1/\"}",
              heyken.token());
          writes.record(new WriteLog.Write("registration", name, java.time.Instant.now(), java.time.Instant.now(),
              r.status(), ""));
          if (r.status() == 201) {
            acknowledged.add(name);
            break;
          }
        }
      }
    }, "writer");
    writer.start();
    try {
      long epoch = heyken.status().get("epoch").asLong();
      for (int target : new int[] {2, 1}) {
        var accepted = heyken.post(heyken.port("monitor"), "/api/cores/switch", "{\"target_core\":" + target + "}",
            heyken.token());
        assertEquals(202, accepted.status(), accepted.raw() + dump());
        JsonNode now = heyken.awaitStatus("core " + target + " active", Duration.ofSeconds(30),
            s -> s.path("active_core").asInt() == target);
        assertTrue(now.get("epoch").asLong() > epoch);
        assertEquals("planned switch from core " + (3 - target), now.get("activation_reason").asText());
        epoch = now.get("epoch").asLong();
        heyken.awaitStatus("both cores up after the switch to " + target, Duration.ofSeconds(60),
            s -> s.path("healthy").asBoolean());
      }
    } finally {
      writing.set(false);
      writer.join(10_000);
    }
    assertTrue(acknowledged.size() > 10, "the writer got writes through: " + acknowledged.size());
    var listing = heyken.get(heyken.port("registry"), "/api/components");
    assertEquals(200, listing.status());
    Set<String> present = new HashSet<>();
    listing.body().get("components").forEach(c -> present.add(c.get("name").asText()));
    List<String> lost = acknowledged.stream().filter(n -> !present.contains(n)).toList();
    assertEquals(List.of(), lost, "acknowledged writes lost across two switches");
    assertEquals(0, heyken.restarts(1) + heyken.restarts(2), "a planned switch restarts no process" + dump());
  }

  @Test
  void aFrozenActiveCoreCannotWriteWithItsStaleEpochAfterItWakes() throws Exception {
    long frozenEpoch = heyken.status().get("epoch").asLong();
    var epochs = Collections.synchronizedList(new ArrayList<Long>());
    var bothActive = Collections.synchronizedList(new ArrayList<String>());
    var watching = new AtomicBoolean(true);
    Thread watcher;
    try (var mongo = MongoClients.create(heyken.mongoUri())) {
      var fence = mongo.getDatabase("heyken").getCollection("heyken_fence");
      watcher = new Thread(() -> {
        while (watching.get()) {
          Document doc = fence.find(Filters.eq("_id", "active-core")).first();
          if (doc != null) {
            epochs.add(doc.get("epoch", Number.class).longValue());
          }
          JsonNode s1 = heyken.statusFrom(1);
          JsonNode s2 = heyken.statusFrom(2);
          if (s1 != null && s2 != null && core(s1, 1).path("active").asBoolean()
              && core(s2, 2).path("active").asBoolean()) {
            bothActive.add(s1 + " / " + s2);
          }
        }
      }, "fence-watcher");
      watcher.start();

      heyken.signal(1, "STOP");
      long frozenAt = System.nanoTime();
      // the frozen core still holds the documented ports (its sockets accept, nobody answers): ask core 2
      JsonNode taken = heyken.awaitStatusFrom(2, "core 2 active while core 1 is frozen", Duration.ofSeconds(40),
          s -> s.path("active_core").asInt() == 2);
      long newEpoch = taken.get("epoch").asLong();
      assertTrue(newEpoch > frozenEpoch);
      // a write sent to the frozen core waits in its socket; it must not land when the core wakes
      var staleWrite = new Thread(() -> heyken.post(heyken.inspectionPort("registry", 1), "/api/components",
          "{\"name\":\"stale-write\",\"url\":\"http://127.0.0.1:1/\"}", heyken.token()));
      staleWrite.start();
      // the freeze lasts 15 s (the scenario, not synchronization): longer than the lease and the SBR path
      Thread.sleep(Math.max(0, Duration.ofSeconds(15).minusNanos(System.nanoTime() - frozenAt).toMillis()));
      heyken.signal(1, "CONT");
      staleWrite.join(15_000);

      heyken.awaitStatus("core 1 back as standby after waking", Duration.ofSeconds(60), s ->
          s.path("healthy").asBoolean() && s.path("active_core").asInt() == 2);
      watching.set(false);
      watcher.join(5_000);

      Document last = fence.find(Filters.eq("_id", "active-core")).first();
      assertTrue(last.get("epoch", Number.class).longValue() >= newEpoch);
      for (int i = 1; i < epochs.size(); i++) {
        assertTrue(epochs.get(i) >= epochs.get(i - 1), "the active core's epoch went back: " + epochs);
      }
      assertEquals(List.of(), bothActive, "two cores reported themselves active at once");
      var stale = heyken.get(heyken.port("registry"), "/api/components/stale-write");
      assertEquals(404, stale.status(), "a write the stale core took after waking landed: " + stale.raw() + dump());
    }
  }
}
