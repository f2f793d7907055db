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
 * console log). Stores at most what the run's {@link RunOutputBudget} allows (lines and bytes over all the run's
 * jobs); what is beyond it is counted ({@link #dropped()}) and one line says so. Thread-safe.
 */
public final class RunOutputLog implements SandboxBackend.OutputListener, AutoCloseable {

  public static final String LOGGER = "heyken.sandbox.output";
  private static final Logger log = LoggerFactory.getLogger(LOGGER);
  private static final int MAX_LINE = 4_000;

  private final SandboxBackend.OutputListener next;
  private final String feature;
  private final String run;
  private final String job;
  private final RunOutputBudget budget;
  private final Map<String, StringBuilder> partial = new HashMap<>();
  private long droppedLines;
  private long droppedBytes;
  private boolean noted;

  /** What of a job's output was not stored: lines and their bytes (UTF-8, newlines included). */
  public record Dropped(long lines, long bytes) {
    public boolean any() {
      return lines > 0 || bytes > 0;
    }
  }

  /** A job's output log with a budget of its own of {@code capBytes} (no bound on lines below that). */
  public RunOutputLog(SandboxBackend.OutputListener next, String feature, String run, String job, long capBytes) {
    this(next, feature, run, job, new RunOutputBudget(Integer.MAX_VALUE, capBytes));
  }

  /** A job's output log that shares {@code budget} with the other jobs of its run. */
  public RunOutputLog(SandboxBackend.OutputListener next, String feature, String run, String job,
      RunOutputBudget budget) {
    this.next = next;
    this.feature = feature;
    this.run = run;
    this.job = job;
    this.budget = budget;
  }

  /** What was not stored so far. */
  public synchronized Dropped dropped() {
    return new Dropped(droppedLines, droppedBytes);
  }

  @Override
  public void output(String stream, String text) {
    next.output(stream, text);
    record(stream, text);
  }

  private synchronized void record(String stream, String text) {
    if (text.isEmpty()) {
      return;
    }
    var pending = partial.computeIfAbsent(stream, s -> new StringBuilder());
    int start = 0;
    for (int i = 0; i < text.length(); i++) {
      if (text.charAt(i) == '\n') {
        pending.append(text, start, i);
        store(stream, pending.toString(), 1);
        pending.setLength(0);
        start = i + 1;
      }
    }
    pending.append(text, start, text.length());
    if (pending.length() > MAX_LINE) { // a line that never ends is logged in pieces
      store(stream, pending.toString(), 0);
      pending.setLength(0);
    }
  }

  /** Stores a line if the run's budget has room for it, else counts it (and says once that output is cut). */
  private void store(String stream, String line, int newline) {
    long size = line.getBytes(StandardCharsets.UTF_8).length + (long) newline;
    if (budget.take(size)) {
      emit(stream, line);
      return;
    }
    droppedLines++;
    droppedBytes += size;
    if (!noted) {
      noted = true;
      emit("heyken", "[the run's output beyond " + budget.maxLines() + " lines or " + budget.maxBytes()
          + " bytes is not stored in the log store; the run's own log keeps up to the sandbox's output cap per job]");
    }
  }

  /** Logs what is left of unfinished lines. */
  @Override
  public synchronized void close() {
    partial.forEach((stream, pending) -> {
      if (pending.length() > 0) {
        store(stream, pending.toString(), 0);
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
