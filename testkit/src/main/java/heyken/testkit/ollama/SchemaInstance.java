package heyken.testkit.ollama;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * The smallest document that satisfies a JSON schema: what the stand-in answers to a {@code format} request
 * whose scripted reply is not JSON. Real Ollama constrains decoding with the schema, so a client always gets
 * parseable, schema-shaped output; this keeps that promise without a model.
 */
final class SchemaInstance {

  private static final JsonNodeFactory NODES = JsonNodeFactory.instance;
  private static final int MAX_DEPTH = 16;

  private SchemaInstance() {
  }

  static JsonNode of(JsonNode schema) {
    return of(schema, 0);
  }

  private static JsonNode of(JsonNode schema, int depth) {
    if (depth > MAX_DEPTH || !schema.isObject()) {
      return NODES.nullNode();
    }
    if (schema.has("const")) {
      return schema.get("const");
    }
    if (schema.path("enum").isArray() && schema.get("enum").size() > 0) {
      return schema.get("enum").get(0);
    }
    for (String alternatives : new String[] {"anyOf", "oneOf", "allOf"}) {
      if (schema.path(alternatives).isArray() && schema.get(alternatives).size() > 0) {
        return of(schema.get(alternatives).get(0), depth + 1);
      }
    }
    String type = type(schema);
    switch (type) {
      case "object": {
        ObjectNode object = NODES.objectNode();
        schema.path("properties").fields()
            .forEachRemaining(field -> object.set(field.getKey(), of(field.getValue(), depth + 1)));
        return object;
      }
      case "array": {
        ArrayNode array = NODES.arrayNode();
        int items = Math.max(1, schema.path("minItems").asInt(1));
        for (int i = 0; i < items && schema.has("items"); i++) {
          array.add(of(schema.get("items"), depth + 1));
        }
        return array;
      }
      case "string":
        return NODES.textNode("");
      case "integer":
        return NODES.numberNode(schema.path("minimum").asLong(0));
      case "number":
        return NODES.numberNode(schema.path("minimum").asDouble(0));
      case "boolean":
        return NODES.booleanNode(false);
      default:
        return NODES.nullNode();
    }
  }

  private static String type(JsonNode schema) {
    JsonNode type = schema.path("type");
    if (type.isTextual()) {
      return type.textValue();
    }
    if (type.isArray()) {
      for (JsonNode t : type) {
        if (!"null".equals(t.asText())) {
          return t.asText();
        }
      }
      return "null";
    }
    return schema.has("properties") ? "object" : schema.has("items") ? "array" : "null";
  }
}
