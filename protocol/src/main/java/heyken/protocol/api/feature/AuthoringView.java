package heyken.protocol.api.feature;

import com.fasterxml.jackson.annotation.JsonProperty;
import heyken.protocol.CborSerializable;
import java.util.List;

/**
 * The {@code authoring} part of {@code GET /api/features/{id}} for a feature the language model writes: where the
 * author loop is ({@code state}: {@code authoring}, {@code awaiting_approval}, {@code deployed}, {@code failed}), the
 * step it is at ({@code planning}, {@code committing}, {@code testing}, {@code deploying}, {@code waiting}, {@code done}),
 * attempt n of m, why it stopped when it failed, and one entry per attempt (newest last).
 */
public record AuthoringView(
    String state,
    String step,
    int attempt,
    @JsonProperty("max_attempts") int maxAttempts,
    String model,
    String reason,
    List<Attempt> attempts) implements CborSerializable {

  /**
   * One attempt: the plan's summary, the revision committed for it (null when the answer was refused), its test run
   * and result ({@code running}, {@code passed}, {@code failed}, {@code error}, or {@code refused} / {@code unparseable}
   * / {@code truncated} when nothing was committed), and the detail of the result.
   */
  public record Attempt(
      int n,
      String summary,
      @JsonProperty("test_command") String testCommand,
      List<String> files,
      String revision,
      @JsonProperty("run_id") String runId,
      String result,
      String detail) implements CborSerializable {}
}
