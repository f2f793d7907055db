package heyken.actors.gitlab;

import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * A git hosting service that keeps a copy of each feature: a project per feature, a branch per revision, merge
 * requests and CI pipelines. Every method blocks (HTTP, git push): call it on a blocking dispatcher. Failures are
 * {@link GitHostException}s saying what went wrong and whether trying again can help.
 */
public interface GitHost {

  /** The project {@code path} in the configured group, created (empty, private) if it does not exist. */
  Project ensureProject(String path, String description);

  /** Pushes commit {@code revision} of the bare repository {@code gitDir} to {@code branch} of the project. */
  void push(Path gitDir, String revision, Project project, String branch);

  /** The commit a branch points at, or empty when it does not exist. */
  Optional<String> branchHead(Project project, String branch);

  /** The newest merge request from {@code sourceBranch} (any state), or a new one into {@code targetBranch}. */
  MergeRequest openMergeRequest(Project project, String sourceBranch, String targetBranch, String title,
      String description);

  MergeRequest mergeRequest(Project project, long iid);

  /** Merges an open merge request (what a reviewer does; Heyken itself never merges). */
  MergeRequest merge(Project project, long iid);

  /** The newest pipeline that ran {@code sha} on {@code ref}, or empty when GitLab has not started one (yet). */
  Optional<Pipeline> latestPipeline(Project project, String ref, String sha);

  List<Job> jobs(Project project, long pipelineId);

  record Project(long id, String path, String webUrl, String httpUrlToRepo, String defaultBranch) {}

  /** {@code state}: opened, closed, locked, merged. */
  record MergeRequest(long iid, String webUrl, String state, String sourceBranch, String targetBranch) {
    public boolean merged() {
      return "merged".equals(state);
    }
  }

  record Pipeline(long id, String status, String webUrl, String sha, String ref) {
    /** GitLab's statuses after which a pipeline does not change by itself. */
    public boolean finished() {
      return switch (status) {
        case "success", "failed", "canceled", "skipped", "manual" -> true;
        default -> false;
      };
    }
  }

  record Job(long id, String name, String stage, String status) {}
}
