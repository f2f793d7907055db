package heyken.protocol.api.feature;

import com.fasterxml.jackson.annotation.JsonProperty;
import heyken.protocol.CborSerializable;
import java.util.List;

/**
 * {@code GET /api/features/{id}/runs/{run_id}}: a test run of one revision. {@code status}: {@code running},
 * {@code passed}, {@code failed}, {@code error} (the pipeline could not run: invalid .gitlab-ci.yml, no sandbox).
 * {@code attempts} counts how often the run was started: more than one when a core died during it. Also the
 * reply of the run entity, hence serializable across the cluster. {@code core}: the core that runs (or ran) the latest
 * attempt.
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
    List<JobView> jobs) implements CborSerializable {}
