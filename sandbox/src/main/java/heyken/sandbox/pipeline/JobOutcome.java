package heyken.sandbox.pipeline;

import java.time.Duration;
import java.util.Objects;
import java.util.Set;

/**
 * How one job of a pipeline went; small enough to be kept as an event per job, so that a run interrupted by a failover
 * resumes after the last finished job.
 *
 * @param status {@value #PASSED}, {@value #FAILED}, {@value #ALLOWED_FAILURE} or {@value #SKIPPED}
 * @param exitCode the script's exit code; -1 when it did not run
 * @param reason the sandbox's reason ({@link heyken.sandbox.SandboxResult.Reason#apiName()}: ok, exit, timeout, oom,
 *     pids, error); empty for a skipped job
 * @param logTail the last 4 KiB of the job's log
 * @param backend the sandbox that ran it; empty for a skipped job
 * @param detail a sentence for people: why it failed or was skipped; empty when it passed plainly
 */
public record JobOutcome(
    String name,
    String stage,
    String status,
    int exitCode,
    String reason,
    Duration duration,
    String logTail,
    String backend,
    String detail) {

  public static final String PASSED = "passed";
  public static final String FAILED = "failed";
  public static final String ALLOWED_FAILURE = "allowed_failure";
  public static final String SKIPPED = "skipped";

  private static final Set<String> STATUSES = Set.of(PASSED, FAILED, ALLOWED_FAILURE, SKIPPED);

  public JobOutcome {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(stage, "stage");
    if (!STATUSES.contains(status)) {
      throw new IllegalArgumentException("job status must be one of " + STATUSES + ", got " + status);
    }
    reason = reason == null ? "" : reason;
    duration = duration == null ? Duration.ZERO : duration;
    logTail = logTail == null ? "" : logTail;
    backend = backend == null ? "" : backend;
    detail = detail == null ? "" : detail;
  }

  /** A job that did not run, and why. */
  public static JobOutcome skipped(CiJob job, String why) {
    return new JobOutcome(job.name(), job.stage(), SKIPPED, -1, "", Duration.ZERO, "", "", why);
  }

  /** Failed and not allowed to: later stages' jobs are skipped unless they run {@code when: always}. */
  public boolean failed() {
    return FAILED.equals(status);
  }

  public boolean skipped() {
    return SKIPPED.equals(status);
  }
}
