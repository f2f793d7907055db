package heyken.protocol.api.feature;

import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * Answer of {@code POST /api/features/{id}/invoke}: the feature's standard output as the answer, whether it succeeded
 * ({@code ok}), and if not why ({@code reason}: {@code exit}, {@code timeout}, {@code oom}, {@code pids},
 * {@code error}) with the tail of its standard error.
 */
public record InvokeResult(
    @JsonProperty("feature_id") String featureId,
    String revision,
    boolean ok,
    String output,
    @JsonProperty("exit_code") int exitCode,
    String reason,
    String stderr,
    boolean truncated,
    @JsonProperty("duration_ms") long durationMs,
    String backend,
    int core) {}
