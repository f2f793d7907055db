package heyken.actors.logs;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.IThrowableProxy;
import ch.qos.logback.classic.spi.ThrowableProxyUtil;
import ch.qos.logback.core.UnsynchronizedAppenderBase;
import java.util.Map;

/**
 * Logback appender that turns each log line into a structured row (time, level, core, epoch, component, logger,
 * message, exception, MDC, and the MDC's feature, run, job, room and stream as columns) and hands it to the
 * {@link LogBuffer}; the LogShipper actor writes them to the log store (PostgreSQL) in batches. It never blocks the
 * logging thread, and takes no lock of its own (logback's AppenderBase would serialize every request's access-log
 * line through one monitor: under a busy CPU a preempted holder kept the others waiting tens of ms, JFR). (The name
 * is the one logback.xml has always used; the lines no longer go to MongoDB.)
 */
public final class MongoLogAppender extends UnsynchronizedAppenderBase<ILoggingEvent> {

  private static final int MAX_MESSAGE = 8_000;
  private static final int MAX_EXCEPTION = 16_000;
  /** MDC keys copied to columns of the stored line (they stay in {@code mdc} as well). */
  public static final java.util.List<String> INDEXED_MDC = java.util.List.of("feature", "run", "room");
  private volatile Level minLevel = Level.INFO;

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
    Map<String, String> fields = null;
    if (mdc != null && !mdc.isEmpty()) {
      fields = new java.util.LinkedHashMap<>();
      for (var e : mdc.entrySet()) {
        String k = e.getKey();
        // pekko's own MDC keys are noise in the store; the domain ids (feature, run, room) are what is searched
        if (!k.startsWith("pekko") && !k.equals("sourceThread") && !k.equals("sourceActorSystem")) {
          fields.put(k.replace('.', '_'), e.getValue());
        }
      }
      if (fields.isEmpty()) {
        fields = null;
      }
    }
    IThrowableProxy thrown = event.getThrowableProxy();
    int core = buffer.coreId();
    long micros = event.getInstant() != null ? LogRow.micros(event.getInstant()) : event.getTimeStamp() * 1000L;
    buffer.offer(new LogRow(
        LogBuffer.nextId(core),
        micros,
        event.getLevel().toString(),
        core,
        buffer.epoch(),
        component(event.getLoggerName(), mdc),
        event.getLoggerName(),
        event.getThreadName(),
        truncate(event.getFormattedMessage(), MAX_MESSAGE),
        thrown == null ? null : truncate(ThrowableProxyUtil.asString(thrown), MAX_EXCEPTION),
        fields,
        mdc == null ? null : mdc.get("feature"),
        mdc == null ? null : mdc.get("run"),
        mdc == null ? null : mdc.get("job"),
        mdc == null ? null : mdc.get("room"),
        mdc == null ? null : mdc.get("stream")));
    LogBuffer.countLevel(event.getLevel().toString());
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
