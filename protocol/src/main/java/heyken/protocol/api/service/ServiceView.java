package heyken.protocol.api.service;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * {@code GET :5010/api/services/{name}}: what was asked for and what the engine runs now.
 *
 * @param desired {@code running} or {@code stopped}: what the active core keeps it at
 * @param state the container's state: {@code running}, {@code exited}, {@code created}, {@code restarting},
 *     {@code dead}, or {@code pending} while no container exists yet
 * @param health {@code healthy}, {@code unhealthy}, {@code starting} (Docker healthcheck), or {@code none}
 * @param env the names of the environment variables given at add, each with the value {@value #REDACTED}: values are
 *     write-only (they may be secrets), only the container sees them
 */
public record ServiceView(
    String name,
    String image,
    String desired,
    String state,
    String health,
    @JsonProperty("container_id") String containerId,
    List<Port> ports,
    Map<String, String> env,
    List<String> command,
    String restart,
    @JsonProperty("exit_code") Long exitCode,
    @JsonProperty("started_at") String startedAt,
    @JsonProperty("added_at") String addedAt,
    @JsonProperty("added_by") String addedBy,
    @JsonProperty("last_error") String lastError) {

  /** What every env value reads as in a view, an audit entry or a log line. */
  public static final String REDACTED = "<redacted>";

  /** The names of {@code env}, sorted, each mapped to {@link #REDACTED}. */
  public static Map<String, String> redacted(Map<String, String> env) {
    var names = new TreeMap<String, String>();
    if (env != null) {
      env.keySet().forEach(name -> names.put(name, REDACTED));
    }
    return java.util.Collections.unmodifiableMap(names);
  }

  public record Port(@JsonProperty("host_ip") String hostIp, @JsonProperty("host_port") int hostPort,
      @JsonProperty("container_port") int containerPort, String protocol) {}

  /** {@code GET :5010/api/services}. */
  public record Listing(@JsonProperty("installation_id") String installationId, List<ServiceView> services) {}
}
