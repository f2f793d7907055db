package heyken.protocol.api.feature;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.Map;

/**
 * {@code POST :5010/api/features/create}: a name and a description, and optionally the code as whole files
 * ({@code files}: path → content) or a git repository to clone ({@code git_url}, file:// or http(s)://). With neither
 * the feature starts as a draft with a skeleton repository.
 */
public record CreateFeatureRequest(
    String name,
    String description,
    Map<String, String> files,
    @JsonProperty("git_url") String gitUrl) {}
