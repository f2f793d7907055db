package heyken.actors.logs.question;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Collection;

/**
 * The JSON schema the language model's answer is constrained to (Ollama's {@code format}): one object with exactly
 * the fields of a structured query, each nullable, levels, components, cores and groupings enumerated, the limit
 * bounded. The {@link QueryValidator} checks the same rules again: the schema helps the model, it protects nothing.
 */
final class QuerySchema {

  private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

  private QuerySchema() {}

  static ObjectNode of(Collection<String> components, int maxLimit) {
    ObjectNode schema = NODES.objectNode().put("type", "object").put("additionalProperties", false);
    ObjectNode properties = schema.putObject("properties");
    enumerated(properties, "level", "string", QueryValidator.LEVELS,
        "the minimum level: ERROR for errors, WARN for warnings (and errors), null for any level");
    enumerated(properties, "component", "string", components.stream().sorted().toList(),
        "the part of the system that logged the line, or null");
    ObjectNode core = nullable(properties, "core", "integer", "core 1 or 2, or null");
    core.put("minimum", 1).put("maximum", QueryValidator.CORES);
    nullable(properties, "feature", "string", "a feature id (lower-case letters, digits, '-'), or null")
        .put("pattern", "^" + QueryValidator.FEATURE.pattern() + "$");
    nullable(properties, "since", "string", "start: " + TimeExpression.ACCEPTED + "; or null").put("maxLength", 40);
    nullable(properties, "until", "string", "end: " + TimeExpression.ACCEPTED + "; or null").put("maxLength", 40);
    nullable(properties, "text", "string", "words the message contains (matched literally), or null")
        .put("maxLength", QueryValidator.MAX_TEXT);
    enumerated(properties, "group_by", "string", GroupBy.wireNames(),
        "count lines per key when the question asks how many / per / by; null lists the lines");
    properties.putObject("limit").put("type", "integer").put("minimum", 1).put("maximum", maxLimit)
        .put("description", "how many lines or groups");
    ArrayNode required = schema.putArray("required");
    QueryValidator.FIELDS.forEach(required::add);
    return schema;
  }

  private static ObjectNode nullable(ObjectNode properties, String name, String type, String description) {
    ObjectNode p = properties.putObject(name);
    p.putArray("type").add(type).add("null");
    p.put("description", description);
    return p;
  }

  private static void enumerated(ObjectNode properties, String name, String type, Collection<String> values,
      String description) {
    ObjectNode p = nullable(properties, name, type, description);
    ArrayNode allowed = p.putArray("enum");
    values.forEach(allowed::add);
    allowed.addNull();
  }
}
