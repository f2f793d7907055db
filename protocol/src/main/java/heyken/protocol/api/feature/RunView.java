package heyken.protocol.api.feature;

import com.fasterxml.jackson.annotation.JsonProperty;
import heyken.protocol.CborSerializable;
import java.util.List;

/**
 * {@code GET /api/features/{id}/runs/{run_id}}: a test run of one revision. {@code status}: {@code running},
 * {@code passed}, {@code failed}, {@code error} (the pipeline could not run: invalid .gitlab-ci.yml, no sandbox).
 * {@code attempts} counts how often the run was started: more than one when a core died during it. Also the
 * reply of the run entity, hence serializable across the cluster. {@code core}: the core that runs (or ran) the latest
 * attempt. {@code output_truncated}: the log store holds less of the jobs' output than they printed (the run's bound,
 * {@code heyken.logs.run-output}); {@code output_dropped_lines} and {@code output_dropped_bytes} sum what was left
 * out over its jobs (see {@link JobView}).
 */
public record RunView(
    @JsonProperty("run_id") String runId,
    @JsonProperty("feature_id") String featureId,
    String revision,
    String status,
    String detail,
    int attempts,
    Integer core,
    @JsonProperty("started_at") String startedAt,
    @JsonProperty("finished_at") String finishedAt,
    List<String> warnings,
    List<JobView> jobs,
    @JsonProperty("output_truncated") boolean outputTruncated,
    @JsonProperty("output_dropped_lines") long outputDroppedLines,
    @JsonProperty("output_dropped_bytes") long outputDroppedBytes) implements CborSerializable {

  /** The view with the output figures summed from its jobs. */
  public RunView(String runId, String featureId, String revision, String status, String detail, int attempts,
      Integer core, String startedAt, String finishedAt, List<String> warnings, List<JobView> jobs) {
    this(runId, featureId, revision, status, detail, attempts, core, startedAt, finishedAt, warnings, jobs,
        jobs != null && jobs.stream().anyMatch(JobView::outputTruncated),
        jobs == null ? 0 : jobs.stream().mapToLong(JobView::outputDroppedLines).sum(),
        jobs == null ? 0 : jobs.stream().mapToLong(JobView::outputDroppedBytes).sum());
  }
}
