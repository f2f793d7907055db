package heyken.actors.logs;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.IThrowableProxy;
import ch.qos.logback.classic.spi.ThrowableProxyUtil;
import ch.qos.logback.core.AppenderBase;
import java.util.Date;
import java.util.Map;
import org.bson.Document;

/**
 * Logback appender that turns each log line into a structured document (time, level, core, epoch,
 * component, logger, message, exception, MDC) and hands it to the {@link LogBuffer}; the LogShipper actor
 * writes them to MongoDB in batches. It never blocks the logging thread.
 */
public final class MongoLogAppender extends AppenderBase<ILoggingEvent> {

  private static final int MAX_MESSAGE = 8_000;
  private static final int MAX_EXCEPTION = 16_000;
  /** MDC keys copied to top-level fields of the stored line (they stay in {@code mdc} as well). */
  public static final java.util.List<String> INDEXED_MDC = java.util.List.of("feature", "run", "room");
  private Level minLevel = Level.INFO;

  /** Logback property: lines below this level are not stored (HEYKEN_LOG_STORE_LEVEL). */
  public void setMinLevel(String level) {
    this.minLevel = Level.toLevel(level, Level.INFO);
  }

  @Override
  protected void append(ILoggingEvent event) {
    if (!event.getLevel().isGreaterOrEqual(minLevel)) {
      return;
    }
    LogBuffer buffer = LogBuffer.get();
    Map<String, String> mdc = event.getMDCPropertyMap();
    var doc = new Document("ts", new Date(event.getTimeStamp()))
        .append("level", event.getLevel().toString())
        .append("lvl", event.getLevel().toInt())
        .append("core", buffer.coreId())
        .append("epoch", buffer.epoch())
        .append("component", component(event.getLoggerName(), mdc))
        .append("logger", event.getLoggerName())
        .append("thread", event.getThreadName())
        .append("message", truncate(event.getFormattedMessage(), MAX_MESSAGE));
    IThrowableProxy thrown = event.getThrowableProxy();
    if (thrown != null) {
      doc.append("exception", truncate(ThrowableProxyUtil.asString(thrown), MAX_EXCEPTION));
    }
    if (mdc != null && !mdc.isEmpty()) {
      var fields = new Document();
      mdc.forEach((k, v) -> {
        // pekko's own MDC keys are noise in the store; the domain ids (feature, run, room) are what is searched
        if (!k.startsWith("pekko") && !k.equals("sourceThread") && !k.equals("sourceActorSystem")) {
          fields.append(k.replace('.', '_'), v);
        }
      });
      if (!fields.isEmpty()) {
        doc.append("mdc", fields);
      }
      // the domain ids also stand at the top level, where an index can serve "all lines of run X"
      for (String key : INDEXED_MDC) {
        String v = mdc.get(key);
        if (v != null) {
          doc.append(key, v);
        }
      }
    }
    buffer.offer(doc);
    heyken.actors.metrics.Metrics.logLine(event.getLevel().toString());
  }

  /** The MDC's {@code component} when set, else the part of the system the logger belongs to. */
  static String component(String logger, Map<String, String> mdc) {
    if (mdc != null && mdc.get("component") != null) {
      return mdc.get("component");
    }
    if (logger == null) {
      return "unknown";
    }
    if (logger.startsWith("heyken.")) {
      String[] parts = logger.split("\\.");
      // heyken.actors.core.CoreManager -> core; heyken.http.MonitorRoutes -> http; heyken.cores.Main -> cores
      return parts.length >= 4 && parts[1].equals("actors") ? parts[2] : parts[1];
    }
    if (logger.startsWith("org.apache.pekko.cluster") || logger.startsWith("org.apache.pekko.remote")) {
      return "cluster";
    }
    if (logger.startsWith("org.apache.pekko.persistence") || logger.startsWith("pekko.contrib.persistence")) {
      return "persistence";
    }
    if (logger.startsWith("org.apache.pekko.http") || logger.startsWith("org.apache.pekko.management")) {
      return "http";
    }
    if (logger.startsWith("org.mongodb") || logger.startsWith("de.bwaldvogel")) {
      return "store";
    }
    if (logger.startsWith("org.apache.pekko")) {
      return "pekko";
    }
    return "other";
  }

  private static String truncate(String s, int max) {
    return s == null || s.length() <= max ? s : s.substring(0, max) + "… [truncated]";
  }
}
