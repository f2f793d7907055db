package heyken.protocol.api.feature;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.List;

/**
 * {@code GET /api/features/{id}}: a feature with its revisions (git commits, newest first), its test runs and its
 * deployment. {@code status}: {@code draft} (no pipeline yet), {@code ready} (untested), {@code testing},
 * {@code passed}, {@code failed}, {@code deployed} (the newest revision is the deployed one); a feature the language
 * model writes is {@code authoring} until its loop has a passing revision (or {@code failed}, with
 * {@code authoring.reason}), and {@code authoring} (null otherwise) shows its attempts. {@code gitlab}: only when
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
    AuthoringView authoring,
    @JsonInclude(JsonInclude.Include.NON_NULL) GitLabView gitlab) {

  @JsonCreator
  public FeatureView {}

  /** A feature as the feature entity knows it (the author loop's and GitLab's parts are added by the service). */
  public FeatureView(String featureId, String name, String description, String status, String command,
      String createdAt, String headRevision, List<RevisionView> revisions, List<RunSummary> runs,
      DeploymentView deployment) {
    this(featureId, name, description, status, command, createdAt, headRevision, revisions, runs, deployment, null, null);
  }

  public FeatureView withGitlab(GitLabView value) {
    return new FeatureView(featureId, name, description, status, command, createdAt, headRevision, revisions, runs,
        deployment, authoring, value);
  }

  /** This view with the author loop's progress, and the status it implies. */
  public FeatureView withAuthoring(String status, AuthoringView value) {
    return new FeatureView(featureId, name, description, status, command, createdAt, headRevision, revisions, runs,
        deployment, value, gitlab);
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
