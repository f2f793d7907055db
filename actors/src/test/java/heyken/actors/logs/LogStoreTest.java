package heyken.actors.logs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import heyken.actors.support.TestLogStore;
import heyken.protocol.api.LogLine;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The log store's queries, live tail and retention against a real PostgreSQL (a fresh database per test), the lines
 * written by the ingest path's COPY ({@link LogWriter}).
 */
class LogStoreTest {

  private static final Instant NOW = Instant.now();
  private static ActorTestKit testKit;
  private TestLogStore pg;
  private LogStore logs;

  @BeforeAll
  static void start() {
    testKit = ActorTestKit.create("log-store-test");
  }

  @AfterAll
  static void stop() {
    testKit.shutdownTestKit();
  }

  @BeforeEach
  void freshDatabase() {
    pg = new TestLogStore(LogSettings.defaults("unused", 1000));
    logs = pg.store();
  }

  @AfterEach
  void closeDatabase() {
    pg.close();
  }

  private static <T> T await(CompletionStage<T> stage) throws Exception {
    return stage.toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  /** A stored line as the appender writes it. */
  private static LogRow line(Instant at, String level, String component, String message, Map<String, String> mdc) {
    return TestLogStore.row(at, level, component, message, mdc);
  }

  private void insert(List<LogRow> rows) {
    pg.write(rows);
  }

  private static LogQuery query(Map<String, String> params) {
    var parsed = LogQuery.parse(params, 1000, Instant.now());
    assertNull(parsed.problem(), () -> String.valueOf(parsed.problem()));
    return parsed.query();
  }

  private static List<String> messages(List<LogLine> lines) {
    return lines.stream().map(LogLine::message).collect(Collectors.toList());
  }

  @Test
  void featureAndRunFindTheLinesOfOneRunAndKeepTheirMdc() throws Exception {
    insert(List.of(
        line(NOW.minusSeconds(3), "INFO", "feature", "run r1 started", Map.of("feature", "7", "run", "r1")),
        line(NOW.minusSeconds(2), "INFO", "sandbox", "hello from the job", Map.of("feature", "7", "run", "r1",
            "job", "test")),
        line(NOW.minusSeconds(2), "INFO", "sandbox", "another run", Map.of("feature", "7", "run", "r2")),
        line(NOW.minusSeconds(1), "INFO", "sandbox", "another feature", Map.of("feature", "8", "run", "r3")),
        line(NOW.minusSeconds(1), "INFO", "bot", "room decision", Map.of("room", "GENERAL"))));

    var run = await(logs.find(query(Map.of("feature", "7", "run", "r1")))).logs();
    assertEquals(List.of("hello from the job", "run r1 started"), messages(run), "newest first, only run r1");
    assertEquals("test", run.get(0).mdc().get("job"));
    assertEquals("r1", run.get(0).mdc().get("run"));
    assertEquals(3, await(logs.find(query(Map.of("feature", "7")))).logs().size());
    assertEquals(List.of("room decision"), messages(await(logs.find(query(Map.of("room", "GENERAL")))).logs()));
    assertEquals(List.of(), await(logs.find(query(Map.of("run", "r9")))).logs());
  }

  @Test
  void pagesFollowTheNextTokenWithoutGapsOrRepeats() throws Exception {
    var docs = new ArrayList<LogRow>();
    for (int i = 0; i < 25; i++) {
      // pairs with the same time: the cursor must order by id within a millisecond
      docs.add(line(NOW.minusMillis(1000 - (i / 2)), i % 5 == 0 ? "ERROR" : "INFO", "core", "line " + i, Map.of()));
    }
    insert(docs);
    var seen = new ArrayList<String>();
    var params = new HashMap<String, String>(Map.of("limit", "10"));
    LogLine.Page page;
    do {
      page = await(logs.find(query(params)));
      seen.addAll(messages(page.logs()));
      params.put("after", page.next() == null ? "" : page.next());
    } while (page.next() != null);
    assertEquals(25, seen.size());
    assertEquals(25, seen.stream().distinct().count());
    assertEquals(5, await(logs.find(query(Map.of("level", "ERROR")))).logs().size());
  }

  @Test
  void theNewestPageComesFromTheRecentWindowsAndPagingReachesTheOldestLines() throws Exception {
    insert(List.of(
        line(NOW.minus(Duration.ofDays(30)), "INFO", "core", "a month ago", Map.of()),
        line(NOW.minus(Duration.ofDays(3)), "INFO", "core", "three days ago", Map.of()),
        line(NOW.minus(Duration.ofHours(5)), "INFO", "core", "five hours ago", Map.of()),
        line(NOW.minusSeconds(60), "INFO", "core", "a minute ago", Map.of())));
    var first = await(logs.find(query(Map.of("limit", "1"))));
    assertEquals(List.of("a minute ago"), messages(first.logs()));
    var all = new ArrayList<String>(messages(first.logs()));
    var params = new HashMap<String, String>(Map.of("limit", "1", "after", first.next()));
    while (true) {
      var page = await(logs.find(query(params)));
      all.addAll(messages(page.logs()));
      if (page.next() == null) {
        break;
      }
      params.put("after", page.next());
    }
    assertEquals(List.of("a minute ago", "five hours ago", "three days ago", "a month ago"), all);
    assertEquals(4, await(logs.find(query(Map.of()))).logs().size(), "a page larger than every window");
    assertEquals(List.of("three days ago", "a month ago"),
        messages(await(logs.find(query(Map.of("until", "-1d")))).logs()));
  }

  @Test
  void sqlAndOperatorTextIsMatchedLiterallyAndBounded() throws Exception {
    insert(List.of(
        line(NOW, "INFO", "http", "name=' OR 1=1; DROP TABLE logs; --", Map.of()),
        line(NOW, "INFO", "http", "ordinary", Map.of())));
    assertEquals(1, await(logs.find(query(Map.of("contains", "' OR 1=1; DROP TABLE logs; --")))).logs().size());
    assertEquals(0, await(logs.find(query(Map.of("contains", ".*")))).logs().size(), "not a pattern");
    assertEquals(0, await(logs.find(query(Map.of("contains", "$(rm -rf /)")))).logs().size());
    assertEquals(2, pg.count(), "nothing was dropped");
  }

  @Test
  void theTailSendsEachLineOnceIncludingLinesThatArriveLate() throws Exception {
    var tail = logs.tail(query(Map.of("component", "core")), NOW.minusSeconds(60));
    insert(List.of(
        line(NOW.minusSeconds(30), "INFO", "core", "a", Map.of()),
        line(NOW.minusSeconds(20), "INFO", "core", "b", Map.of()),
        line(NOW.minusSeconds(20), "INFO", "http", "other component", Map.of())));
    assertEquals(List.of("a", "b"), messages(await(tail.poll()).lines()));
    assertEquals(List.of(), await(tail.poll()).lines(), "nothing new, nothing repeated");
    insert(List.of(
        line(NOW.minusSeconds(22), "INFO", "core", "late, inside the overlap", Map.of()),
        line(NOW.minusSeconds(10), "INFO", "core", "c", Map.of()),
        line(NOW.minusSeconds(90), "INFO", "core", "before the start", Map.of())));
    assertEquals(List.of("late, inside the overlap", "c"), messages(await(tail.poll()).lines()));
    assertEquals(List.of(), await(tail.poll()).lines());
  }

  @Test
  void theTailMovesOnThroughABacklogLargerThanABatch() throws Exception {
    var docs = new ArrayList<LogRow>();
    for (int i = 0; i < 250; i++) {
      docs.add(line(NOW.minusSeconds(5), "INFO", "core", "burst " + i, Map.of())); // all in one millisecond
    }
    insert(docs);
    var tail = logs.tail(query(Map.of("limit", "100")), NOW.minusSeconds(60));
    var got = new ArrayList<String>();
    LogTail.Batch batch;
    int polls = 0;
    do {
      batch = await(tail.poll());
      got.addAll(messages(batch.lines()));
      assertTrue(++polls <= 4, "the tail is stuck on lines it already sent");
    } while (batch.more());
    assertEquals(250, got.size());
    assertEquals(250, got.stream().distinct().count());
  }

  @Test
  void aTailWithAnUntilEndsOnceItHasPassed() {
    assertTrue(logs.tail(query(Map.of("until", "-1h")), NOW).finished(Instant.now()));
    assertFalse(logs.tail(query(Map.of("until", "-1s")), NOW).finished(Instant.now()), "within the overlap");
    assertFalse(logs.tail(query(Map.of()), NOW).finished(Instant.now()));
  }

  @Test
  void retentionDeletesByAgeThenTheOldestBeyondTheMaximum() {
    var docs = new ArrayList<LogRow>();
    for (int day = 0; day < 10; day++) {
      docs.add(line(NOW.minus(Duration.ofHours(24L * day + 12)), "INFO", "core", "day " + day, Map.of()));
    }
    insert(docs);
    var pruned = logs.prune(NOW, Duration.ofDays(5), 0);
    assertEquals(new LogStore.Pruned(5, 0), pruned, "days 5..9 are older than 5 days");
    assertEquals(new LogStore.Pruned(0, 0), logs.prune(NOW, Duration.ZERO, 5), "at the maximum: nothing to do");
    pruned = logs.prune(NOW, Duration.ZERO, 4);
    assertEquals(new LogStore.Pruned(0, 1), pruned, "one over four: down to four (a tenth of 4 rounds to 0)");
    for (int i = 0; i < 16; i++) {
      insert(List.of(line(NOW.minusSeconds(i), "INFO", "core", "new " + i, Map.of())));
    }
    pruned = logs.prune(NOW, Duration.ZERO, 10);
    assertEquals(new LogStore.Pruned(0, 11), pruned, "20 lines, at most 10: down to 9, the newest");
    var left = new ArrayList<String>(pg.messages());
    left.sort(null);
    assertEquals(List.of("new 0", "new 1", "new 2", "new 3", "new 4", "new 5", "new 6", "new 7", "new 8"), left);
    assertEquals(new LogStore.Pruned(0, 0), logs.prune(NOW, Duration.ofDays(5), 10), "a second pass is a no-op");
  }

  @Test
  void retentionRunsOnlyWhileTheCoreIsActive() {
    insert(List.of(
        line(NOW.minus(Duration.ofDays(30)), "INFO", "core", "old", Map.of()),
        line(NOW, "INFO", "core", "new", Map.of())));
    var s = logs.settings();
    var fast = new LogStore(pg.db(), new LogSettings(s.collection(), s.bufferSize(),
        s.batchSize(), s.parallelWrites(), s.flushInterval(), s.maxQueryLimit(), s.maxConcurrentQueries(), s.dropReportInterval(), s.stream(),
        new LogSettings.Retention(Duration.ofDays(7), 0, Duration.ofMillis(100))));
    var active = new AtomicBoolean(false);
    var asked = new AtomicInteger();
    var retention = testKit.spawn(LogRetention.create(fast, () -> {
      asked.incrementAndGet();
      return active.get();
    }));
    var probe = testKit.createTestProbe();
    // standby: several intervals pass and nothing is deleted
    probe.awaitAssert(Duration.ofSeconds(10), () -> {
      assertTrue(asked.get() >= 3);
      return null;
    });
    assertEquals(2, pg.count());
    active.set(true);
    probe.awaitAssert(Duration.ofSeconds(10), () -> {
      assertEquals(1, pg.count());
      return null;
    });
    assertEquals(List.of("new"), pg.messages());
    testKit.stop(retention);
  }

  @Test
  void aQueryBeyondTheConcurrentMaximumIsRefusedAtOnceNotQueued() throws Exception {
    var s = logs.settings();
    var none = new LogStore(pg.db(), new LogSettings(s.collection(), s.bufferSize(),
        s.batchSize(), s.parallelWrites(), s.flushInterval(), s.maxQueryLimit(), 0, s.dropReportInterval(), s.stream(), s.retention()));
    var failure = none.find(query(Map.of())).toCompletableFuture().handle((page, e) -> e).get(5, TimeUnit.SECONDS);
    assertTrue(failure instanceof LogStore.Busy, String.valueOf(failure));
    // the permits come back: a store with one answers query after query
    insert(List.of(line(NOW, "INFO", "core", "x", Map.of())));
    for (int i = 0; i < 5; i++) {
      assertEquals(1, await(logs.find(query(Map.of()))).logs().size());
    }
  }

  @Test
  void everyFilterIsServedByAnIndexInThePagesOrder() throws Exception {
    insert(List.of(line(NOW, "INFO", "core", "x", Map.of("feature", "f", "run", "r", "room", "R"))));
    for (String filter : List.of("level=WARN", "level=ERROR", "component=core", "core=1", "feature=f", "run=r",
        "room=R", "since=-1h")) {
      var params = new HashMap<String, String>();
      params.put(filter.substring(0, filter.indexOf('=')), filter.substring(filter.indexOf('=') + 1));
      String plan = explain(query(params));
      // with scans and sorts made as expensive as possible, only an index giving (ts, id) order answers a page
      assertFalse(plan.contains("Seq Scan"), () -> filter + ":\n" + plan);
      assertFalse(plan.contains("Sort"), () -> filter + ":\n" + plan);
    }
    // contains: served by the trigram indexes built after the lines are written (LogSearchIndexTest)
  }

  private String explain(LogQuery q) {
    return pg.db().withConnection(c -> {
      var params = new ArrayList<Object>();
      String sql = "EXPLAIN SELECT " + LogStore.COLUMNS + " FROM log_lines WHERE " + LogStore.where(q, params)
          + " ORDER BY ts DESC, id DESC LIMIT 11";
      var out = new StringBuilder();
      try (var st = c.createStatement()) {
        st.execute("SET enable_seqscan = off");
        boolean text = q.contains() != null;
        st.execute("SET enable_sort = " + (text ? "on" : "off"));
        st.execute("SET enable_indexscan = " + (text ? "off" : "on"));
        st.execute("SET enable_indexonlyscan = " + (text ? "off" : "on"));
        st.execute("SET enable_bitmapscan = " + (text ? "on" : "off"));
      }
      try (var s = LogStore.prepare(c, sql, params)) {
        try (var rs = s.executeQuery()) {
          while (rs.next()) {
            out.append(rs.getString(1)).append('\n');
          }
        }
      } finally {
        try (var st = c.createStatement()) {
          st.execute("RESET ALL");
        }
      }
      return out.toString();
    });
  }
}
