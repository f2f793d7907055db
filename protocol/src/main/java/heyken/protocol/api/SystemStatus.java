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
    LeaseStatus lease,
    @JsonProperty("this_core") ThisCore thisCore) {

  public SystemStatus(Integer activeCore, long epoch, String activeSince, String activationReason, int servedBy,
      List<CoreStatus> cores, List<ComponentStatus> components, long logLinesDropped, long fencedWritesRefused,
      boolean healthy, LogCounts logs) {
    this(activeCore, epoch, activeSince, activationReason, servedBy, cores, components, logLinesDropped,
        fencedWritesRefused, healthy, logs, null, null);
  }

  /**
   * The core that answered, as it sees itself: whether it acts as the active core right now (its own epoch, not the
   * cluster's opinion), and when not, why (standby, lease lost, fenced, peer or store unreachable).
   */
  public record ThisCore(int id, boolean active, long epoch, String reason) {}

  /**
   * The CoreManager lease as its holder (the active core, else the core answering) renews it: renewal times in ms
   * over its last renewals (p50, p99), the maximum and the last one, how many renewals and how many took more than
   * half the TTL, and the owner that renews it (null when that core holds none).
   */
  public record LeaseStatus(
      @JsonProperty("renewal_ms_p50") Double renewalMsP50,
      @JsonProperty("renewal_ms_p99") Double renewalMsP99,
      @JsonProperty("renewal_ms_max") Double renewalMsMax,
      @JsonProperty("renewal_ms_last") Double renewalMsLast,
      long renewals,
      @JsonProperty("slow_renewals") long slowRenewals,
      String holder) {}

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
      Boolean reachable,
      @JsonProperty("unreachable_since") String unreachableSince,
      String reason) {

    public CoreStatus(int id, String address, String status, boolean active, Long pid, Long uptimeS,
        String managementUrl, String inspectionUrl) {
      this(id, address, status, active, pid, uptimeS, managementUrl, inspectionUrl, null, null, null);
    }
  }

  /* reachable: whether the cluster hears this core (false while a partition separates it; null when it is not a
     member); unreachable_since: when the serving core learned it, ISO-8601; reason: which link, in words. */

  /** An external component: up, down (with the reason and what to do) or not_configured. */
  public record ComponentStatus(String name, String status, String detail) {
    public static final String UP = "up";
    public static final String DOWN = "down";
    public static final String NOT_CONFIGURED = "not_configured";
  }
}
