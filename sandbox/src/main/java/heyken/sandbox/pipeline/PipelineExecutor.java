package heyken.sandbox.pipeline;

import heyken.sandbox.SandboxBackend;
import heyken.sandbox.SandboxPolicy;
import heyken.sandbox.SandboxResult;
import heyken.sandbox.SandboxSpec;
import heyken.sandbox.workspace.ByteSize;
import heyken.sandbox.workspace.DurationText;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs the jobs of a {@link CiFile} one at a time, so that whoever drives a pipeline (an actor) can keep each
 * {@link JobOutcome} before starting the next job and resume after a failover:
 *
 * <pre>{@code
 * List<CiJob> jobs = file.jobsInOrder();
 * CiJob job = jobs.get(done.size());                        // done: the outcomes kept so far, in that order
 * JobOutcome outcome = PipelineExecutor.skipReason(job, done)
 *     .map(why -> JobOutcome.skipped(job, why))
 *     .orElseGet(() -> PipelineExecutor.runJob(job, checkout, backend, policy, images, jobId, sha, listener));
 * ...
 * PipelineStatus status = PipelineExecutor.decide(done);     // once every job has an outcome
 * }</pre>
 *
 * <p>The rules are GitLab's: a job runs when no job of an earlier stage failed ({@code when: on_success}), always
 * ({@code always}), only after a failure ({@code on_failure}), or never ({@code manual}, {@code never}); a job that
 * fails but is allowed to does not count as a failure.
 */
public final class PipelineExecutor {

  /** How much of a job's log its outcome keeps. */
  public static final int LOG_TAIL_BYTES = 4096;

  private static final Logger log = LoggerFactory.getLogger(PipelineExecutor.class);

  private PipelineExecutor() {}

  /** Runs one job without a commit id: see the full form. */
  public static JobOutcome runJob(CiJob job, Path checkoutDir, SandboxBackend backend, SandboxPolicy policy,
      Function<String, String> imageResolver, String jobId, SandboxBackend.OutputListener output)
      throws InterruptedException {
    return runJob(job, checkoutDir, backend, policy, imageResolver, jobId, null, output);
  }

  /**
   * Runs one job in {@code checkoutDir} (a fresh checkout of the revision; the job's script is written into it as
   * {@value JobScript#FILE}) and waits for its end. Blocks: call it from a blocking dispatcher.
   *
   * @param policy the job's limits; the job's {@code timeout} may lower the wall time, never raise it
   * @param imageResolver the local image for the image the job names, or for null when it names none (the default)
   * @param jobId the sandbox job id ({@link SandboxSpec} rules)
   * @param commitSha the revision, given to the job as {@code CI_COMMIT_SHA}; may be null
   * @param output receives the job's output as it comes, and Heyken's own lines about the job
   * @throws InterruptedException when the calling thread is interrupted (the backend kills the job)
   */
  public static JobOutcome runJob(CiJob job, Path checkoutDir, SandboxBackend backend, SandboxPolicy policy,
      Function<String, String> imageResolver, String jobId, String commitSha, SandboxBackend.OutputListener output)
      throws InterruptedException {
    var header = new StringBuilder();
    String image;
    try {
      image = imageResolver.apply(job.image());
      if (image == null || image.isBlank()) {
        throw new IllegalArgumentException("no local image is configured for it");
      }
    } catch (RuntimeException e) {
      String detail = "no sandbox image for " + (job.image() == null ? "the default image" : "image '" + job.image()
          + "'") + ": " + e.getMessage();
      note(header, output, "Heyken: " + detail);
      return outcome(job, SandboxResult.Reason.ERROR, -1, Duration.ZERO, header.toString(), backend.name(), detail);
    }

    SandboxPolicy jobPolicy = policy;
    if (job.timeout() != null) {
      if (job.timeout().compareTo(policy.wallTime()) < 0) {
        jobPolicy = policy.withWallTime(job.timeout());
      } else if (job.timeout().compareTo(policy.wallTime()) > 0) {
        note(header, output, "Heyken: the job's timeout " + DurationText.format(job.timeout()) + " is above the "
            + "sandbox's limit; it runs with " + DurationText.format(policy.wallTime()));
      }
    }
    note(header, output, "Heyken: running job '" + job.name() + "' (stage " + job.stage() + ") on " + backend.name()
        + " in image " + image + (job.image() != null && !job.image().equals(image) ? " (for " + job.image() + ")" : "")
        + ", timeout " + DurationText.format(jobPolicy.wallTime()));

    writeScript(checkoutDir, JobScript.render(job));
    var spec = new SandboxSpec(jobId, image, List.of("/bin/sh", "./" + JobScript.FILE),
        environment(job, commitSha), checkoutDir, null, jobPolicy);
    SandboxResult result = backend.run(spec, output);
    String detail = detail(result, jobPolicy);
    log.debug("job {} ({}) ended: reason={} exit_code={}", job.name(), jobId, result.reason().apiName(),
        result.exitCode());
    return outcome(job, result.reason(), result.exitCode(), result.duration(), header + result.log(),
        result.backend() == null || result.backend().isEmpty() ? backend.name() : result.backend(), detail);
  }

  /**
   * Why {@code job} does not run, given the outcomes of the jobs before it in {@link CiFile#jobsInOrder()}; empty
   * when it runs. Jobs of its own stage do not count: on GitLab they run side by side.
   */
  public static Optional<String> skipReason(CiJob job, List<JobOutcome> earlier) {
    Optional<JobOutcome> failed = earlier.stream()
        .filter(o -> o.failed() && !o.stage().equals(job.stage()))
        .findFirst();
    return switch (job.when()) {
      case ALWAYS -> Optional.empty();
      case NEVER -> Optional.of("not run: when: never");
      case MANUAL -> Optional.of("not run: a manual job (when: manual); Heyken does not start manual jobs");
      case ON_SUCCESS -> failed.map(f -> "not run: job '" + f.name() + "' of stage '" + f.stage() + "' failed");
      case ON_FAILURE -> failed.isPresent() ? Optional.empty()
          : Optional.of("not run: when: on_failure, and no job of an earlier stage failed");
    };
  }

  /** Whether {@code job} runs after {@code earlier}: see {@link #skipReason}. */
  public static boolean shouldRun(CiJob job, List<JobOutcome> earlier) {
    return skipReason(job, earlier).isEmpty();
  }

  /** The job that comes after the {@code done} outcomes (kept in {@link CiFile#jobsInOrder()} order), if any. */
  public static Optional<CiJob> nextJob(CiFile file, List<JobOutcome> done) {
    List<CiJob> jobs = file.jobsInOrder();
    return done.size() < jobs.size() ? Optional.of(jobs.get(done.size())) : Optional.empty();
  }

  /** How the pipeline went, from the outcomes of all its jobs. */
  public static PipelineStatus decide(List<JobOutcome> outcomes) {
    if (outcomes.stream().anyMatch(JobOutcome::failed)) {
      return PipelineStatus.FAILED;
    }
    if (outcomes.stream().allMatch(JobOutcome::skipped)) {
      return PipelineStatus.SKIPPED;
    }
    return PipelineStatus.PASSED;
  }

  /**
   * The job's environment: GitLab's predefined variables Heyken can give ({@code CI}, {@code CI_JOB_NAME},
   * {@code CI_JOB_STAGE}, {@code CI_PROJECT_DIR}, {@code CI_COMMIT_SHA}), {@code HEYKEN=true} so that a script can
   * tell where it runs, then the file's and the job's variables, expanded.
   */
  public static Map<String, String> environment(CiJob job, String commitSha) {
    var predefined = new LinkedHashMap<String, String>();
    predefined.put("CI", "true");
    predefined.put("HEYKEN", "true");
    predefined.put("CI_JOB_NAME", job.name());
    predefined.put("CI_JOB_STAGE", job.stage());
    predefined.put("CI_PROJECT_DIR", SandboxSpec.WORK_DIR);
    if (commitSha != null && !commitSha.isBlank()) {
      predefined.put("CI_COMMIT_SHA", commitSha);
      predefined.put("CI_COMMIT_SHORT_SHA", commitSha.substring(0, Math.min(8, commitSha.length())));
    }
    return JobScript.expand(predefined, job.variables());
  }

  private static JobOutcome outcome(CiJob job, SandboxResult.Reason reason, int exitCode, Duration duration,
      String log, String backend, String detail) {
    String status;
    if (reason == SandboxResult.Reason.OK) {
      status = JobOutcome.PASSED;
    } else if (job.allowFailure().allows(reason, exitCode)) {
      status = JobOutcome.ALLOWED_FAILURE;
      detail = "allowed to fail: " + detail;
    } else {
      status = JobOutcome.FAILED;
    }
    return new JobOutcome(job.name(), job.stage(), status, exitCode, reason.apiName(), duration, tail(log), backend,
        detail);
  }

  private static String detail(SandboxResult result, SandboxPolicy policy) {
    if (result.detail() != null && !result.detail().isBlank()) {
      return result.detail();
    }
    return switch (result.reason()) {
      case OK -> "";
      case EXIT -> "exit code " + result.exitCode();
      case TIMEOUT -> "stopped after " + DurationText.format(policy.wallTime()) + ", the job's time limit: make it "
          + "faster or raise its timeout";
      case OOM -> "killed for using more than " + ByteSize.format(policy.memoryBytes()) + " of memory";
      case PIDS -> "hit the limit of " + policy.pids() + " processes";
      case DISK -> "wrote more than its disk bound of " + ByteSize.format(policy.diskBytes()) + " into /work";
      case ERROR -> "the sandbox failed";
    };
  }

  private static void note(StringBuilder header, SandboxBackend.OutputListener output, String line) {
    header.append(line).append('\n');
    output.output("stdout", line + "\n");
  }

  private static void writeScript(Path dir, String script) {
    Path file = dir.resolve(JobScript.FILE);
    try {
      Files.writeString(file, script, StandardCharsets.UTF_8);
      try {
        // read by the sandbox user (65534), never executed directly: sh reads it
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-r--r--"));
      } catch (UnsupportedOperationException e) {
        // not a POSIX file system: readable as it is
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write the job script into " + dir + ": " + e.getMessage(), e);
    }
  }

  /** The last {@link #LOG_TAIL_BYTES} bytes of {@code log} (UTF-8), cut at a character boundary. */
  static String tail(String log) {
    if (log == null) {
      return "";
    }
    byte[] bytes = log.getBytes(StandardCharsets.UTF_8);
    if (bytes.length <= LOG_TAIL_BYTES) {
      return log;
    }
    int start = bytes.length - LOG_TAIL_BYTES;
    // skip UTF-8 continuation bytes so the tail starts with a whole character
    while (start < bytes.length && (bytes[start] & 0xC0) == 0x80) {
      start++;
    }
    return new String(bytes, start, bytes.length - start, StandardCharsets.UTF_8);
  }
}
