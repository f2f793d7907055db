package heyken.actors.registry;

import heyken.actors.registry.ComponentRegistry.Refusal;
import heyken.protocol.api.Problem;

/**
 * The component registry's answers as a caller of the API sees them: a {@link ComponentRegistry.Refusal} becomes the
 * {@code {"error","detail"}} with its status and the hint that says what to do (which endpoint lists, retry later).
 * The registry knows none of this.
 */
public final class RegistryApi {

  private RegistryApi() {}

  /** The API's problem for a refusal of the registry; null for null. */
  public static Problem problem(Refusal refused) {
    if (refused == null) {
      return null;
    }
    String field = refused.field();
    return switch (refused.kind()) {
      case NO_REGISTRATION -> Problem.badRequest("invalid_registration", "body must be a JSON object with name and url");
      case NAME_REQUIRED -> Problem.badRequest("invalid_name", "name is required");
      case NAME_MALFORMED -> Problem.badRequest("invalid_name",
          "name must be 1-63 characters of a-z, 0-9, '.', '_' or '-', starting with a letter or digit");
      case URL_REQUIRED -> Problem.badRequest("invalid_" + field, field + " is required");
      case URL_TOO_LONG -> Problem.badRequest("invalid_" + field, field + " is longer than "
          + ComponentRegistry.MAX_URL + " characters");
      case URL_NOT_ABSOLUTE -> Problem.badRequest("invalid_" + field,
          field + " must be an absolute http(s)://, mongodb:// or tcp:// URL with a host");
      case URL_MALFORMED -> Problem.badRequest("invalid_" + field, field + " is not a URL: " + refused.reason());
      case VERSION_MALFORMED -> Problem.badRequest("invalid_version", "version must be at most "
          + ComponentRegistry.MAX_VERSION + " printable characters");
      case UNKNOWN_COMPONENT -> Problem.notFound("unknown_component",
          "no component named '" + refused.name() + "' is registered; GET /api/components lists them");
      case NO_ACTIVE_CORE -> Problem.unavailable("no_active_core", "core " + refused.core()
          + " is not the active core yet (a hand-over is in progress); retry in a moment");
      case NOT_ACTIVE -> Problem.unavailable("not_active", refused.reason());
      case STORE_UNAVAILABLE -> Problem.unavailable("store_unavailable",
          "the store did not confirm the write (" + refused.reason() + "); nothing was changed, try again");
    };
  }

  /**
   * A reply's refusal, read from both shapes: the domain refusal when the registry sent one, else the {@code problem}
   * a registry of the previous release sent alone; null when there is none.
   */
  public static Problem problem(ComponentRegistry.Reply reply) {
    return reply.refused() != null ? problem(reply.refused()) : reply.problem();
  }
}
