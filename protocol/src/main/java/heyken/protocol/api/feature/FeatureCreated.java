package heyken.protocol.api.feature;

import com.fasterxml.jackson.annotation.JsonProperty;

/** Answer of {@code POST /api/features/create} (201). */
public record FeatureCreated(
    @JsonProperty("feature_id") String featureId, String name, String status, String revision) {}
