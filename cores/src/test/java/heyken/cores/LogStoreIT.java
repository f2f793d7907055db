package heyken.cores;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import heyken.testkit.HeykenProcesses;
import heyken.testkit.postgres.PostgresServer;
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
import org.junit.jupiter.api.Test;

/**
 * The log store (a real PostgreSQL) with both cores as separate JVMs: a log flood (one access-log line per request)
 * while the active core is killed with -9, and PostgreSQL itself killed with -9 while lines come in.
 */
class LogStoreIT {

  private static final Duration START = Duration.ofSeconds(90);

  private static HeykenProcesses installation(PostgresServer postgres) throws Exception {
    Path jar = HeykenProcesses.itJar();
    var heyken = new HeykenProcesses(jar, Files.createTempDirectory("heyken-logstore-"), postgres);
    try {
      heyken.startStore();
      heyken.startCore(1);
      heyken.startCore(2);
      heyken.awaitStatus("core 1 active and both cores up", START,
          s -> s.path("healthy").asBoolean() && s.path("active_core").asInt() == 1);
      return heyken;
    } catch (Exception | AssertionError e) {
      heyken.close(); // an installation that did not come up leaves no process behind
      throw e;
    }
  }

  /** Requests for distinct paths at core {@code id}'s inspection port: each answered one is an access-log line. */
  private static Thread flood(HeykenProcesses heyken, int id, String prefix, AtomicBoolean running,
      List<String> answered) {
    var counter = new AtomicInteger();
    var t = new Thread(() -> {
      while (running.get()) {
        String name = prefix + counter.incrementAndGet();
        var r = heyken.get(heyken.inspectionPort("registry", id), "/api/components/" + name);
        if (r.status() == 404) {
          answered.add(name);
        }
      }
    }, "flood-" + prefix);
    t.start();
    return t;
  }

  private static Set<String> storedPaths(HeykenProcesses heyken, String prefix) {
    try (var c = heyken.postgres().connect(heyken.postgresDatabase());
        var s = c.prepareStatement("SELECT message FROM log_lines WHERE component = 'access' AND message LIKE ?")) {
      s.setString(1, "GET /api/components/" + prefix + "%");
      var out = new HashSet<String>();
      try (var rs = s.executeQuery()) {
        while (rs.next()) {
          String m = rs.getString(1);
          out.add(m.substring("GET /api/components/".length(), m.indexOf(' ', "GET /api/components/".length())));
        }
      }
      return out;
    } catch (java.sql.SQLException e) {
      throw new AssertionError("the log store cannot be read: " + e, e);
    }
  }

  @Test
  void aLogFloodDuringAFailoverIsStoredAndTheSurvivorBecomesActive() throws Exception {
    try (var heyken = installation(PostgresServer.shared())) {
      var running = new AtomicBoolean(true);
      var answered = Collections.synchronizedList(new ArrayList<String>());
      var floods = List.of(flood(heyken, 2, "flood-a-", running, answered),
          flood(heyken, 2, "flood-b-", running, answered));
      try {
        HeykenProcesses.await("the flood is being stored", Duration.ofSeconds(60),
            () -> storedPaths(heyken, "flood-").size() > 200);
        heyken.kill9(1);
        heyken.awaitStatus("core 2 active after the kill of core 1", Duration.ofSeconds(60),
            s -> s.path("active_core").asInt() == 2);
        int atFailover = answered.size();
        HeykenProcesses.await("the flood goes on after the failover", Duration.ofSeconds(30),
            () -> answered.size() > atFailover + 200);
      } finally {
        running.set(false);
        for (Thread t : floods) {
          t.join(10_000);
        }
      }
      var status = heyken.statusFrom(2);
      long dropped = status.path("logs").path("dropped").asLong();
      assertEquals(0, dropped, "core 2 dropped no line: " + status.path("logs"));
      Set<String> expected = new HashSet<>(answered);
      HeykenProcesses.await("every answered request of the flood is in the log store", Duration.ofSeconds(60),
          () -> storedPaths(heyken, "flood-").containsAll(expected));
      assertTrue(expected.size() > 400, "the flood ran: " + expected.size());
      // and the Logger API of the new active core finds them
      var page = heyken.get(heyken.port("logger"), "/api/logs?component=access&core=2&limit=5");
      assertEquals(200, page.status(), page.raw());
      assertEquals(5, page.body().get("logs").size());
    }
  }

  @Test
  void postgresKilledDuringIngestIs503ForTheLoggerApiOnlyAndIngestResumesWhenItIsBack() throws Exception {
    var postgres = PostgresServer.start();
    try (var heyken = installation(postgres)) {
      var running = new AtomicBoolean(true);
      var answered = Collections.synchronizedList(new ArrayList<String>());
      var flood = flood(heyken, 1, "pgkill-", running, answered);
      try {
        HeykenProcesses.await("the flood is being stored", Duration.ofSeconds(60),
            () -> storedPaths(heyken, "pgkill-").size() > 100);
        postgres.kill9();
        HeykenProcesses.await("the Logger API says the store is unavailable", Duration.ofSeconds(30), () -> {
          var r = heyken.get(heyken.port("logger"), "/api/logs?limit=1");
          return r.status() == 503 && "store_unavailable".equals(r.body().path("error").asText());
        });
        // the rest of the system does not notice: the cores stay up, the active one keeps serving
        var status = heyken.status();
        assertTrue(status.path("healthy").asBoolean(), status.toString());
        assertEquals(1, status.path("active_core").asInt());
        int whileDown = answered.size();
        HeykenProcesses.await("requests are answered while the log store is away", Duration.ofSeconds(30),
            () -> answered.size() > whileDown + 100);
        postgres.restart();
        HeykenProcesses.await("the Logger API answers again", Duration.ofSeconds(60),
            () -> heyken.get(heyken.port("logger"), "/api/logs?limit=1").status() == 200);
      } finally {
        running.set(false);
        flood.join(10_000);
      }
      Set<String> expected = new HashSet<>(answered);
      HeykenProcesses.await("every line the buffer took is stored once the store is back", Duration.ofSeconds(60),
          () -> heyken.statusFrom(1).path("logs").path("buffered").asLong() == 0);
      long dropped = heyken.statusFrom(1).path("logs").path("dropped").asLong();
      Set<String> stored = storedPaths(heyken, "pgkill-");
      long missing = expected.stream().filter(p -> !stored.contains(p)).count();
      assertTrue(missing <= dropped, missing + " answered requests have no stored line, " + dropped + " dropped");
      assertEquals(0, dropped, "the buffer held the outage");
    } finally {
      postgres.close();
    }
  }
}
