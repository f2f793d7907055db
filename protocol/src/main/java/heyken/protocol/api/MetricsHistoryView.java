package heyken.protocol.api;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.List;
import java.util.Map;

/**
 * {@code GET :5021/api/metrics/history}: the last hour of the serving core's own metrics as a time series, for the
 * dashboard's plots. Each sample holds what was counted during its interval (differences of the counters of
 * {@code GET /metrics}), the last one the interval still running; {@code jobs} are the sandbox jobs this core ran in
 * that hour with their wall time; {@code activations} the CoreManager's {@code CoreActivated} events from the journal
 * (cluster-wide), oldest first, each with the time since the one before it. Counts are per core: the other core's
 * are on its own inspection port.
 */
public record MetricsHistoryView(
    int core,
    @JsonProperty("interval_s") long intervalSeconds,
    @JsonProperty("since") String since,
    List<Sample> samples,
    List<Job> jobs,
    List<Activation> activations) {

  /**
   * What happened from {@code from} to {@code to}: requests per API (the {@code api} label: system_monitor,
   * sandbox_manager, logger_api, component_registry), the ones answered 4xx and 5xx per API, log lines per level
   * and finished test runs per status.
   */
  public record Sample(
      String from,
      String to,
      Map<String, Long> requests,
      @JsonProperty("client_errors") Map<String, Long> clientErrors,
      @JsonProperty("server_errors") Map<String, Long> serverErrors,
      @JsonProperty("log_lines") Map<String, Long> logLines,
      Map<String, Long> runs) {}

  /** One sandbox job's end: backend, result (ok, exit, timeout, oom, pids, error) and wall time. */
  public record Job(String at, String backend, String result, @JsonProperty("duration_ms") long durationMs) {}

  /**
   * A core became active: {@code gap_s} is the time since the activation before it (how long the previous core held
   * the role), null for the oldest one known.
   */
  public record Activation(long epoch, int core, @JsonProperty("previous_core") Integer previousCore, String kind,
      String reason, String at, @JsonProperty("gap_s") Double gapSeconds) {}
}
