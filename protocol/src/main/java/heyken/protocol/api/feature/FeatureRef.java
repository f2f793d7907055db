package heyken.protocol.api.feature;

import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * Body of {@code POST /api/features/test} and {@code /deploy}: which feature, optionally which revision (default:
 * the newest) and, for deploy, which core must be the active one ({@code target_core}).
 */
public record FeatureRef(
    @JsonProperty("feature_id") String featureId,
    String revision,
    @JsonProperty("target_core") Integer targetCore) {}
