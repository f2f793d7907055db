package heyken.protocol.api.feature;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.List;

/**
 * The {@code gitlab} part of {@code GET /api/features/{id}} when GitLab is configured: the feature's project, the
 * branch the newest revision was pushed to, its merge request and the GitLab pipeline of that push, beside the local
 * run. {@code error}: the last GitLab failure (unreachable, bad token, ...) while it lasts; the feature keeps working
 * locally meanwhile.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record GitLabView(
    String project,
    @JsonProperty("project_url") String projectUrl,
    String revision,
    String branch,
    @JsonProperty("merge_request") MergeRequest mergeRequest,
    Pipeline pipeline,
    String error,
    @JsonProperty("error_at") String errorAt) {

  /** {@code state}: opened, merged, closed, locked (GitLab's), or {@code main} for the revision that started main. */
  public record MergeRequest(long iid, String url, String state) {}

  /** {@code status}: GitLab's (created, pending, running, success, failed, canceled, skipped, manual, ...). */
  public record Pipeline(long id, String status, String url, List<Job> jobs) {}

  public record Job(String name, String stage, String status) {}
}
