package heyken.actors.feature;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;

import heyken.actors.core.CoreApi;
import heyken.actors.core.CoreRefusal;
import heyken.actors.feature.Feature.Refusal;
import heyken.actors.feature.Feature.Refusal.Kind;
import heyken.protocol.api.Problem;
import heyken.protocol.api.feature.RunAccepted;
import org.junit.jupiter.api.Test;

/**
 * What a caller of the API reads when a feature refuses: each refusal's status, error and detail exactly as the
 * entity wrote them before it answered in its own terms (the JSON of every endpoint stays the same).
 */
class FeatureApiTest {

  private static Problem problem(Kind kind, String revision, String runId, RunStatus last, int revisions) {
    return FeatureApi.problem(new Refusal(kind, "7", revision, runId, last, revisions, null, null));
  }

  private static void assertProblem(int status, String error, String detail, Problem actual) {
    assertEquals(new Problem(status, error, detail), actual);
  }

  @Test
  void everyRefusalSaysWhatToDoNext() {
    assertProblem(404, "unknown_feature", "no feature with feature_id '7' (GET /api/features lists them)",
        problem(Kind.UNKNOWN_FEATURE, null, null, null, 0));
    assertProblem(409, "feature_exists", "feature 7 exists already", problem(Kind.FEATURE_EXISTS, null, null, null, 0));
    assertProblem(409, "run_in_progress", "run 7-2 of revision aaaaaaa1 is still running; follow it at "
        + "/api/features/7/runs/7-2", problem(Kind.RUN_IN_PROGRESS, "aaaaaaa1bbbb", "7-2", null, 0));
    assertProblem(404, "unknown_revision", "feature 7 has no revision 'zz' (give a full commit id or a unique prefix; "
        + "GET /api/features/7 lists its 3 revisions)", problem(Kind.UNKNOWN_REVISION, "zz", null, null, 3));
    assertProblem(404, "unknown_revision", "feature 7 has no revision 'null' (give a full commit id or a unique "
        + "prefix; GET /api/features/7 lists its 0 revisions)", problem(Kind.UNKNOWN_REVISION, null, null, null, 0));
    assertProblem(409, "not_testable", "revision aaaaaaa1 has no .gitlab-ci.yml, so there is nothing to run (the "
        + "feature is a draft): add code and a pipeline first", problem(Kind.NOT_TESTABLE, "aaaaaaa1", null, null, 0));
    assertProblem(409, "not_runnable", "revision aaaaaaa1 has no `run` command in heyken.yml, so there is nothing to "
        + "invoke", problem(Kind.NOT_RUNNABLE, "aaaaaaa1", null, null, 0));
    assertProblem(409, "not_deployed", "feature 7 is not deployed", problem(Kind.NOT_DEPLOYED, null, null, null, 0));
    assertProblem(503, "core_manager_unavailable", "the active core did not answer in time (a hand-over may be in "
        + "progress): nothing was changed, try again", problem(Kind.LEDGER_UNAVAILABLE, null, null, null, 0));
  }

  @Test
  void notTestedSaysWhyAndHowToTest() {
    assertProblem(409, "not_tested", "revision aaaaaaa1 cannot be deployed: it has not been tested: "
        + "POST /api/features/test {\"feature_id\":\"7\"}", problem(Kind.NOT_TESTED, "aaaaaaa1", null, null, 0));
    assertProblem(409, "not_tested", "revision aaaaaaa1 cannot be deployed: its test run 7-1 is still running",
        problem(Kind.NOT_TESTED, "aaaaaaa1", "7-1", null, 0));
    assertProblem(409, "not_tested", "revision aaaaaaa1 cannot be deployed: its last test run error",
        problem(Kind.NOT_TESTED, "aaaaaaa1", null, RunStatus.ERROR, 0));
  }

  @Test
  void nothingToRollBackSaysWhetherAnythingIsDeployed() {
    assertProblem(409, "nothing_to_roll_back", "feature 7 is not deployed",
        problem(Kind.NOTHING_TO_ROLL_BACK, null, null, null, 0));
    assertProblem(409, "nothing_to_roll_back", "revision aaaaaaa1 is the first deployed revision: there is no earlier "
        + "one to go back to (undeploy instead)", problem(Kind.NOTHING_TO_ROLL_BACK, "aaaaaaa1", null, null, 0));
  }

  @Test
  void theLedgersOwnRefusalIsPassedOnAndNoRefusalIsNoProblem() {
    var ledger = Problem.conflict("command_taken", "!hello is feature 3's command");
    assertSame(ledger, FeatureApi.problem(new Refusal(Kind.LEDGER_REFUSED, "7", "aaaaaaa1", null, null, 0, ledger,
        null)), "a ledger of the previous release sends its problem only");
    var taken = new CoreRefusal(CoreRefusal.Kind.COMMAND_TAKEN, 1, 4, 0, null, "hello", "3", null, null, null, null);
    var stale = Problem.conflict("command_taken", "an older text");
    assertEquals(CoreApi.problem(taken), FeatureApi.problem(new Refusal(Kind.LEDGER_REFUSED, "7", "aaaaaaa1", null,
        null, 0, stale, taken)), "the domain refusal wins over the problem written beside it");
    assertNull(FeatureApi.problem(null));
  }

  @Test
  void aStartedRunIsAcceptedWithWhereToFollowIt() {
    assertEquals(new RunAccepted("7", "7-1", "aaaaaaa1", "running", "/api/features/7/runs/7-1",
        "/api/features/7/runs/7-1/log"), FeatureApi.runAccepted(new Feature.RunStarted("7", "7-1", "aaaaaaa1")));
  }
}
