package heyken.actors.logs;

import com.typesafe.config.Config;

/**
 * What one test run may put into the log store ({@code log_lines}) of its jobs' output, over all its jobs: at most
 * {@code maxLines} lines and {@code maxBytes} bytes (UTF-8, a line's newline included). A job printing short lines
 * within the sandbox's output cap stored 25,495 lines in one run before this bound. The rest of the output is
 * counted, not stored; the run view says so ({@code output_truncated}). One per run and core: a run resumed on the
 * other core starts a new one (at most {@code heyken.sandbox.max-lost-attempts} times). Thread-safe.
 */
public final class RunOutputBudget {

  private final int maxLines;
  private final long maxBytes;
  private int lines;
  private long bytes;

  public RunOutputBudget(int maxLines, long maxBytes) {
    if (maxLines < 1 || maxBytes < 1) {
      throw new IllegalArgumentException("heyken.logs.run-output: max-lines and max-bytes must be positive, got "
          + maxLines + " and " + maxBytes);
    }
    this.maxLines = maxLines;
    this.maxBytes = maxBytes;
  }

  /** The bounds of {@code heyken.logs.run-output} (HEYKEN_LOGS_RUN_MAX_LINES, HEYKEN_LOGS_RUN_MAX_BYTES). */
  public record Bounds(int maxLines, long maxBytes) {
    public static Bounds from(Config config) {
      Config c = config.getConfig("heyken.logs.run-output");
      return new Bounds(c.getInt("max-lines"), c.getBytes("max-bytes"));
    }

    public RunOutputBudget newBudget() {
      return new RunOutputBudget(maxLines, maxBytes);
    }
  }

  /** Takes a line of {@code lineBytes} if it still fits; false once the run has used its lines or bytes. */
  synchronized boolean take(long lineBytes) {
    if (lines >= maxLines || bytes + lineBytes > maxBytes) {
      return false;
    }
    lines++;
    bytes += lineBytes;
    return true;
  }

  public int maxLines() {
    return maxLines;
  }

  public long maxBytes() {
    return maxBytes;
  }

  /** Lines stored so far. */
  public synchronized int lines() {
    return lines;
  }
}
