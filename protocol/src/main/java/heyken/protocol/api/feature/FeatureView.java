package heyken.protocol.api.feature;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.List;

/**
 * {@code GET /api/features/{id}}: a feature with its revisions (git commits, newest first), its test runs and its
 * deployment. {@code status}: {@code draft} (no pipeline yet), {@code ready} (untested), {@code testing},
 * {@code passed}, {@code failed}, {@code deployed} (the newest revision is the deployed one). {@code gitlab}: only when
 * GitLab is configured (absent otherwise).
 */
public record FeatureView(
    @JsonProperty("feature_id") String featureId,
    String name,
    String description,
    String status,
    String command,
    @JsonProperty("created_at") String createdAt,
    @JsonProperty("head_revision") String headRevision,
    List<RevisionView> revisions,
    List<RunSummary> runs,
    DeploymentView deployment,
    @JsonInclude(JsonInclude.Include.NON_NULL) GitLabView gitlab) {

  @JsonCreator
  public FeatureView {}

  /** A feature as the feature entity knows it (GitLab's part is added by the service when configured). */
  public FeatureView(String featureId, String name, String description, String status, String command,
      String createdAt, String headRevision, List<RevisionView> revisions, List<RunSummary> runs,
      DeploymentView deployment) {
    this(featureId, name, description, status, command, createdAt, headRevision, revisions, runs, deployment, null);
  }

  public FeatureView withGitlab(GitLabView gitlab) {
    return new FeatureView(featureId, name, description, status, command, createdAt, headRevision, revisions, runs,
        deployment, gitlab);
  }

  /** A commit of the feature's repository and what its tests said. */
  public record RevisionView(
      String revision, String message, String source, @JsonProperty("created_at") String createdAt,
      String tests, @JsonProperty("run_id") String runId) {}

  /** A run in the feature's list (details under /runs/{run_id}). */
  public record RunSummary(
      @JsonProperty("run_id") String runId, String revision, String status,
      @JsonProperty("started_at") String startedAt, @JsonProperty("finished_at") String finishedAt) {}
}
