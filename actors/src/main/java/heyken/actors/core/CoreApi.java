package heyken.actors.core;

import heyken.protocol.api.Problem;

/**
 * The core's singletons' answers as a caller of the API sees them (HTTP, and the chat, which shows the same details):
 * a {@link CoreRefusal} becomes the {@code {"error","detail"}} with its status and the hint that says what to do
 * (which script switches, which endpoint lists). The singletons know none of this.
 */
public final class CoreApi {

  private CoreApi() {}

  /** The API's problem for a refusal of a core singleton; null for null. */
  public static Problem problem(CoreRefusal refused) {
    if (refused == null) {
      return null;
    }
    int core = refused.core();
    long epoch = refused.epoch();
    return switch (refused.kind()) {
      case STOOD_DOWN -> Problem.unavailable("not_active", "core " + core
          + " is no longer the active core (epoch " + epoch + " was superseded); retry in a moment");
      case EPOCH_SUPERSEDED -> Problem.unavailable("not_active",
          EpochFence.StaleEpochException.message(epoch, refused.supersededBy()));
      case STORE_UNAVAILABLE -> Problem.unavailable("store_unavailable", "the store could not confirm this core's "
          + "epoch (" + refused.storeError() + "); nothing was changed, try again");
      case INVALID_TARGET -> Problem.badRequest("invalid_target", "target_core must be 1 or 2, got "
          + refused.targetCore());
      case TARGET_NOT_ACTIVE -> Problem.conflict("target_not_active", "target_core " + refused.targetCore()
          + " is not the active core: core " + core + " is (epoch " + epoch + "). Features are deployed to the active "
          + "core; leave target_core out, give " + core + ", or switch first: scripts/switch_core.sh "
          + refused.targetCore());
      case COMMAND_TAKEN -> Problem.conflict("command_taken", "the chat command '" + refused.command()
          + "' is already answered by deployed feature " + refused.owner()
          + ": undeploy it or change `command` in heyken.yml");
      case SERVICE_EXISTS -> Problem.conflict("service_exists", "a service named '" + refused.service()
          + "' exists already (image " + refused.image() + "): DELETE /api/services/" + refused.service()
          + " first, or pick another name");
      case PORT_IN_USE -> Problem.conflict("port_in_use", "the host port is already published by service "
          + refused.owner());
      case UNKNOWN_SERVICE -> Problem.notFound("unknown_service", "no service named '" + refused.service()
          + "'; GET /api/services lists them");
      case INVALID_ACTION -> Problem.badRequest("invalid_action",
          "a service can be stopped, started, restarted or removed, not '" + refused.action() + "'");
      case SWITCH_NOT_ACTIVE -> Problem.conflict("not_active", "core " + core + " is no longer active (epoch " + epoch
          + " was superseded)");
      case SWITCH_SUPERSEDED -> Problem.conflict("not_active", "core " + core + " is no longer active: epoch " + epoch
          + " was superseded by " + refused.supersededBy());
      case ALREADY_ACTIVE -> Problem.conflict("already_active", "core " + refused.targetCore()
          + " is already active (epoch " + epoch + ")");
      case TARGET_NOT_UP -> Problem.conflict("target_not_up", "core " + refused.targetCore() + " is not up in the "
          + "cluster, so it cannot take over: start it (scripts/run_heyken.sh starts what is missing) and check "
          + "scripts/status.sh");
    };
  }

  /**
   * A deployment change's refusal, read from both shapes: the domain refusal when the ledger sent one, else the
   * {@code problem} an older ledger sent alone; null when the change was made.
   */
  public static Problem problem(DeploymentLedger.DeploymentOutcome outcome) {
    return outcome.refused() != null ? problem(outcome.refused()) : outcome.problem();
  }

  /** A service change's refusal, read from both shapes (see {@link #problem(DeploymentLedger.DeploymentOutcome)}). */
  public static Problem problem(ServiceLedger.ServiceOutcome outcome) {
    return outcome.refused() != null ? problem(outcome.refused()) : outcome.problem();
  }

  /** A switch request's refusal, read from both shapes (see {@link #problem(DeploymentLedger.DeploymentOutcome)}). */
  public static Problem problem(CoreManager.SwitchOutcome outcome) {
    return outcome.refused() != null ? problem(outcome.refused()) : outcome.problem();
  }
}
