package heyken.actors.logs;

import heyken.sandbox.SandboxBackend;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

/**
 * Puts the output of a sandbox job into the log store, one line per output line, tagged with the feature, run and
 * job in MDC, so that {@code GET :5020/api/logs?feature=..&run=..} finds it next to the runner's own lines. It
 * passes everything on to the listener it wraps (the run's live log). Logged under {@code heyken.sandbox.output},
 * which logback sends to the store only (the code under test is untrusted: its output stays out of the core's
 * console log). Keeps at most {@code capBytes} of output, as the run log does. Thread-safe.
 */
public final class RunOutputLog implements SandboxBackend.OutputListener, AutoCloseable {

  public static final String LOGGER = "heyken.sandbox.output";
  private static final Logger log = LoggerFactory.getLogger(LOGGER);
  private static final int MAX_LINE = 4_000;

  private final SandboxBackend.OutputListener next;
  private final String feature;
  private final String run;
  private final String job;
  private final long capBytes;
  private final Map<String, StringBuilder> partial = new HashMap<>();
  private long bytes;
  private boolean capped;

  public RunOutputLog(SandboxBackend.OutputListener next, String feature, String run, String job, long capBytes) {
    this.next = next;
    this.feature = feature;
    this.run = run;
    this.job = job;
    this.capBytes = capBytes;
  }

  @Override
  public void output(String stream, String text) {
    next.output(stream, text);
    record(stream, text);
  }

  private synchronized void record(String stream, String text) {
    if (capped || text.isEmpty()) {
      return;
    }
    bytes += text.getBytes(StandardCharsets.UTF_8).length;
    if (bytes > capBytes) {
      capped = true;
      emit("heyken", "[output beyond " + capBytes + " bytes is not logged]");
      return;
    }
    var pending = partial.computeIfAbsent(stream, s -> new StringBuilder());
    int start = 0;
    for (int i = 0; i < text.length(); i++) {
      if (text.charAt(i) == '\n') {
        pending.append(text, start, i);
        emit(stream, pending.toString());
        pending.setLength(0);
        start = i + 1;
      }
    }
    pending.append(text, start, text.length());
    if (pending.length() > MAX_LINE) { // a line that never ends is logged in pieces
      emit(stream, pending.toString());
      pending.setLength(0);
    }
  }

  /** Logs what is left of unfinished lines. */
  @Override
  public synchronized void close() {
    partial.forEach((stream, pending) -> {
      if (pending.length() > 0) {
        emit(stream, pending.toString());
        pending.setLength(0);
      }
    });
  }

  private void emit(String stream, String line) {
    String text = line.endsWith("\r") ? line.substring(0, line.length() - 1) : line;
    MDC.put("feature", feature);
    MDC.put("run", run);
    MDC.put("job", job);
    MDC.put("stream", stream);
    try {
      if ("stderr".equals(stream)) {
        log.warn("{}", text);
      } else {
        log.info("{}", text);
      }
    } finally {
      MDC.remove("feature");
      MDC.remove("run");
      MDC.remove("job");
      MDC.remove("stream");
    }
  }
}
