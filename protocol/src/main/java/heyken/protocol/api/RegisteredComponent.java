package heyken.protocol.api;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.List;

/** A registered component with the result of its latest health check. */
public record RegisteredComponent(
    String name,
    String url,
    @JsonProperty("health_url") String healthUrl,
    String version,
    @JsonProperty("registered_at") String registeredAt,
    @JsonProperty("registered_by") String registeredBy,
    String health,
    @JsonProperty("health_detail") String healthDetail,
    @JsonProperty("checked_at") String checkedAt) {

  /** {@code GET :5002/api/components}. */
  public record Listing(List<RegisteredComponent> components) {}
}
