package heyken.testkit.rocketchat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * A REST refusal with the status and body a real Rocket.Chat (6.x/7.x, before the 8.0 body changes) sends, see
 * shared/protocols/rocketchat.md §1.1. Thrown by the stand-in's state operations, rendered by the REST layer.
 */
final class RestError extends RuntimeException {

  private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

  final int status;
  final ObjectNode body;

  private RestError(int status, ObjectNode body) {
    super(body.path("error").asText(), null, false, false);
    this.status = status;
    this.body = body;
  }

  /** A thrown {@code Meteor.Error}: 400, {@code error} = "reason [code]", {@code errorType} = code. */
  static RestError meteor(String errorType, String reason) {
    return meteor(errorType, reason, null);
  }

  static RestError meteor(String errorType, String reason, JsonNode details) {
    ObjectNode body = NODES.objectNode().put("success", false)
        .put("error", reason == null ? "[" + errorType + "]" : reason + " [" + errorType + "]")
        .put("errorType", errorType);
    if (details != null) {
      body.set("details", details);
    }
    return new RestError(400, body);
  }

  /** {@code API.v1.failure(text)}: 400 without errorType. */
  static RestError failure(String text) {
    ObjectNode body = NODES.objectNode().put("success", false);
    if (text != null) {
      body.put("error", text);
    }
    return new RestError(400, body);
  }

  /** {@code API.v1.failure(text, errorType)}: 400 with the error text as given (no "[code]" suffix). */
  static RestError failure(String text, String errorType) {
    return new RestError(400, NODES.objectNode().put("success", false).put("error", text).put("errorType", errorType));
  }

  /** Schema (ajv) validation failure. */
  static RestError invalidParams(String ajvMessage) {
    return meteor("invalid-params", ajvMessage);
  }

  /** Not logged in or a bad token: the pre-8.0 body with {@code status} and {@code message}. */
  static RestError unauthorized() {
    String text = "You must be logged in to do this.";
    return new RestError(401, NODES.objectNode().put("success", false).put("status", "error")
        .put("message", text).put("error", text));
  }

  /** A refused password login. */
  static RestError loginRefused(String error, String message, JsonNode details) {
    ObjectNode body = NODES.objectNode().put("success", false).put("status", "error").put("error", error);
    if (details != null) {
      body.set("details", details);
    }
    body.put("message", message);
    return new RestError(401, body);
  }

  /** Missing permission (before 8.0: 403 with the [error-unauthorized] text). */
  static RestError forbidden() {
    return new RestError(403, NODES.objectNode().put("success", false)
        .put("error", "User does not have the permissions required for this action [error-unauthorized]"));
  }

  static RestError notFound() {
    return new RestError(404, NODES.objectNode().put("success", false).put("error", "Resource not found"));
  }

  static RestError of(int status, ObjectNode body) {
    return new RestError(status, body);
  }
}
