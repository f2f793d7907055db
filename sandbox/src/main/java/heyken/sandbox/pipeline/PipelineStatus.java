package heyken.sandbox.pipeline;

import java.util.Locale;

/** How a whole pipeline went, decided from its jobs' outcomes by {@link PipelineExecutor#decide}. */
public enum PipelineStatus {
  /** No job failed (jobs allowed to fail may have). */
  PASSED,
  /** A job failed that was not allowed to. */
  FAILED,
  /** No job ran (all manual, never, or none at all): nothing was tested. */
  SKIPPED;

  /** {@code passed}, {@code failed}, {@code skipped}. */
  public String apiName() {
    return name().toLowerCase(Locale.ROOT);
  }
}
