package heyken.actors.feature;

import heyken.actors.core.CoreApi;
import heyken.protocol.api.Problem;
import heyken.protocol.api.feature.DeploymentView;
import heyken.protocol.api.feature.FeatureView;
import heyken.protocol.api.feature.RunAccepted;
import java.util.ArrayList;

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

  /** The feature as the API shows it ({@code GET /api/features/{id}}): revisions and runs newest first. */
  public static FeatureView view(Feature.State state) {
    var revisionViews = new ArrayList<FeatureView.RevisionView>();
    var revisions = state.revisions();
    var runs = state.runs();
    for (int i = revisions.size() - 1; i >= 0; i--) {
      var r = revisions.get(i);
      String runId = null;
      for (var run : runs) {
        if (run.revision().equals(r.id())) {
          runId = run.runId();
        }
      }
      RunStatus result = state.testResult(r.id());
      String tests = result == null ? null : result.json();
      if (tests == null) {
        var running = state.runningRun();
        tests = running != null && running.revision().equals(r.id()) ? "running"
            : r.testable() ? "untested" : "no pipeline";
      }
      revisionViews.add(new FeatureView.RevisionView(r.id(), r.message(), r.source(), r.at().toString(), tests,
          runId));
    }
    var runViews = new ArrayList<FeatureView.RunSummary>();
    for (int i = runs.size() - 1; i >= 0; i--) {
      var run = runs.get(i);
      runViews.add(new FeatureView.RunSummary(run.runId(), run.revision(), run.status().json(),
          run.startedAt().toString(), run.finishedAt() == null ? null : run.finishedAt().toString()));
    }
    var head = state.head();
    var createdAt = state.createdAt();
    return new FeatureView(state.featureId(), state.name(), state.description(), state.status().json(),
        head == null ? null : head.command(), createdAt == null ? null : createdAt.toString(),
        head == null ? null : head.id(), revisionViews, runViews, deployment(state));
  }

  /**
   * The feature's view from a reply, read from both shapes: made from the state when the entity sent it, else the
   * view an entity of the previous release sent alone; null when the feature refused.
   */
  public static FeatureView view(Feature.FeatureReply reply) {
    return reply.state() != null ? view(reply.state()) : reply.view();
  }

  /** The feature's deployment as the API shows it (previous revisions newest first); null when not deployed. */
  public static DeploymentView deployment(Feature.State state) {
    var deployment = state.deployment();
    if (deployment == null) {
      return null;
    }
    var prev = new ArrayList<String>();
    var previous = state.previous();
    for (int i = previous.size() - 1; i >= 0; i--) {
      prev.add(previous.get(i).revision());
    }
    return new DeploymentView(state.featureId(), deployment.revision(), deployment.command(),
        deployment.at().toString(), deployment.core(), deployment.epoch(), prev);
  }

  private static String runPath(String featureId, String runId) {
    return "/api/features/" + featureId + "/runs/" + runId;
  }
}
