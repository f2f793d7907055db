package heyken.sandbox.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import heyken.sandbox.SandboxResult.Reason;
import heyken.sandbox.workspace.YamlProblem;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class CiFileTest {

  /** GitLab's own "get started" pipeline, with a default image and variables. */
  private static final String GITLAB_EXAMPLE = """
      stages:
        - build
        - test
        - deploy

      variables:
        GREETING: hello
        RETRIES: 3

      default:
        image: python:3.11
        before_script:
          - python3 --version

      build-job:
        stage: build
        script:
          - echo "Compiling the code..."
          - echo "Compile complete."

      deploy-job:
        stage: deploy
        environment: production
        script:
          - echo "Deploying application..."

      unit-test-job:
        stage: test
        script:
          - echo "Running unit tests... This will take about 60 seconds."
          - sleep 1

      lint-test-job:
        stage: test
        image: alpine:3.19
        variables:
          GREETING: hi
        before_script: []
        script: echo "Linting code..."
        allow_failure: true
      """;

  @Test
  void gitLabsExampleRunsInStageOrderWithDefaultsApplied() {
    CiFile file = CiFile.parse(GITLAB_EXAMPLE);
    assertEquals(List.of(".pre", "build", "test", "deploy", ".post"), file.stages());
    assertEquals(List.of("build-job", "unit-test-job", "lint-test-job", "deploy-job"),
        file.jobsInOrder().stream().map(CiJob::name).toList());
    assertEquals(List.of("build-job", "deploy-job", "unit-test-job", "lint-test-job"),
        file.jobs().stream().map(CiJob::name).toList(), "jobs() keeps file order");

    CiJob build = file.job("build-job").orElseThrow();
    assertEquals("python:3.11", build.image());
    assertEquals(List.of("python3 --version"), build.beforeScript());
    assertEquals(List.of("echo \"Compiling the code...\"", "echo \"Compile complete.\""), build.script());
    assertEquals(Map.of("GREETING", "hello", "RETRIES", "3"), build.variables());
    assertEquals(CiJob.AllowFailure.NO, build.allowFailure());
    assertEquals(CiJob.When.ON_SUCCESS, build.when());
    assertEquals(15, build.line());

    CiJob lint = file.job("lint-test-job").orElseThrow();
    assertEquals("alpine:3.19", lint.image());
    assertEquals(List.of(), lint.beforeScript(), "a job's before_script replaces the default one");
    assertEquals(List.of("echo \"Linting code...\""), lint.script());
    assertEquals("hi", lint.variables().get("GREETING"));
    assertEquals(CiJob.AllowFailure.ANY, lint.allowFailure());

    assertEquals(List.of("line 23: job 'deploy-job': key 'environment' is not supported by Heyken and is ignored"),
        file.warnings());
  }

  @Test
  void withoutStagesGitLabsDefaultsApplyAndAJobIsInTest() {
    CiFile file = CiFile.parse("""
        after:
          stage: .post
          script: [echo post]
        tests:
          script: [echo test]
        compile:
          stage: build
          script: [echo build]
        first:
          stage: .pre
          script: [echo pre]
        """);
    assertEquals(CiFile.DEFAULT_STAGES, file.stages());
    assertEquals("test", file.job("tests").orElseThrow().stage());
    assertEquals(List.of("first", "compile", "tests", "after"), file.jobsInOrder().stream().map(CiJob::name).toList());
  }

  @Test
  void hiddenJobsAndAnchorsShareSettingsWithoutWarnings() {
    CiFile file = CiFile.parse("""
        .python: &python
          image: python:3.11
          before_script: [pip --version]
          artifacts: {paths: [dist]}
        .setup: &setup
          - echo setting up
        test:
          <<: *python
          script:
            - *setup
            - pytest
        """);
    CiJob test = file.jobs().get(0);
    assertEquals(1, file.jobs().size());
    assertEquals("python:3.11", test.image());
    assertEquals(List.of("pip --version"), test.beforeScript());
    assertEquals(List.of("echo setting up", "pytest"), test.script(), "nested script lists are flattened");
    // the hidden template's artifacts come in through the merge key: the job asks for them, so they are warned
    assertEquals(1, file.warnings().size(), file.warnings().toString());
    assertTrue(file.warnings().get(0).contains("job 'test': key 'artifacts' is not supported"));
  }

  @Test
  void everyUnsupportedKeyIsWarnedWithItsLine() {
    CiFile file = CiFile.parse("""
        include: other.yml
        workflow:
          rules: [{when: always}]
        cache: {paths: [.cache]}
        default:
          image: busybox
          retry: 2
        build:
          extends: .base
          script: [make]
          artifacts: {paths: [out]}
          cache: {key: x}
          rules: [{if: $CI}]
          only: [main]
          services: [postgres]
          needs: []
          image: {name: python:3.11, entrypoint: [""]}
        """);
    assertEquals(List.of(
        "line 1: key 'include' is not supported by Heyken and is ignored (the included files' jobs do not run here; "
            + "copy them into this file)",
        "line 2: key 'workflow' is not supported by Heyken and is ignored (every pipeline runs)",
        "line 4: key 'cache' is not supported by Heyken and is ignored (every job starts from a fresh checkout)",
        "line 7: default: key 'retry' is not supported by Heyken and is ignored (a failed job is not retried) "
            + "(supported: before_script, image, timeout)",
        "line 9: job 'build': key 'extends' is not supported by Heyken and is ignored (the job runs with only its own "
            + "keys; share keys with a YAML anchor (<<: *name) instead)",
        "line 11: job 'build': key 'artifacts' is not supported by Heyken and is ignored (every job starts from a "
            + "fresh checkout)",
        "line 12: job 'build': key 'cache' is not supported by Heyken and is ignored (every job starts from a fresh "
            + "checkout)",
        "line 13: job 'build': key 'rules' is not supported by Heyken and is ignored (the job runs according to "
            + "'when' only)",
        "line 14: job 'build': key 'only' is not supported by Heyken and is ignored (the job runs according to 'when' "
            + "only)",
        "line 15: job 'build': key 'services' is not supported by Heyken and is ignored (no service containers are "
            + "started)",
        "line 16: job 'build': key 'needs' is not supported by Heyken and is ignored (jobs run one at a time in stage "
            + "order)",
        "line 17: job 'build': image: key 'entrypoint' is not supported by Heyken and is ignored"), file.warnings());
    assertEquals("python:3.11", file.jobs().get(0).image(), "the mapping form of image");
  }

  @Test
  void invalidYamlIsAnErrorWithLineColumnAndTheParsersProblem() {
    var e = assertThrows(CiFileException.class, () -> CiFile.parse("""
        test:
          script:
            - echo one
          - echo two
        """));
    assertEquals(4, e.line());
    assertEquals(3, e.column());
    assertTrue(e.getMessage().startsWith("line 4, column 3: invalid YAML: expected <block end>, but found '-'"),
        e.getMessage());

    var tab = assertThrows(CiFileException.class, () -> CiFile.parse("test:\n\tscript: [x]\n"));
    assertEquals(2, tab.line());
    assertTrue(tab.getMessage().contains("TAB"), tab.getMessage());
  }

  @Test
  void aJobWithoutScriptIsAnErrorAtItsLine() {
    var e = assertThrows(CiFileException.class, () -> CiFile.parse("""
        ok:
          script: [true]
        broken:
          stage: test
          image: busybox
        downstream:
          trigger: other/project
        empty:
        """));
    List<String> messages = e.problems().stream().map(YamlProblem::toString).toList();
    assertEquals(4, messages.size(), messages.toString());
    assertEquals("line 2: job 'ok': script must be a string, got the boolean true: quote it (\"true\")",
        messages.get(0));
    assertTrue(messages.get(1).startsWith("line 3: job 'broken' has no script: add 'script:'"), messages.get(1));
    assertTrue(messages.get(2).startsWith("line 6: job 'downstream' triggers another pipeline"), messages.get(2));
    assertTrue(messages.get(3).startsWith("line 8: job 'empty' is empty"), messages.get(3));
  }

  @Test
  void aStageThatIsNotListedIsAnError() {
    var e = assertThrows(CiFileException.class, () -> CiFile.parse("""
        stages: [build, test]
        lint:
          stage: lint
          script: [ruff .]
        """));
    assertEquals(3, e.line());
    assertTrue(e.getMessage().contains("job 'lint': stage 'lint' is not in stages (.pre, build, test, .post): add it "
        + "to 'stages'"), e.getMessage());
  }

  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {
      "1h 30m|5400", "10 minutes|600", "30s|30", "3600|3600", "2 hours 5 minutes|7500", "1h|3600"})
  void gitLabTimeoutFormsAreRead(String written, long seconds) {
    CiFile file = CiFile.parse("job:\n  timeout: " + written + "\n  script: [x]\n");
    assertEquals(Duration.ofSeconds(seconds), file.jobs().get(0).timeout());
  }

  @Test
  void aBadTimeoutIsAnErrorAndADefaultTimeoutApplies() {
    var e = assertThrows(CiFileException.class, () -> CiFile.parse("job:\n  script: [x]\n  timeout: soon\n"));
    assertTrue(e.getMessage().startsWith("line 3: job 'job': 'timeout': 'soon' is not a duration"), e.getMessage());
    CiFile file = CiFile.parse("default:\n  timeout: 5m\na:\n  script: [x]\nb:\n  timeout: 1m\n  script: [x]\n");
    assertEquals(Duration.ofMinutes(5), file.job("a").orElseThrow().timeout());
    assertEquals(Duration.ofMinutes(1), file.job("b").orElseThrow().timeout());
    assertNull(CiFile.parse("a:\n  script: [x]\n").jobs().get(0).timeout());
  }

  @Test
  void allowFailureTakesBooleansAndExitCodes() {
    CiFile file = CiFile.parse("""
        strict: {script: [x], allow_failure: false}
        lenient: {script: [x], allow_failure: true}
        one: {script: [x], allow_failure: {exit_codes: 3}}
        some: {script: [x], allow_failure: {exit_codes: [1, 2]}}
        """);
    assertEquals(CiJob.AllowFailure.NO, file.job("strict").orElseThrow().allowFailure());
    assertEquals(CiJob.AllowFailure.ANY, file.job("lenient").orElseThrow().allowFailure());
    assertEquals(new CiJob.AllowFailure.ExitCodes(java.util.Set.of(3)), file.job("one").orElseThrow().allowFailure());
    CiJob.AllowFailure some = file.job("some").orElseThrow().allowFailure();
    assertTrue(some.allows(Reason.EXIT, 2));
    assertTrue(!some.allows(Reason.EXIT, 3));
    assertTrue(!some.allows(Reason.TIMEOUT, 137), "a timeout is not an exit code");
    assertTrue(CiJob.AllowFailure.ANY.allows(Reason.TIMEOUT, 137));

    var e = assertThrows(CiFileException.class, () -> CiFile.parse("j: {script: [x], allow_failure: maybe}\n"));
    assertTrue(e.getMessage().contains("allow_failure must be true or false"), e.getMessage());
  }

  @Test
  void whenIsReadAndDelayedIsWarned() {
    CiFile file = CiFile.parse("""
        a: {script: [x], when: always}
        b: {script: [x], when: manual}
        c: {script: [x], when: never}
        d: {script: [x], when: on_failure}
        e: {script: [x], when: delayed, start_in: 5 minutes}
        """);
    assertEquals(List.of(CiJob.When.ALWAYS, CiJob.When.MANUAL, CiJob.When.NEVER, CiJob.When.ON_FAILURE,
        CiJob.When.ON_SUCCESS), file.jobs().stream().map(CiJob::when).toList());
    assertEquals(2, file.warnings().size(), file.warnings().toString());
    var e = assertThrows(CiFileException.class, () -> CiFile.parse("a: {script: [x], when: sometimes}\n"));
    assertTrue(e.getMessage().contains("when must be on_success, on_failure, always, manual or never"),
        e.getMessage());
  }

  @Test
  void variablesAreStringsNumbersIncludedAndLongFormsRead() {
    CiFile file = CiFile.parse("""
        variables:
          VERSION: 3.10
          COUNT: 7
          LITERAL: {value: "$HOME", expand: false, description: "not expanded"}
        job:
          variables:
            COUNT: "8"
          script: [x]
        """);
    assertEquals(Map.of("VERSION", "3.10", "COUNT", "8", "LITERAL", "$$HOME"), file.jobs().get(0).variables());
    var e = assertThrows(CiFileException.class, () -> CiFile.parse("""
        variables:
          DEBUG: true
          2BAD: x
          EMPTY:
        job: {script: [x]}
        """));
    assertEquals(List.of(2, 3, 4), e.problems().stream().map(YamlProblem::line).toList(), e.getMessage());
    assertTrue(e.getMessage().contains("quote it (\"true\")"), e.getMessage());
  }

  @Test
  void scriptLinesMustBeStrings() {
    var mapping = assertThrows(CiFileException.class, () -> CiFile.parse("j:\n  script:\n    - echo a: b\n"));
    assertTrue(mapping.getMessage().startsWith("line 3: job 'j': script must be a string or a list of strings, got a "
        + "mapping: a line with ': ' in it must be quoted"), mapping.getMessage());
    var reference = assertThrows(CiFileException.class,
        () -> CiFile.parse(".s: {script: [a]}\nj:\n  script: !reference [.s, script]\n"));
    assertTrue(reference.getMessage().contains("uses the YAML tag '!reference', which Heyken does not support"),
        reference.getMessage());
    var empty = assertThrows(CiFileException.class, () -> CiFile.parse("j:\n  script: []\n"));
    assertTrue(empty.getMessage().contains("script is empty"), empty.getMessage());
  }

  @Test
  void theDeprecatedTopLevelImageAndBeforeScriptAreHonoured() {
    CiFile file = CiFile.parse("image: ruby:3\nbefore_script: [bundle install]\nj: {script: [rake]}\n");
    assertEquals("ruby:3", file.jobs().get(0).image());
    assertEquals(List.of("bundle install"), file.jobs().get(0).beforeScript());
    assertEquals(List.of(), file.warnings());
    CiFile both = CiFile.parse("image: ruby:3\ndefault: {image: python:3}\nj: {script: [x]}\n");
    assertEquals("python:3", both.jobs().get(0).image());
    assertEquals(1, both.warnings().size());
  }

  @Test
  void theFileMustDefineJobs() {
    assertThrows(CiFileException.class, () -> CiFile.parse(""));
    var hidden = assertThrows(CiFileException.class, () -> CiFile.parse(".template: {script: [x]}\n"));
    assertTrue(hidden.getMessage().contains("defines no job"), hidden.getMessage());
    var scalar = assertThrows(CiFileException.class, () -> CiFile.parse("j: {script: [x]}\nfoo: bar\n"));
    assertTrue(scalar.getMessage().startsWith("line 2: 'foo' is neither a job nor a keyword"), scalar.getMessage());
  }

  @Test
  void limitsOnJobsAndLinesHold() {
    var many = new StringBuilder();
    for (int i = 0; i <= CiFile.MAX_JOBS; i++) {
      many.append("job").append(i).append(": {script: [x]}\n");
    }
    var e = assertThrows(CiFileException.class, () -> CiFile.parse(many.toString()));
    assertTrue(e.getMessage().contains("defines 51 jobs; Heyken runs at most 50"), e.getMessage());

    String longLine = "echo " + "x".repeat(CiFile.MAX_SCRIPT_LINE_CHARS);
    var line = assertThrows(CiFileException.class, () -> CiFile.parse("j:\n  script:\n    - ok\n    - " + longLine));
    assertTrue(line.getMessage().contains("job 'j': script line 2 has 10005 characters; at most 10000"),
        line.getMessage());
  }
}
