package heyken.actors.logs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.LoggingEvent;
import heyken.actors.chat.ChatNews;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** WARN+ lines reach heyken-logs batched, rate-limited and without the chat gateway's own lines. */
class LogsToChatTest {

  private static ActorTestKit testKit;

  @BeforeAll
  static void start() {
    testKit = ActorTestKit.create("logs-to-chat-test");
  }

  @AfterAll
  static void stop() {
    testKit.shutdownTestKit();
  }

  private static LogsToChat.Settings settings(Duration interval, int maxLines) {
    return new LogsToChat.Settings(true, Level.WARN, interval, maxLines,
        List.of("heyken.actors.bot", "heyken.actors.chat", "heyken.actors.logs.LogsToChat"));
  }

  private static void log(String logger, Level level, String message) {
    var context = (LoggerContext) org.slf4j.LoggerFactory.getILoggerFactory();
    var appender = new ChatLogAppender();
    appender.setContext(context);
    appender.start();
    appender.doAppend(new LoggingEvent("test", context.getLogger(logger), level, message, null, null));
  }

  @Test
  void aBurstBecomesOnePostWithTheFirstLinesAndHowManyMore() {
    var news = testKit.<ChatNews.Item>createTestProbe();
    ChatNews.get(testKit.system()).subscribe(news.ref());
    ChatLogAppender.drain(Integer.MAX_VALUE);
    ChatLogAppender.takeOverflow();
    // the subscription reaches the topic before the first tick (the interval is long enough)
    for (int i = 1; i <= 30; i++) {
      log("heyken.actors.feature.Feature", Level.WARN, "run " + i + " failed\nstack line");
    }
    log("heyken.actors.feature.Feature", Level.INFO, "an info line");
    log("heyken.actors.bot.ChatGateway", Level.WARN, "could not post to heyken-logs");
    log("heyken.actors.chat.RocketChatRest", Level.ERROR, "Rocket.Chat answered 500");
    testKit.spawn(LogsToChat.create(2, settings(Duration.ofMillis(500), 5)));

    var item = news.receiveMessage(Duration.ofSeconds(10));
    assertEquals(ChatNews.LOGS, item.channel());
    var lines = item.text().split("\n");
    assertTrue(lines[0].startsWith("core-2: 30 warnings and errors in the last 0 s"), item.text());
    assertEquals(7, lines.length, item.text());
    assertTrue(lines[1].endsWith("WARN feature: run 1 failed …"), lines[1]);
    assertTrue(lines[5].endsWith("run 5 failed …"), lines[5]);
    assertTrue(lines[6].startsWith("… and 25 more"), lines[6]);
    assertTrue(!item.text().contains("heyken-logs") && !item.text().contains("500"), "gateway lines: " + item.text());
    // nothing new: no post at the next ticks
    news.expectNoMessage(Duration.ofMillis(1200));
  }

  @Test
  void theBatchTextCountsOverflowAndIsNullWhenQuiet() {
    var s = settings(Duration.ofSeconds(10), 2);
    assertNull(LogsToChat.batch(1, List.of(), 0, s));
    var lines = new ArrayList<ChatLogAppender.Line>();
    lines.add(new ChatLogAppender.Line(Instant.parse("2026-11-29T06:00:01Z"), "ERROR", "x", "store", "down"));
    assertEquals("core-1: 4 warnings and errors in the last 10 s\n06:00:01 ERROR store: down\n… and 3 more "
        + "(GET :5020/api/logs?level=WARN)", LogsToChat.batch(1, lines, 3, s));
    assertEquals("core-1: 1 warning or error in the last 10 s\n06:00:01 ERROR store: down",
        LogsToChat.batch(1, lines, 0, s));
  }

  @Test
  void infoIsNotALevelForChat() {
    try {
      new LogsToChat.Settings(true, Level.INFO, Duration.ofSeconds(1), 5, List.of());
      throw new AssertionError("INFO was accepted");
    } catch (IllegalArgumentException expected) {
      assertTrue(expected.getMessage().contains("WARN or ERROR"));
    }
  }
}
