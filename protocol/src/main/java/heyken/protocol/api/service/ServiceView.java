package heyken.protocol.api.service;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.List;
import java.util.Map;

/**
 * {@code GET :5010/api/services/{name}}: what was asked for and what the engine runs now.
 *
 * @param desired {@code running} or {@code stopped}: what the active core keeps it at
 * @param state the container's state: {@code running}, {@code exited}, {@code created}, {@code restarting},
 *     {@code dead}, or {@code pending} while no container exists yet
 * @param health {@code healthy}, {@code unhealthy}, {@code starting} (Docker healthcheck), or {@code none}
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

  public record Port(@JsonProperty("host_ip") String hostIp, @JsonProperty("host_port") int hostPort,
      @JsonProperty("container_port") int containerPort, String protocol) {}

  /** {@code GET :5010/api/services}. */
  public record Listing(@JsonProperty("installation_id") String installationId, List<ServiceView> services) {}
}
