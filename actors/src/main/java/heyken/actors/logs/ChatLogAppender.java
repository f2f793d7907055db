package heyken.actors.logs;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.IThrowableProxy;
import ch.qos.logback.core.UnsynchronizedAppenderBase;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Logback appender that keeps the WARN and ERROR lines for the chat's heyken-logs channel in a small bounded queue;
 * {@link LogsToChat} drains it in batches. Never blocks the logging thread: when the queue is full the line is
 * counted, and the next batch says how many more there were.
 */
public final class ChatLogAppender extends UnsynchronizedAppenderBase<ILoggingEvent> {

  /** One log line as the chat shows it. */
  public record Line(Instant at, String level, String logger, String component, String message) {}

  private static final int CAPACITY = 1000;
  private static final int MAX_MESSAGE = 500;
  private static final ArrayBlockingQueue<Line> QUEUE = new ArrayBlockingQueue<>(CAPACITY);
  private static final AtomicLong OVERFLOW = new AtomicLong();

  @Override
  protected void append(ILoggingEvent event) {
    if (!event.getLevel().isGreaterOrEqual(Level.WARN)) {
      return;
    }
    String message = event.getFormattedMessage();
    message = message == null ? "" : message;
    int newline = message.indexOf('\n');
    if (newline >= 0) {
      message = message.substring(0, newline) + " …";
    }
    IThrowableProxy thrown = event.getThrowableProxy();
    if (thrown != null) {
      message = message + " (" + thrown.getClassName() + (thrown.getMessage() == null ? "" : ": "
          + thrown.getMessage()) + ")";
    }
    if (message.length() > MAX_MESSAGE) {
      message = message.substring(0, MAX_MESSAGE) + "…";
    }
    var line = new Line(Instant.ofEpochMilli(event.getTimeStamp()), event.getLevel().toString(),
        event.getLoggerName(), MongoLogAppender.component(event.getLoggerName(), event.getMDCPropertyMap()), message);
    if (!QUEUE.offer(line)) {
      OVERFLOW.incrementAndGet();
    }
  }

  /** Takes up to {@code max} lines, oldest first. */
  static List<Line> drain(int max) {
    var lines = new ArrayList<Line>(Math.min(max, QUEUE.size()));
    QUEUE.drainTo(lines, max);
    return lines;
  }

  /** Takes the count of lines that did not fit into the queue since the last call. */
  static long takeOverflow() {
    return OVERFLOW.getAndSet(0);
  }

  /** Adds a line as the appender would (tests, and log sources that bypass Logback). */
  static void offer(Line line) {
    if (!QUEUE.offer(line)) {
      OVERFLOW.incrementAndGet();
    }
  }
}
