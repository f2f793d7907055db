package heyken.actors.logs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import com.mongodb.client.MongoCollection;
import com.mongodb.client.model.Filters;
import heyken.actors.store.MongoStore;
import heyken.actors.support.TestStore;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.bson.Document;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

/** Lines logged through SLF4J reach the store through the real path: appender, bounded buffer, batching shipper. */
class LogShippingTest {

  private static TestStore store;
  private static ActorTestKit testKit;
  private static MongoCollection<Document> collection;
  private static MongoLogAppender appender;
  private static final List<ch.qos.logback.classic.Logger> attached = new ArrayList<>();

  @BeforeAll
  static void start() {
    store = new TestStore();
    testKit = ActorTestKit.create("log-shipping-test", store.config("""
        heyken.logs.collection = "shipped_logs"
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
    collection = MongoStore.get(testKit.system()).database().getCollection("shipped_logs");
  }

  @AfterAll
  static void stop() {
    attached.forEach(l -> l.detachAppender(appender));
    testKit.shutdownTestKit();
    store.close();
  }

  private static Document awaitLine(String message) {
    return testKit.createTestProbe().awaitAssert(Duration.ofSeconds(10), () -> {
      Document d = collection.find(Filters.eq("message", message)).first();
      assertTrue(d != null, "not stored yet: " + message);
      return d;
    });
  }

  @Test
  void aLoggedLineIsStoredWithItsCoreEpochAndMdcIdsAtTheTopLevelToo() {
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
    Document d = awaitLine("shipped with ids");
    assertEquals("WARN", d.getString("level"));
    assertEquals(30000, d.getInteger("lvl"));
    assertEquals(2, d.getInteger("core"));
    assertEquals(7L, d.getLong("epoch"));
    assertEquals("42", d.getString("feature"));
    assertEquals("r-1", d.getString("run"));
    assertEquals("ROOM1", d.getString("room"));
    var mdc = d.get("mdc", Document.class);
    assertEquals("42", mdc.getString("feature"));
    assertEquals("r-1", mdc.getString("run"));
    assertNull(collection.find(Filters.eq("message", "below the stored level")).first());
  }

  @Test
  void sandboxOutputIsStoredLineByLineTaggedWithFeatureRunAndJob() {
    var live = new StringBuilder();
    try (var output = new RunOutputLog((stream, text) -> live.append(text), "9", "run-out", "test", 1_000_000)) {
      output.output("stdout", "first li");
      output.output("stdout", "ne\nsecond line\nunfinished");
      output.output("stderr", "an error\n");
    }
    assertEquals("first line\nsecond line\nunfinishedan error\n", live.toString(), "the run log gets it all");
    for (String message : List.of("first line", "second line", "unfinished", "an error")) {
      Document d = awaitLine(message);
      assertEquals("9", d.getString("feature"));
      assertEquals("run-out", d.getString("run"));
      assertEquals("test", d.get("mdc", Document.class).getString("job"));
      assertEquals("sandbox", d.getString("component"));
    }
    assertEquals("WARN", awaitLine("an error").getString("level"));
    assertEquals("stderr", awaitLine("an error").get("mdc", Document.class).getString("stream"));
  }

  @Test
  void sandboxOutputBeyondTheCapIsNotLogged() {
    try (var output = new RunOutputLog((stream, text) -> {}, "9", "run-cap", "test", 20)) {
      output.output("stdout", "0123456789\n");
      output.output("stdout", "this line passes the cap\n");
    }
    awaitLine("[output beyond 20 bytes is not logged]");
    assertEquals(2, collection.countDocuments(Filters.eq("run", "run-cap")));
  }

  @Test
  void aBurstIsWrittenInBatchesAndCounted() {
    var log = LoggerFactory.getLogger("heyken.test.shipping");
    long before = LogBuffer.get().written();
    for (int i = 0; i < 5_000; i++) {
      log.info("burst {}", i);
    }
    testKit.createTestProbe().awaitAssert(Duration.ofSeconds(20), () -> {
      assertEquals(5_000, collection.countDocuments(Filters.regex("message", "^burst ")));
      return null;
    });
    assertTrue(LogBuffer.get().written() - before >= 5_000);
  }
}
