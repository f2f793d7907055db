package heyken.actors.feature;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import heyken.protocol.api.Problem;
import heyken.sandbox.pipeline.CiFileException;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * A {@code .gitlab-ci.yml} that would make the core build more than the pipeline's bounds allow is refused when the
 * feature is created or a revision committed, before anything is kept: a 400 naming what is too large.
 */
class PipelineFileRefusalTest {

  private static Problem refusal(String ci) {
    var e = assertThrows(CiFileException.class,
        () -> FeatureService.checkYaml(Map.of("app.py", "print(1)\n", PipelineRun.CI_FILE, ci)));
    return FeatureService.problemOf(e);
  }

  @Test
  void aVariableThatExpandsToAGigabyteIsA400NamingIt() {
    String ci = "variables:\n"
        + "  A: \"" + "a".repeat(1_000) + "\"\n"
        + "  B: \"" + "$A".repeat(1_000) + "\"\n"
        + "  C: \"" + "${B}".repeat(1_000) + "\"\n"
        + "test:\n  script: [env]\n";
    Problem problem = refusal(ci);
    assertEquals(400, problem.status());
    assertEquals("invalid_yaml", problem.error());
    assertTrue(problem.detail().startsWith(".gitlab-ci.yml: line 3: job 'test': variable 'B' expands to more than "
        + "65536 characters"), problem.detail());
  }

  @Test
  void tooManyScriptLinesOrJobsAreA400NamingThem() {
    Problem lines = refusal("test:\n  script:\n" + "    - echo hi\n".repeat(1_001));
    assertEquals(400, lines.status());
    assertTrue(lines.detail().contains("job 'test': script has more than 1000 lines"), lines.detail());
    var jobs = new StringBuilder();
    for (int i = 0; i < 201; i++) {
      jobs.append("j").append(i).append(": {script: [x]}\n");
    }
    Problem many = refusal(jobs.toString());
    assertEquals(400, many.status());
    assertTrue(many.detail().contains("defines 201 jobs; Heyken runs at most 50"), many.detail());
  }

  @Test
  void tooManyVariablesAreA400NamingWhere() {
    var ci = new StringBuilder("test:\n  script: [env]\n  variables:\n");
    for (int i = 0; i < 1_001; i++) {
      ci.append("    V").append(i).append(": v\n");
    }
    Problem problem = refusal(ci.toString());
    assertEquals(400, problem.status());
    assertEquals("invalid_yaml", problem.error());
    assertTrue(problem.detail().contains("line 4: job 'test': variables has 1001 variables; at most 1000 are allowed"),
        problem.detail());
  }

  @Test
  void aFileWithinTheBoundsPasses() {
    FeatureService.checkYaml(Map.of(PipelineRun.CI_FILE, "variables:\n  A: x\n  B: $A$A\ntest:\n  script: [env]\n"));
  }
}
