package heyken.protocol.api.feature;

import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * One job of a test run: its stage, status ({@code pending}, {@code running}, {@code passed}, {@code failed},
 * {@code allowed_failure}, {@code skipped}), exit code, why it ended ({@code ok}, {@code exit}, {@code timeout},
 * {@code oom}, {@code pids}, {@code error}), how long it took, where it ran and the tail of its log.
 */
public record JobView(
    String name,
    String stage,
    String status,
    @JsonProperty("exit_code") Integer exitCode,
    String reason,
    @JsonProperty("duration_ms") Long durationMs,
    String backend,
    String image,
    String detail,
    @JsonProperty("log_tail") String logTail) {}
