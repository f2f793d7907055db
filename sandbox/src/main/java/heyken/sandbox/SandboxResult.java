package heyken.sandbox;

import java.time.Duration;

/**
 * What came of one sandbox job.
 *
 * @param exitCode the process's exit code (137 after a kill; -1 when it never ran)
 * @param reason why it ended, see {@link Reason}
 * @param stdout standard output only (the answer of an invoked feature), at most the policy's output cap
 * @param log standard output and error interleaved as they came, at most the policy's output cap
 * @param truncated whether output beyond the cap was dropped
 * @param duration wall-clock time from start to end of the job, sandbox setup included
 * @param backend which backend ran it: {@code docker} or {@code bubblewrap}
 * @param detail a sentence for people: why it failed and what to do ("image sandbox/python:1 is not built: run
 *     scripts/docker-engine.sh"); empty for a plain exit
 */
public record SandboxResult(
    int exitCode,
    Reason reason,
    String stdout,
    String log,
    boolean truncated,
    Duration duration,
    String backend,
    String detail) {

  /** Why a job ended. Names are the API's {@code reason} values (lower case). */
  public enum Reason {
    /** Exited with code 0. */
    OK,
    /** Exited with another code. */
    EXIT,
    /** Ran past the policy's wall time and was killed. */
    TIMEOUT,
    /** Killed for using more memory than the policy allows. */
    OOM,
    /** Hit the process limit (fork bomb); killed or failed to fork. */
    PIDS,
    /** Filled /work, a tmpfs of the policy's disk bound ({@code No space left on device}), and failed. */
    DISK,
    /** The sandbox itself failed (image missing, engine gone); the job's code may not have run. */
    ERROR;

    public String apiName() {
      return name().toLowerCase(java.util.Locale.ROOT);
    }
  }

  public boolean succeeded() {
    return reason == Reason.OK;
  }
}
