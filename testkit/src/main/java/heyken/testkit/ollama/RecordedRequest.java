package heyken.testkit.ollama;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.MissingNode;
import java.util.List;
import java.util.Map;

/**
 * One request the {@link OllamaStandIn} received, as it arrived: method, path, headers (names lower-cased) and
 * the body, raw and parsed ({@code json} is a {@link MissingNode} when the body is empty or not JSON). Tests use
 * it to assert what a client sent: {@code options.num_ctx}, {@code format}, {@code keep_alive}, the history.
 */
public record RecordedRequest(String method, String path, Map<String, List<String>> headers, String body,
    JsonNode json) {

  /** The first value of a header, or null. */
  public String header(String name) {
    var values = headers.get(name.toLowerCase());
    return values == null || values.isEmpty() ? null : values.get(0);
  }

  /** {@code options.<name>} as sent, or a missing node. */
  public JsonNode option(String name) {
    return json.path("options").path(name);
  }

  /** The {@code format} field as sent ({@code "json"}, a schema object), or a missing node. */
  public JsonNode format() {
    return json.path("format");
  }

  /** The model named in the body ({@code model}, or the deprecated {@code name}), or null. */
  public String model() {
    JsonNode model = json.path("model");
    if (model.isTextual()) {
      return model.textValue();
    }
    JsonNode name = json.path("name");
    return name.isTextual() ? name.textValue() : null;
  }

  /** Whether the client asked for a stream: Ollama treats an absent {@code stream} as true. */
  public boolean streaming() {
    JsonNode stream = json.path("stream");
    return !stream.isBoolean() || stream.booleanValue();
  }

  /** The chat messages as sent (empty for other endpoints). */
  public List<JsonNode> messages() {
    JsonNode messages = json.path("messages");
    var list = new java.util.ArrayList<JsonNode>();
    messages.forEach(list::add);
    return List.copyOf(list);
  }

  @Override
  public String toString() {
    return method + " " + path + (body.isEmpty() ? "" : " " + body);
  }
}
