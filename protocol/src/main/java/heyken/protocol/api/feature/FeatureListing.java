package heyken.protocol.api.feature;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.List;

/** {@code GET /api/features}: every feature with its status. */
public record FeatureListing(List<Item> features) {

  /** One line of the listing. */
  public record Item(
      @JsonProperty("feature_id") String featureId, String name, String status, String command,
      @JsonProperty("head_revision") String headRevision, @JsonProperty("deployed_revision") String deployedRevision) {}
}
