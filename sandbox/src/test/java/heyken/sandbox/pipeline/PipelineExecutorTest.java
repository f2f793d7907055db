package heyken.sandbox.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import heyken.sandbox.SandboxBackend;
import heyken.sandbox.SandboxPolicy;
import heyken.sandbox.SandboxSpec;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PipelineExecutorTest {

  private static final SandboxPolicy POLICY =
      new SandboxPolicy(256L << 20, 1.0, 128, Duration.ofSeconds(20), 64 * 1024, 64L << 20);
  private static final Function<String, String> IMAGES =
      image -> image == null ? "sandbox/busybox:1" : image.startsWith("python") ? "sandbox/python:1" : image;

  @TempDir
  Path tmp;

  private final RecordingSandbox backend = new RecordingSandbox("missing/image:1");
  private final AtomicInteger jobNumber = new AtomicInteger();

  // ------------------------------------------------------------------------------------------------ one job

  @Test
  void linesRunInOrderEachEchoedLikeGitLab() {
    CiJob job = only("""
        test:
          variables: {GREETING: hello}
          before_script: [echo one]
          script:
            - echo two
            - echo "$GREETING from $CI_JOB_NAME in $CI_JOB_STAGE, CI=$CI HEYKEN=$HEYKEN"
        """);
    JobOutcome outcome = run(job);
    assertEquals(JobOutcome.PASSED, outcome.status(), outcome.logTail());
    assertEquals(0, outcome.exitCode());
    assertEquals("ok", outcome.reason());
    assertEquals(RecordingSandbox.NAME, outcome.backend());
    assertEquals("", outcome.detail());
    assertTrue(outcome.logTail().contains("""
        $ echo one
        one
        $ echo two
        two
        $ echo "$GREETING from $CI_JOB_NAME in $CI_JOB_STAGE, CI=$CI HEYKEN=$HEYKEN"
        hello from test in test, CI=true HEYKEN=true
        """), outcome.logTail());
  }

  @Test
  void theScriptStopsAtTheFirstFailingLine() {
    JobOutcome outcome = run(only("""
        j:
          script:
            - echo before
            - test -f no-such-file
            - echo after
        """));
    assertEquals(JobOutcome.FAILED, outcome.status());
    assertEquals(1, outcome.exitCode());
    assertEquals("exit", outcome.reason());
    assertEquals("exit code 1", outcome.detail());
    // the failure line goes to stderr, read by another thread: only the order within stdout is asserted
    int before = outcome.logTail().indexOf("before\n");
    assertTrue(before >= 0 && outcome.logTail().indexOf("$ test -f no-such-file\n") > before, outcome.logTail());
    assertFalse(outcome.logTail().contains("after"), outcome.logTail());
    assertTrue(outcome.logTail().contains("Heyken: the job failed with exit code 1 at script line 2"),
        outcome.logTail());
  }

  @Test
  void aFailureInsideAMultiLineEntryOrAnAndListStopsTheJobToo() {
    JobOutcome block = run(only("""
        j:
          script:
            - |
              echo first
              exit 3
              echo never
            - echo not reached
        """));
    assertEquals(3, block.exitCode());
    // stdout and stderr are read by different threads: the failure line (stderr) may come between the echoed
    // command and its output, so only the order within stdout is asserted
    String log = block.logTail();
    int echoed = log.indexOf("$ echo first # collapsed multi-line command\n");
    assertTrue(echoed >= 0 && log.indexOf("first\n", echoed + 10) > echoed, log);
    assertFalse(block.logTail().contains("never") || block.logTail().contains("not reached"), block.logTail());

    JobOutcome andList = run(only("j:\n  script:\n    - false && echo x\n    - echo not reached\n"));
    assertEquals(JobOutcome.FAILED, andList.status());
    assertFalse(andList.logTail().contains("not reached\n"), andList.logTail());

    JobOutcome broken = run(only("j:\n  script:\n    - echo 'unterminated\n    - echo not reached\n"));
    assertEquals(JobOutcome.FAILED, broken.status());
    assertFalse(broken.logTail().contains("not reached\n"), broken.logTail());
  }

  @Test
  void directoryChangesAndShellVariablesCarryOverAndQuotesSurvive() {
    JobOutcome outcome = run(only("""
        j:
          script:
            - mkdir -p sub && cd sub
            - X='it'"'"'s'
            - printf '%s|%s\\n' "$(basename "$PWD")" "$X"
            - echo "dollar \\$HOME and 'single' and \\"double\\""
        """));
    assertEquals(JobOutcome.PASSED, outcome.status(), outcome.logTail());
    assertTrue(outcome.logTail().contains("\nsub|it's\n"), outcome.logTail());
    assertTrue(outcome.logTail().contains("\ndollar $HOME and 'single' and \"double\"\n"), outcome.logTail());
  }

  @Test
  void theSpecCarriesImageEnvironmentCommandAndTheLowerTimeout() {
    CiJob job = only("""
        variables: {BASE: /opt, LITERAL: {value: "$BASE", expand: false}}
        j:
          image: python:3.11
          timeout: 5s
          variables: {TOOLS: "$BASE/tools", PRICE: "$$5", UNKNOWN: "${NOPE}x"}
          script: [true]
        """.replace("[true]", "[\"true\"]"));
    JobOutcome outcome = runWithSha(job, "0123456789abcdef0123456789abcdef01234567");
    assertEquals(JobOutcome.PASSED, outcome.status(), outcome.logTail());
    SandboxSpec spec = backend.specs.get(0);
    assertEquals("sandbox/python:1", spec.image());
    assertEquals(List.of("/bin/sh", "./" + JobScript.FILE), spec.command());
    assertEquals(Duration.ofSeconds(5), spec.policy().wallTime());
    assertEquals(POLICY.memoryBytes(), spec.policy().memoryBytes());
    Map<String, String> env = spec.env();
    assertEquals("/opt/tools", env.get("TOOLS"));
    assertEquals("$BASE", env.get("LITERAL"), "expand: false keeps the value literal");
    assertEquals("$5", env.get("PRICE"));
    assertEquals("x", env.get("UNKNOWN"));
    assertEquals("/work", env.get("CI_PROJECT_DIR"));
    assertEquals("0123456789abcdef0123456789abcdef01234567", env.get("CI_COMMIT_SHA"));
    assertEquals("01234567", env.get("CI_COMMIT_SHORT_SHA"));
    assertTrue(outcome.logTail().contains("in image sandbox/python:1 (for python:3.11), timeout 5s"),
        outcome.logTail());
  }

  @Test
  void aJobTimeoutAboveThePolicyDoesNotRaiseIt() {
    JobOutcome outcome = run(only("j:\n  timeout: 2h\n  script: [echo x]\n"));
    assertEquals(POLICY.wallTime(), backend.specs.get(0).policy().wallTime());
    assertTrue(outcome.logTail().contains("the job's timeout 2h is above the sandbox's limit; it runs with 20s"),
        outcome.logTail());
  }

  @Test
  void aJobWithoutImageRunsInTheDefaultOne() {
    run(only("j: {script: [echo x]}\n"));
    assertEquals("sandbox/busybox:1", backend.specs.get(0).image());
  }

  @Test
  void aJobPastItsTimeoutFailsWithTheReason() {
    JobOutcome outcome = run(only("j:\n  timeout: 1s\n  script: [sleep 10]\n"));
    assertEquals(JobOutcome.FAILED, outcome.status());
    assertEquals("timeout", outcome.reason());
    assertTrue(outcome.detail().startsWith("stopped after 1s"), outcome.detail());
  }

  @Test
  void allowedFailuresDoNotFail() {
    JobOutcome any = run(only("j: {script: [exit 1], allow_failure: true}\n"));
    assertEquals(JobOutcome.ALLOWED_FAILURE, any.status());
    assertEquals("allowed to fail: exit code 1", any.detail());
    JobOutcome listed = run(only("j: {script: [exit 3], allow_failure: {exit_codes: [3]}}\n"));
    assertEquals(JobOutcome.ALLOWED_FAILURE, listed.status());
    JobOutcome other = run(only("j: {script: [exit 4], allow_failure: {exit_codes: [3]}}\n"));
    assertEquals(JobOutcome.FAILED, other.status());
    assertEquals(4, other.exitCode());
  }

  @Test
  void imageProblemsFailTheJobWithTheReason() {
    JobOutcome missing = run(only("j: {image: missing/image:1, script: [echo x]}\n"));
    assertEquals(JobOutcome.FAILED, missing.status());
    assertEquals("error", missing.reason());
    assertEquals("image missing/image:1 is not built here", missing.detail());

    CiJob job = only("j: {image: ruby:3, script: [echo x]}\n");
    JobOutcome unresolved = runWith(job, image -> {
      throw new IllegalArgumentException("image ruby:3 has no local alias");
    });
    assertEquals(JobOutcome.FAILED, unresolved.status());
    assertEquals("error", unresolved.reason());
    assertTrue(unresolved.detail().contains("image ruby:3 has no local alias"), unresolved.detail());
    assertEquals(1, backend.specs.size(), "the unresolvable job never reached the sandbox");
  }

  @Test
  void theOutcomeKeepsOnlyTheLogsTail() {
    JobOutcome outcome = run(only("""
        j:
          script:
            - "i=0; while [ $i -lt 500 ]; do echo \\"line $i ééé\\"; i=$((i+1)); done"
        """));
    assertEquals(JobOutcome.PASSED, outcome.status(), outcome.logTail());
    assertTrue(outcome.logTail().getBytes(StandardCharsets.UTF_8).length <= PipelineExecutor.LOG_TAIL_BYTES);
    assertTrue(outcome.logTail().endsWith("line 499 ééé\n"), outcome.logTail());
  }

  @Test
  void outputReachesTheListenerAsItComes() {
    var seen = new StringBuffer();
    CiJob job = only("j: {script: [echo live]}\n");
    try {
      PipelineExecutor.runJob(job, freshDir(), backend, POLICY, IMAGES, "job-live", null,
          (stream, text) -> seen.append(stream).append(':').append(text));
    } catch (InterruptedException e) {
      throw new AssertionError(e);
    }
    assertTrue(seen.toString().contains("stdout:Heyken: running job 'j'"), seen.toString());
    assertTrue(seen.toString().contains("live\n"), seen.toString());
  }

  // ------------------------------------------------------------------------------------------------ a pipeline

  private static final String PIPELINE = """
      stages: [build, test, deploy, cleanup]
      build: {stage: build, script: [echo built]}
      unit: {stage: test, script: [exit 1]}
      lint: {stage: test, script: [echo lint ok]}
      deploy: {stage: deploy, script: [echo deployed]}
      notify: {stage: deploy, script: [echo something failed], when: on_failure}
      publish: {stage: deploy, script: [echo publish], when: manual}
      cleanup: {stage: cleanup, script: [echo cleaned], when: always}
      """;

  @Test
  void afterAFailedStageLaterJobsAreSkippedUnlessTheyRunAlwaysOrOnFailure() {
    CiFile file = CiFile.parse(PIPELINE);
    List<JobOutcome> outcomes = runPipeline(file, List.of());
    assertEquals(List.of(
            "build=passed", "unit=failed", "lint=passed", "deploy=skipped", "notify=passed", "publish=skipped",
            "cleanup=passed"),
        outcomes.stream().map(o -> o.name() + "=" + o.status()).toList());
    assertEquals(List.of("build", "unit", "lint", "notify", "cleanup"), backend.ranJobs());
    assertEquals("not run: job 'unit' of stage 'test' failed", outcomes.get(3).detail());
    assertTrue(outcomes.get(5).detail().contains("manual"));
    assertEquals(PipelineStatus.FAILED, PipelineExecutor.decide(outcomes));
  }

  @Test
  void anAllowedFailureLetsLaterStagesRun() {
    CiFile file = CiFile.parse(PIPELINE.replace("script: [exit 1]}", "script: [exit 1], allow_failure: true}"));
    List<JobOutcome> outcomes = runPipeline(file, List.of());
    assertEquals(List.of(
            "build=passed", "unit=allowed_failure", "lint=passed", "deploy=passed", "notify=skipped",
            "publish=skipped", "cleanup=passed"),
        outcomes.stream().map(o -> o.name() + "=" + o.status()).toList());
    assertEquals(PipelineStatus.PASSED, PipelineExecutor.decide(outcomes));
  }

  @Test
  void aRunResumesAfterTheLastKeptOutcome() {
    CiFile file = CiFile.parse(PIPELINE);
    List<JobOutcome> all = runPipeline(file, List.of());
    var second = new RecordingSandbox();
    // as if the core died after keeping two outcomes: the survivor continues from the third job
    List<JobOutcome> resumed = runPipeline(file, all.subList(0, 2), second);
    assertEquals(List.of("lint", "notify", "cleanup"), second.ranJobs());
    assertEquals(all.stream().map(JobOutcome::status).toList(), resumed.stream().map(JobOutcome::status).toList());
  }

  @Test
  void aPipelineWhereNothingRanIsSkipped() {
    CiFile file = CiFile.parse("a: {script: [x], when: manual}\nb: {script: [x], when: never}\n");
    List<JobOutcome> outcomes = runPipeline(file, List.of());
    assertEquals(PipelineStatus.SKIPPED, PipelineExecutor.decide(outcomes));
    assertEquals(List.of(), backend.ranJobs());
    assertEquals(PipelineStatus.SKIPPED, PipelineExecutor.decide(List.of()));
  }

  @Test
  void jobsOfTheSameStageDoNotSkipEachOther() {
    CiFile file = CiFile.parse("a: {script: [exit 1]}\nb: {script: [echo b]}\n");
    assertTrue(PipelineExecutor.shouldRun(file.jobs().get(1), runPipeline(file, List.of()).subList(0, 1)));
  }

  // ------------------------------------------------------------------------------------------------ helpers

  private List<JobOutcome> runPipeline(CiFile file, List<JobOutcome> kept) {
    return runPipeline(file, kept, backend);
  }

  /** What a pipeline actor does, one job at a time, keeping each outcome before the next job. */
  private List<JobOutcome> runPipeline(CiFile file, List<JobOutcome> kept, SandboxBackend sandbox) {
    var outcomes = new ArrayList<>(kept);
    for (Optional<CiJob> next = PipelineExecutor.nextJob(file, outcomes); next.isPresent();
        next = PipelineExecutor.nextJob(file, outcomes)) {
      CiJob job = next.get();
      Optional<String> skip = PipelineExecutor.skipReason(job, outcomes);
      outcomes.add(skip.isPresent() ? JobOutcome.skipped(job, skip.get()) : run(job, sandbox, IMAGES, null));
    }
    return outcomes;
  }

  private static CiJob only(String yaml) {
    return CiFile.parse(yaml).jobs().get(0);
  }

  private JobOutcome run(CiJob job) {
    return run(job, backend, IMAGES, null);
  }

  private JobOutcome runWithSha(CiJob job, String sha) {
    return run(job, backend, IMAGES, sha);
  }

  private JobOutcome runWith(CiJob job, Function<String, String> images) {
    return run(job, backend, images, null);
  }

  private JobOutcome run(CiJob job, SandboxBackend sandbox, Function<String, String> images, String sha) {
    try {
      return PipelineExecutor.runJob(job, freshDir(), sandbox, POLICY, images, "job-" + jobNumber.incrementAndGet(),
          sha, SandboxBackend.OutputListener.NONE);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }

  private Path freshDir() {
    try {
      return Files.createTempDirectory(tmp, "checkout-");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
