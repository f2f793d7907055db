package heyken.protocol.api.feature;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.List;

/**
 * The deployed revision of a feature (answer of deploy and rollback, and part of the feature view): the chat command
 * it answers to, when, by which active core under which epoch, and the revisions deployed before it.
 */
public record DeploymentView(
    @JsonProperty("feature_id") String featureId,
    String revision,
    String command,
    @JsonProperty("deployed_at") String deployedAt,
    int core,
    long epoch,
    List<String> previous) {}
