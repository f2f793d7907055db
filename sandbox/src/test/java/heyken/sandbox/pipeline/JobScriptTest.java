package heyken.sandbox.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

class JobScriptTest {

  @Test
  void variablesExpandLikeTheGitLabRunner() {
    var variables = new LinkedHashMap<String, String>();
    variables.put("A", "a");
    variables.put("B", "$A-${A}-$CI_JOB_NAME");
    variables.put("C", "$$A $MISSING. $1 ${not valid} $");
    variables.put("D", "$LATER");
    variables.put("LATER", "late");
    Map<String, String> env = JobScript.expand(Map.of("CI_JOB_NAME", "build"), variables);
    assertEquals("a-a-build", env.get("B"));
    assertEquals("$A . $1 ${not valid} $", env.get("C"));
    assertEquals("", env.get("D"), "a variable sees only those defined before it");
  }

  @Test
  void linesAreQuotedSoNothingInThemIsInterpretedBeforeEval() {
    CiJob job = CiFile.parse("j:\n  script:\n    - echo 'a' \"$(b)\" `c`\n").jobs().get(0);
    String script = JobScript.render(job);
    assertTrue(script.contains("eval 'echo '\\''a'\\'' \"$(b)\" `c`'\n"), script);
    assertTrue(script.contains("printf '%s\\n' '$ echo '\\''a'\\'' \"$(b)\" `c`'\n"), script);
  }
}
