package heyken.protocol.api.feature;

import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * One job of a test run: its stage, status ({@code pending}, {@code running}, {@code passed}, {@code failed},
 * {@code allowed_failure}, {@code skipped}), exit code, why it ended ({@code ok}, {@code exit}, {@code timeout},
 * {@code oom}, {@code pids}, {@code disk}, {@code error}), how long it took, where it ran and the tail of its log.
 * {@code output_truncated}: the log store ({@code GET :5020/api/logs?run=...}) holds less of the job's output than it
 * printed, because the run's bound ({@code heyken.logs.run-output}) was reached; {@code output_dropped_lines} and
 * {@code output_dropped_bytes} say how much was left out.
 */
public record JobView(
    String name,
    String stage,
    String status,
    @JsonProperty("exit_code") Integer exitCode,
    String reason,
    @JsonProperty("duration_ms") Long durationMs,
    String backend,
    String image,
    String detail,
    @JsonProperty("log_tail") String logTail,
    @JsonProperty("output_truncated") boolean outputTruncated,
    @JsonProperty("output_dropped_lines") long outputDroppedLines,
    @JsonProperty("output_dropped_bytes") long outputDroppedBytes) {

  /** A job whose output was stored whole (or that has no output yet). */
  public JobView(String name, String stage, String status, Integer exitCode, String reason, Long durationMs,
      String backend, String image, String detail, String logTail) {
    this(name, stage, status, exitCode, reason, durationMs, backend, image, detail, logTail, false, 0, 0);
  }
}
