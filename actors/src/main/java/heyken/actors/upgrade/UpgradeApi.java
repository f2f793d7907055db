package heyken.actors.upgrade;

import heyken.protocol.api.Problem;

/**
 * The upgrade's refusals as a caller of the API sees them: an {@link Upgrade.Refusal} (a kind and its facts) becomes
 * the {@code {"error","detail"}} with its status and the hint that says what to do next. The singleton and its
 * runtime know none of this.
 */
public final class UpgradeApi {

  private UpgradeApi() {}

  /** The API's problem for a refusal of the upgrade; null for null. */
  public static Problem problem(Upgrade.Refusal refused) {
    if (refused == null) {
      return null;
    }
    return switch (refused.kind()) {
      case INVALID_UPGRADE -> Problem.badRequest("invalid_upgrade", "send exactly one of {\"ref\": \"<git ref of "
          + "Heyken's repository>\"} or {\"jar_path\": \"<a built heyken-core.jar>\"}");
      case INVALID_REF -> Problem.badRequest("invalid_ref", "'" + refused.ref()
          + "' is not a git ref (a branch, tag or commit)");
      case UPGRADE_RUNNING -> Problem.conflict("upgrade_running", "upgrade " + refused.runId() + " (requested by "
          + refused.requestedBy() + ") runs: step " + (refused.step() == null ? "-" : refused.step())
          + ". Wait until it ends: GET :5021/api/upgrade");
      case HANDING_OVER -> Problem.unavailable("not_active", "this core is not the active one (a hand-over is under "
          + "way?): retry in a few seconds");
      case FENCED -> Problem.unavailable("not_active", refused.detail());
      case NOT_PREPARED -> Problem.unavailable("upgrade_unavailable", "the upgrade could not be prepared: "
          + refused.detail());
      case UNKNOWN_REF -> Problem.badRequest("unknown_ref", "no commit '" + refused.ref() + "' in " + refused.where()
          + " (git -C " + refused.where() + " branch -a lists the branches)");
      case UNKNOWN_JAR -> Problem.badRequest("unknown_jar", "no file at jar_path " + refused.jarPath()
          + ": give the absolute path of a built heyken-core.jar");
      case NOT_A_JAR -> Problem.unavailable("not_a_jar", "this core does not run from a jar (a development run): it "
          + "cannot be upgraded");
      case STANDBY_NOT_UP -> Problem.conflict("standby_not_up", "core " + refused.peer() + " (the standby) is not up "
          + "and ready (" + (refused.where() == null ? "it did not say which version it runs"
          : refused.where() + "/ready is not 200") + "): the upgrade restarts the standby first, so both cores must "
          + "run. Check scripts/status.sh");
      case VERSIONS_DIFFER -> Problem.conflict("versions_differ", "the cores run different versions (core "
          + refused.core() + " " + refused.version() + ", core " + refused.peer() + " " + refused.peerVersion()
          + "): finish or roll back the last upgrade first");
      case JAR_NOT_KEPT -> Problem.unavailable("jar_not_kept", "the running jar could not be kept in "
          + refused.where() + " (" + refused.detail() + "): check the disk");
      case NO_REPOSITORY -> Problem.unavailable("no_repository", refused.where() + " is not in a git repository: set "
          + "HEYKEN_UPGRADE_REPOSITORY to Heyken's repository, or upgrade to a built jar with jar_path");
    };
  }

  /**
   * A start's refusal, read from both shapes: {@code refused} from a singleton of this release, else the
   * {@code problem} an older one sends.
   */
  public static Problem problem(Upgrade.StartOutcome outcome) {
    return outcome.refused() != null ? problem(outcome.refused()) : outcome.problem();
  }
}
