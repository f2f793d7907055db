package heyken.actors.logs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import heyken.actors.postgres.PostgresDatabase;
import heyken.actors.support.TestLogStore;
import heyken.testkit.postgres.PostgresServer;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.junit.jupiter.api.Test;

/**
 * The real PostgreSQL server killed with -9 while lines stream in: logging never waits, the Logger API's reads fail
 * as "unavailable" (a 503), the shipper resumes by itself once the server is back, and every line the buffer took
 * and did not drop is stored exactly once. Also a big batch through the ingest path.
 */
class LogIngestFaultTest {

  private static LogSettings settings() {
    var d = LogSettings.defaults("unused", 1000);
    return new LogSettings(d.collection(), 50_000, 2_000, 2, Duration.ofMillis(50), 1000, 8, Duration.ofSeconds(1),
        d.stream(), d.retention());
  }

  private static long count(TestLogStore pg, String like) {
    return pg.db().withConnection(c -> {
      try (var s = c.prepareStatement("SELECT count(*), count(DISTINCT message) FROM log_lines WHERE message LIKE ?")) {
        s.setString(1, like);
        try (var rs = s.executeQuery()) {
          rs.next();
          assertEquals(rs.getLong(1), rs.getLong(2), "no line is stored twice");
          return rs.getLong(1);
        }
      }
    });
  }

  @Test
  void aServerKilledDuringIngestLosesNothingTheBufferTookAndIngestResumesByItself() throws Exception {
    var server = PostgresServer.start();
    var testKit = ActorTestKit.create("log-ingest-fault-test");
    var settings = settings();
    LogBuffer.configure(settings.bufferSize(), 1, () -> 1L);
    try (var pg = new TestLogStore(server, settings)) {
      testKit.spawn(LogShipper.create(pg.writer(), pg.db(), settings), "shipper");
      long droppedBefore = LogBuffer.get().dropped();
      long writtenBefore = LogBuffer.get().written();
      var offered = new AtomicLong();
      var stop = new AtomicBoolean();
      var producer = new Thread(() -> {
        long i = 0;
        while (!stop.get()) {
          LogBuffer.get().offer(TestLogStore.row(Instant.now(), "INFO", "core", "fault " + i++, Map.of()));
          offered.incrementAndGet();
          if (i % 10 == 0) {
            try {
              Thread.sleep(1); // about 5-10k lines/s
            } catch (InterruptedException e) {
              return;
            }
          }
        }
      }, "fault-producer");
      producer.start();
      var probe = testKit.createTestProbe();
      probe.awaitAssert(Duration.ofSeconds(20), () -> {
        assertTrue(count(pg, "fault %") > 1000, "ingest runs");
        return null;
      });

      server.kill9();
      // reads fail as unavailable (the Logger API's 503 store_unavailable), never hang
      var parsed = LogQuery.parse(Map.of("limit", "10"), 1000, Instant.now());
      long t0 = System.nanoTime();
      var failure = pg.store().find(parsed.query()).toCompletableFuture().handle((p, e) -> e).get(20, TimeUnit.SECONDS);
      Throwable cause = failure instanceof CompletionException ? failure.getCause() : failure;
      assertTrue(PostgresDatabase.isConnectionProblem(cause), () -> "got " + cause);
      assertTrue(System.nanoTime() - t0 < TimeUnit.SECONDS.toNanos(10));
      long offeredWhileDown = offered.get();
      Thread.sleep(1500); // lines keep coming while the server is away
      assertTrue(offered.get() > offeredWhileDown, "logging did not wait for the store");

      server.restart();
      Thread.sleep(1000);
      stop.set(true);
      producer.join(10_000);

      probe.awaitAssert(Duration.ofSeconds(60), () -> {
        assertEquals(0, LogBuffer.get().buffered(), "the backlog drains by itself");
        return null;
      });
      long dropped = LogBuffer.get().dropped() - droppedBefore;
      long stored = count(pg, "fault %");
      assertEquals(offered.get() - dropped, stored, "every line the buffer took and did not drop is stored");
      assertEquals(stored, LogBuffer.get().written() - writtenBefore);
    } finally {
      testKit.shutdownTestKit();
      server.close();
      LogBuffer.configure(20_000, 0, () -> 0L);
    }
  }

  @Test
  void aBigBatchGoesInThroughTheIngestPath() {
    try (var pg = new TestLogStore(settings())) {
      var rows = new java.util.ArrayList<LogRow>();
      Instant now = Instant.now();
      for (int i = 0; i < 50_000; i++) {
        rows.add(TestLogStore.row(now.minusMillis(i), i % 100 == 0 ? "ERROR" : "INFO", "core",
            "big\tbatch " + i + (i % 7 == 0 ? " with\nnewline and \\ backslash" : ""),
            i % 3 == 0 ? Map.of("feature", "f" + (i % 10), "run", "r" + i) : Map.of()));
      }
      long t0 = System.nanoTime();
      for (int from = 0; from < rows.size(); from += 5_000) {
        pg.write(rows.subList(from, from + 5_000));
      }
      long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
      assertEquals(50_000, pg.count());
      System.out.println("50k lines in " + ms + " ms (" + (50_000L * 1000 / Math.max(1, ms)) + " lines/s)");
      var page = pg.store().find(LogQuery.parse(Map.of("level", "ERROR", "limit", "1000"), 1000, Instant.now())
          .query()).toCompletableFuture().join();
      assertEquals(500, page.logs().size());
      var seven = pg.store().find(LogQuery.parse(Map.of("contains", "batch 7 with\nnewline"), 1000, Instant.now())
          .query()).toCompletableFuture().join();
      assertEquals("big\tbatch 7 with\nnewline and \\ backslash", seven.logs().get(0).message(), "text kept exactly");
    }
  }
}
