package heyken.actors.logs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import heyken.actors.support.TestStore;
import java.time.Duration;
import java.util.ArrayList;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/**
 * With the log store (PostgreSQL) unreachable, logging goes on without waiting for it: the bounded buffer fills,
 * further lines are dropped and counted, and the shipper says so in one WARN per interval, not once per line. What
 * is in the buffer stays there for when the store comes back.
 */
class UnreachableLogStoreTest {

  @Test
  void loggingNeverWaitsForADeadStoreAndTheDropsAreCountedAndReported() {
    var store = new TestStore();
    // nothing listens on port 1: the pool cannot connect, the schema is never migrated
    var testKit = ActorTestKit.create("unreachable-log-store-test", store.config("""
        heyken.postgres { port = 1, connect-timeout = 300ms, migrate-retry-interval = 200ms }
        heyken.logs.flush-interval = 50ms
        heyken.logs.batch-size = 50
        heyken.logs.drop-report-interval = 300ms
        """));
    var context = (LoggerContext) LoggerFactory.getILoggerFactory();
    var appender = new MongoLogAppender();
    appender.setContext(context);
    appender.start();
    var logger = context.getLogger("heyken.test.unreachable");
    logger.setLevel(Level.INFO);
    logger.addAppender(appender);
    var shipperLog = context.getLogger(LogShipper.class);
    var warnings = new ListAppender<ILoggingEvent>();
    warnings.setContext(context);
    warnings.start();
    shipperLog.addAppender(warnings);
    try {
      LogBuffer.configure(200, 1, () -> 1L);
      long dropped = LogBuffer.get().dropped();
      long written = LogBuffer.get().written();
      testKit.spawn(LogShipper.create(), "log-shipper");
      var log = LoggerFactory.getLogger("heyken.test.unreachable");
      for (int i = 0; i < 20_000; i++) {
        log.info("line {} for a store that is gone", i);
      }
      // every line went somewhere at once: at most a buffer's worth waits, the rest was dropped and counted
      var counts = LogBuffer.get().counts();
      assertTrue(counts.buffered() <= 200, () -> "buffered " + counts);
      assertTrue(counts.dropped() - dropped >= 20_000 - 200 - 2 * 50, () -> "dropped " + counts);
      assertEquals(written, counts.written(), "nothing reached the store");
      testKit.createTestProbe().awaitAssert(Duration.ofSeconds(20), () -> {
        var reports = new ArrayList<String>();
        for (ILoggingEvent e : new ArrayList<>(warnings.list)) {
          if (e.getLevel() == Level.WARN && e.getFormattedMessage().contains("log lines were dropped")) {
            reports.add(e.getFormattedMessage());
          }
        }
        assertTrue(!reports.isEmpty(), "no WARN about the dropped lines yet");
        assertTrue(reports.size() < 100, "one WARN per interval, not per line: " + reports.size());
        return null;
      });
      // what the buffer took is kept for the store's return, not thrown away while it is gone
      assertEquals(counts.buffered(), LogBuffer.get().buffered());
      assertEquals(written, LogBuffer.get().written());
    } finally {
      logger.detachAppender(appender);
      shipperLog.detachAppender(warnings);
      testKit.shutdownTestKit();
      store.close();
      LogBuffer.configure(20_000, 0, () -> 0L);
    }
  }
}
