package heyken.protocol.api.feature;

import com.fasterxml.jackson.annotation.JsonProperty;

/** Answer of {@code POST /api/features/test} (202): where to follow the run. */
public record RunAccepted(
    @JsonProperty("feature_id") String featureId,
    @JsonProperty("run_id") String runId,
    String revision,
    String status,
    @JsonProperty("status_url") String statusUrl,
    @JsonProperty("log_url") String logUrl) {}
