package heyken.actors.logs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import heyken.actors.postgres.PostgresDatabase;
import heyken.actors.support.TestStore;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

/**
 * Lines logged through SLF4J reach the log store (a real PostgreSQL) through the real path: appender, bounded buffer,
 * batching shipper, COPY.
 */
class LogShippingTest {

  private static TestStore store;
  private static ActorTestKit testKit;
  private static PostgresDatabase db;
  private static MongoLogAppender appender;
  private static final List<ch.qos.logback.classic.Logger> attached = new ArrayList<>();

  @BeforeAll
  static void start() {
    store = new TestStore();
    testKit = ActorTestKit.create("log-shipping-test", store.config("""
        heyken.logs.flush-interval = 50ms
        """));
    LogBuffer.configure(20_000, 2, () -> 7L);
    var context = (LoggerContext) LoggerFactory.getILoggerFactory();
    appender = new MongoLogAppender();
    appender.setContext(context);
    appender.start();
    for (String name : List.of("heyken.test.shipping", RunOutputLog.LOGGER)) {
      var logger = context.getLogger(name);
      logger.setLevel(Level.INFO);
      logger.addAppender(appender);
      attached.add(logger);
    }
    testKit.spawn(LogShipper.create(), "log-shipper");
    db = PostgresDatabase.get(testKit.system());
  }

  @AfterAll
  static void stop() {
    attached.forEach(l -> l.detachAppender(appender));
    testKit.shutdownTestKit();
    store.close();
  }

  /** The stored row of a message (column name to value, mdc as its JSON text), or null. */
  private static Map<String, Object> line(String message) {
    if (!db.isReady()) {
      return null;
    }
    return db.withConnection(c -> {
      try (var s = c.prepareStatement("SELECT * FROM log_lines WHERE message = ? LIMIT 1")) {
        s.setString(1, message);
        try (var rs = s.executeQuery()) {
          if (!rs.next()) {
            return null;
          }
          var row = new LinkedHashMap<String, Object>();
          for (int i = 1; i <= rs.getMetaData().getColumnCount(); i++) {
            row.put(rs.getMetaData().getColumnName(i), rs.getObject(i) == null ? null : rs.getObject(i).toString());
          }
          return row;
        }
      }
    });
  }

  private static long count(String where, String value) {
    return db.withConnection(c -> {
      try (var s = c.prepareStatement("SELECT count(*) FROM log_lines WHERE " + where)) {
        s.setString(1, value);
        try (var rs = s.executeQuery()) {
          rs.next();
          return rs.getLong(1);
        }
      }
    });
  }

  private static Map<String, Object> awaitLine(String message) {
    return testKit.createTestProbe().awaitAssert(Duration.ofSeconds(20), () -> {
      var d = line(message);
      assertTrue(d != null, "not stored yet: " + message);
      return d;
    });
  }

  private static String mdc(Map<String, Object> row, String key) throws Exception {
    var json = new com.fasterxml.jackson.databind.ObjectMapper().readTree((String) row.get("mdc"));
    return json.path(key).isMissingNode() ? null : json.path(key).asText();
  }

  @Test
  void aLoggedLineIsStoredWithItsCoreEpochAndMdcIdsAtTheTopLevelToo() throws Exception {
    var log = LoggerFactory.getLogger("heyken.test.shipping");
    MDC.put("feature", "42");
    MDC.put("run", "r-1");
    MDC.put("room", "ROOM1");
    try {
      log.warn("shipped with ids");
    } finally {
      MDC.clear();
    }
    log.debug("below the stored level");
    var d = awaitLine("shipped with ids");
    assertEquals("WARN", d.get("level"));
    assertEquals("3", d.get("level_num"));
    assertEquals("2", d.get("core"));
    assertEquals("7", d.get("epoch"));
    assertEquals("42", d.get("feature"));
    assertEquals("r-1", d.get("run"));
    assertEquals("ROOM1", d.get("room"));
    assertEquals("42", mdc(d, "feature"));
    assertEquals("r-1", mdc(d, "run"));
    assertNull(line("below the stored level"));
  }

  @Test
  void sandboxOutputIsStoredLineByLineTaggedWithFeatureRunAndJob() throws Exception {
    var live = new StringBuilder();
    try (var output = new RunOutputLog((stream, text) -> live.append(text), "9", "run-out", "test", 1_000_000)) {
      output.output("stdout", "first li");
      output.output("stdout", "ne\nsecond line\nunfinished");
      output.output("stderr", "an error\n");
    }
    assertEquals("first line\nsecond line\nunfinishedan error\n", live.toString(), "the run log gets it all");
    for (String message : List.of("first line", "second line", "unfinished", "an error")) {
      var d = awaitLine(message);
      assertEquals("9", d.get("feature"));
      assertEquals("run-out", d.get("run"));
      assertEquals("test", d.get("job"));
      assertEquals("test", mdc(d, "job"));
      assertEquals("sandbox", d.get("component"));
    }
    assertEquals("WARN", awaitLine("an error").get("level"));
    assertEquals("stderr", awaitLine("an error").get("stream"));
    assertEquals("stdout", awaitLine("first line").get("stream"));
  }

  @Test
  void sandboxOutputBeyondTheCapIsNotLogged() {
    try (var output = new RunOutputLog((stream, text) -> {}, "9", "run-cap", "test", 20)) {
      output.output("stdout", "0123456789\n");
      output.output("stdout", "this line passes the cap\n");
    }
    awaitLine("[the run's output beyond 2147483647 lines or 20 bytes is not stored in the log store; the run's own "
        + "log keeps up to the sandbox's output cap per job]");
    assertEquals(2, count("run = ?", "run-cap"));
  }

  @Test
  void aRunStoresAtMostItsBoundOverAllItsJobsAndCountsWhatItLeftOut() {
    var budget = new RunOutputBudget(100, 1_000_000);
    RunOutputLog.Dropped first;
    RunOutputLog.Dropped second;
    try (var build = new RunOutputLog((stream, text) -> {}, "9", "run-bound", "build", budget)) {
      // 60 lines, then 25,000 short lines in chunks as a pipe delivers them
      for (int i = 0; i < 60; i++) {
        build.output("stdout", "build " + i + "\n");
      }
      build.output("stdout", "x\n".repeat(25_000));
      build.close();
      first = build.dropped();
    }
    try (var test = new RunOutputLog((stream, text) -> {}, "9", "run-bound", "test", budget)) {
      test.output("stderr", "y\n".repeat(1_000));
      test.close();
      second = test.dropped();
    }
    // the first job used 100 of the run's lines, the second job none is left
    assertEquals(new RunOutputLog.Dropped(24_960, 49_920), first);
    assertEquals(new RunOutputLog.Dropped(1_000, 2_000), second);
    String note = "[the run's output beyond 100 lines or 1000000 bytes is not stored in the log store; the run's own "
        + "log keeps up to the sandbox's output cap per job]";
    awaitLine(note);
    testKit.createTestProbe().awaitAssert(Duration.ofSeconds(20), () -> {
      // 100 lines of output and one note per job
      assertEquals(102, count("run = ?", "run-bound"));
      return null;
    });
    assertEquals(0, count("run = ? AND job = 'test' AND message = 'y'", "run-bound"));
  }

  @Test
  void aFloodOfJobOutputDropsOnlyJobLinesNeverTheSystems() {
    // a small queue for job output: the flood overflows it for sure
    LogBuffer.configure(20_000, 200, 2, () -> 7L);
    try {
      long droppedBefore = LogBuffer.get().dropped();
      long runDroppedBefore = LogBuffer.get().droppedRunOutput();
      var system = LoggerFactory.getLogger("heyken.test.shipping");
      try (var flood = new RunOutputLog((stream, text) -> {}, "9", "run-flood", "test",
          new RunOutputBudget(Integer.MAX_VALUE, Long.MAX_VALUE))) {
        for (int i = 0; i < 2_000; i++) {
          flood.output("stdout", "flood\n".repeat(50));
          system.info("system line during the flood {}", i);
        }
      }
      long runDropped = LogBuffer.get().droppedRunOutput() - runDroppedBefore;
      assertTrue(runDropped > 0, "the flood did not overflow its queue");
      assertEquals(runDropped, LogBuffer.get().dropped() - droppedBefore, "only job output was dropped");
      testKit.createTestProbe().awaitAssert(Duration.ofSeconds(30), () -> {
        assertEquals(2_000, count("message LIKE ?", "system line during the flood %"));
        return null;
      });
    } finally {
      LogBuffer.configure(20_000, LogBuffer.DEFAULT_RUN_OUTPUT_CAPACITY, 2, () -> 7L);
    }
  }

  @Test
  void aBurstIsWrittenInBatchesAndCounted() {
    var log = LoggerFactory.getLogger("heyken.test.shipping");
    long before = LogBuffer.get().written();
    for (int i = 0; i < 5_000; i++) {
      log.info("burst {}", i);
    }
    testKit.createTestProbe().awaitAssert(Duration.ofSeconds(20), () -> {
      assertEquals(5_000, count("message LIKE ?", "burst %"));
      return null;
    });
    assertTrue(LogBuffer.get().written() - before >= 5_000);
  }
}
