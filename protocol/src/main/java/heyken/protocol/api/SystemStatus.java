package heyken.protocol.api;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.List;

/** {@code GET :5021/api/status}: which core is active, both cores, and the external components. */
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
    UpgradeView.Summary upgrade) {

  /** Without an upgrade: {@code upgrade} is the one in progress (GET /api/upgrade has its steps), else null. */
  public SystemStatus(Integer activeCore, long epoch, String activeSince, String activationReason, int servedBy,
      List<CoreStatus> cores, List<ComponentStatus> components, long logLinesDropped, long fencedWritesRefused,
      boolean healthy, LogCounts logs) {
    this(activeCore, epoch, activeSince, activationReason, servedBy, cores, components, logLinesDropped,
        fencedWritesRefused, healthy, logs, null);
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
      @JsonProperty("inspection_url") String inspectionUrl,
      String version) {

    /** {@code version}: the build the core runs ("revision build-time"), null when the core did not say. */
    public CoreStatus(int id, String address, String status, boolean active, Long pid, Long uptimeS,
        String managementUrl, String inspectionUrl) {
      this(id, address, status, active, pid, uptimeS, managementUrl, inspectionUrl, null);
    }
  }

  /** An external component: up, down (with the reason and what to do) or not_configured. */
  public record ComponentStatus(String name, String status, String detail) {
    public static final String UP = "up";
    public static final String DOWN = "down";
    public static final String NOT_CONFIGURED = "not_configured";
  }
}
