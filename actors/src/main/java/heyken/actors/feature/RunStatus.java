package heyken.actors.feature;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import java.util.Arrays;

/**
 * The status of a test run ({@link PipelineRun}, and the feature's record of it): running, then passed, failed or
 * error (the pipeline could not run at all). Persisted as its lower-case name, as the journal has always held it; a
 * name this version does not know fails the recovery with that name rather than being read as something else.
 */
public enum RunStatus {
  RUNNING("running"),
  PASSED("passed"),
  FAILED("failed"),
  ERROR("error");

  private final String json;

  RunStatus(String json) {
    this.json = json;
  }

  /** The persisted and served name. */
  @JsonValue
  public String json() {
    return json;
  }

  @JsonCreator(mode = JsonCreator.Mode.DELEGATING)
  public static RunStatus of(String json) {
    return Arrays.stream(values()).filter(s -> s.json.equals(json)).findFirst()
        .orElseThrow(() -> new IllegalArgumentException("unknown run status '" + json + "' (known: running, passed, "
            + "failed, error): written by another version of Heyken?"));
  }

  public boolean finished() {
    return this != RUNNING;
  }

  @Override
  public String toString() {
    return json;
  }
}
