package heyken.protocol.api;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.List;

/**
 * {@code GET :5021/api/status}: which core is active, both cores, and the external components. {@code healthy}: the
 * store is up, both cores are up, exactly one is active, and a sandbox backend can run jobs; {@code problems} says
 * what is not so and what to do (empty when healthy).
 */
public record SystemStatus(
    @JsonProperty("active_core") Integer activeCore,
    long epoch,
    @JsonProperty("active_since") String activeSince,
    @JsonProperty("activation_reason") String activationReason,
    @JsonProperty("served_by") int servedBy,
    List<CoreStatus> cores,
    List<ComponentStatus> components,
    @JsonProperty("log_lines_dropped") long logLinesDropped,
    @JsonProperty("fenced_writes_refused") long fencedWritesRefused,
    boolean healthy,
    LogCounts logs,
    List<String> problems) {

  /** A status without reasons (healthy, or the caller names none). */
  public SystemStatus(Integer activeCore, long epoch, String activeSince, String activationReason, int servedBy,
      List<CoreStatus> cores, List<ComponentStatus> components, long logLinesDropped, long fencedWritesRefused,
      boolean healthy, LogCounts logs) {
    this(activeCore, epoch, activeSince, activationReason, servedBy, cores, components, logLinesDropped,
        fencedWritesRefused, healthy, logs, List.of());
  }

  /** The log lines of both cores since they started: stored, dropped (buffer full or store away), waiting. */
  public record LogCounts(long written, long dropped, long buffered) {}

  /** One core as the cluster and the core itself report it. */
  public record CoreStatus(
      int id,
      String address,
      String status,
      boolean active,
      Long pid,
      @JsonProperty("uptime_s") Long uptimeS,
      @JsonProperty("management_url") String managementUrl,
      @JsonProperty("inspection_url") String inspectionUrl) {}

  /** An external component: up, down (with the reason and what to do) or not_configured. */
  public record ComponentStatus(String name, String status, String detail) {
    public static final String UP = "up";
    public static final String DOWN = "down";
    public static final String NOT_CONFIGURED = "not_configured";
  }
}
