package heyken.actors.feature;

import heyken.actors.core.CoreApi;
import heyken.protocol.api.Problem;
import heyken.protocol.api.feature.RunAccepted;

/**
 * The feature's answers as a caller of the API sees them (HTTP, and the chat, which shows the same details): a
 * {@link Feature.Refusal} becomes the {@code {"error","detail"}} with its status and the hint that says what to do
 * (which endpoint lists, which request tests), a started run the paths to follow it. The entity knows none of this.
 */
public final class FeatureApi {

  private FeatureApi() {}

  /** The API's problem for a refusal of the feature; null for null. */
  public static Problem problem(Feature.Refusal refused) {
    if (refused == null) {
      return null;
    }
    String featureId = refused.featureId();
    String revision = PipelineRun.shortRev(refused.revision());
    return switch (refused.kind()) {
      case UNKNOWN_FEATURE -> Problem.notFound("unknown_feature", "no feature with feature_id '"
          + FeatureCatalog.printable(featureId) + "' (GET /api/features lists them)");
      case FEATURE_EXISTS -> Problem.conflict("feature_exists", "feature " + featureId + " exists already");
      case RUN_IN_PROGRESS -> Problem.conflict("run_in_progress", "run " + refused.runId() + " of revision " + revision
          + " is still running; follow it at " + runPath(featureId, refused.runId()));
      case UNKNOWN_REVISION -> Problem.notFound("unknown_revision", "feature " + featureId + " has no revision '"
          + FeatureCatalog.printable(String.valueOf(refused.revision())) + "' (give a full commit id or a unique "
          + "prefix; GET /api/features/" + featureId + " lists its " + refused.revisions() + " revisions)");
      case NOT_TESTABLE -> Problem.conflict("not_testable", "revision " + revision + " has no .gitlab-ci.yml, so "
          + "there is nothing to run (the feature is a draft): add code and a pipeline first");
      case NOT_TESTED -> Problem.conflict("not_tested", "revision " + revision + " cannot be deployed: "
          + (refused.runId() != null ? "its test run " + refused.runId() + " is still running"
          : refused.lastResult() == null
              ? "it has not been tested: POST /api/features/test {\"feature_id\":\"" + featureId + "\"}"
              : "its last test run " + refused.lastResult().json()));
      case NOT_RUNNABLE -> Problem.conflict("not_runnable", "revision " + revision + " has no `run` command in "
          + "heyken.yml, so there is nothing to invoke");
      case NOTHING_TO_ROLL_BACK -> Problem.conflict("nothing_to_roll_back", refused.revision() == null
          ? "feature " + featureId + " is not deployed"
          : "revision " + revision + " is the first deployed revision: there is no earlier one to go back to "
              + "(undeploy instead)");
      case NOT_DEPLOYED -> Problem.conflict("not_deployed", "feature " + featureId + " is not deployed");
      case LEDGER_UNAVAILABLE -> Problem.unavailable("core_manager_unavailable", "the active core did not answer in "
          + "time (a hand-over may be in progress): nothing was changed, try again");
      case LEDGER_REFUSED -> refused.ledgerRefused() != null ? CoreApi.problem(refused.ledgerRefused())
          : refused.ledger();
    };
  }

  /** {@code POST /api/features/test}'s answer: the run and where to follow it. */
  public static RunAccepted runAccepted(Feature.RunStarted run) {
    String path = runPath(run.featureId(), run.runId());
    return new RunAccepted(run.featureId(), run.runId(), run.revision(), RunStatus.RUNNING.json(), path,
        path + "/log");
  }

  private static String runPath(String featureId, String runId) {
    return "/api/features/" + featureId + "/runs/" + runId;
  }
}
