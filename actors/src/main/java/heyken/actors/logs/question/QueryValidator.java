package heyken.actors.logs.question;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The gate every structured query passes, whether the language model or the rule-based parser wrote it: a JSON
 * object with only the known fields, each null or of its type and range. Unknown fields (operators such as
 * {@code $where} included), wrong types, unknown levels, components or groupings, bad times and non-positive limits
 * are rejected with a reason for each; a limit above the maximum is clamped (and said so).
 */
final class QueryValidator {

  static final List<String> FIELDS =
      List.of("level", "component", "core", "feature", "since", "until", "text", "group_by", "limit");
  static final List<String> LEVELS = List.of("TRACE", "DEBUG", "INFO", "WARN", "ERROR");
  static final Pattern COMPONENT = Pattern.compile("[a-z0-9][a-z0-9._-]{0,63}");
  static final Pattern FEATURE = Pattern.compile("[a-z0-9][a-z0-9-]{0,62}");
  static final int MAX_TEXT = 200;
  static final int CORES = 2;
  private static final Map<String, Integer> LEVEL_VALUES =
      Map.of("TRACE", 5000, "DEBUG", 10000, "INFO", 20000, "WARN", 30000, "ERROR", 40000);

  private final QuestionSettings settings;

  QueryValidator(QuestionSettings settings) {
    this.settings = settings;
  }

  /** Either a query or the problems with the answer, plus notes about what was adjusted (a clamped limit). */
  record Validation(ResolvedQuery query, List<String> problems, List<String> notes) {
    boolean valid() {
      return query != null;
    }
  }

  Validation validate(JsonNode answer, Instant now, Collection<String> components) {
    var problems = new ArrayList<String>();
    var notes = new ArrayList<String>();
    if (answer == null || !answer.isObject()) {
      return new Validation(null, List.of("the answer must be a JSON object with the fields " + FIELDS), List.of());
    }
    for (Iterator<String> names = answer.fieldNames(); names.hasNext(); ) {
      String name = names.next();
      if (!FIELDS.contains(name)) {
        problems.add("unknown field '" + shorten(name) + "'" + (name.startsWith("$") ? " (operators are not allowed)" : "")
            + ": only " + FIELDS + " are allowed");
      }
    }
    String level = text(answer, "level", problems);
    Integer minLevel = null;
    if (level != null) {
      level = level.trim().toUpperCase(Locale.ROOT);
      if (level.equals("WARNING")) {
        level = "WARN";
      }
      minLevel = LEVEL_VALUES.get(level);
      if (minLevel == null) {
        problems.add("level must be one of " + LEVELS + " or null, got '" + shorten(level) + "'");
      }
    }
    String component = text(answer, "component", problems);
    if (component != null) {
      component = component.trim().toLowerCase(Locale.ROOT);
      if (!COMPONENT.matcher(component).matches() || !components.contains(component)) {
        problems.add("component must be one of " + Set.copyOf(components).stream().sorted().toList() + " or null, got '"
            + shorten(component) + "'");
      }
    }
    Integer core = null;
    JsonNode coreNode = answer.get("core");
    if (coreNode != null && !coreNode.isNull()) {
      if (!coreNode.isIntegralNumber() || !coreNode.canConvertToInt() || coreNode.intValue() < 1
          || coreNode.intValue() > CORES) {
        problems.add("core must be the number 1 or 2 or null, got " + shorten(coreNode.toString()));
      } else {
        core = coreNode.intValue();
      }
    }
    String feature = text(answer, "feature", problems);
    if (feature != null) {
      feature = feature.trim().toLowerCase(Locale.ROOT);
      if (!FEATURE.matcher(feature).matches()) {
        problems.add("feature must be a feature id (lower-case letters, digits and '-', at most 63) or null, got '"
            + shorten(feature) + "'");
      }
    }
    Instant since = time(answer, "since", now, problems);
    Instant until = time(answer, "until", now, problems);
    if (since == null && !answer.hasNonNull("since")) {
      since = now.minus(settings.defaultWindow());
      notes.add("no start time given: looked back " + describe(settings.defaultWindow()));
    }
    if (since != null && until != null && since.isAfter(until)) {
      problems.add("since (" + since + ") is after until (" + until + ")");
    }
    String text = text(answer, "text", problems);
    if (text != null) {
      text = text.strip();
      if (text.isEmpty()) {
        text = null;
      } else if (text.length() > MAX_TEXT) {
        problems.add("text must be at most " + MAX_TEXT + " characters, got " + text.length());
      }
    }
    GroupBy groupBy = null;
    String group = text(answer, "group_by", problems);
    if (group != null) {
      groupBy = GroupBy.fromWire(group).orElse(null);
      if (groupBy == null) {
        problems.add("group_by must be one of " + GroupBy.wireNames() + " or null, got '" + shorten(group) + "'");
      }
    }
    int limit = settings.defaultLimit();
    JsonNode limitNode = answer.get("limit");
    if (limitNode != null && !limitNode.isNull()) {
      if (!limitNode.isIntegralNumber()) {
        problems.add("limit must be a whole number or null, got " + shorten(limitNode.toString()));
      } else if (limitNode.bigIntegerValue().signum() <= 0) {
        problems.add("limit must be at least 1, got " + shorten(limitNode.toString()));
      } else if (!limitNode.canConvertToInt() || limitNode.intValue() > settings.maxLimit()) {
        limit = settings.maxLimit();
        notes.add("limit " + shorten(limitNode.toString()) + " clamped to the maximum " + settings.maxLimit());
      } else {
        limit = limitNode.intValue();
      }
    }
    if (!problems.isEmpty()) {
      return new Validation(null, List.copyOf(problems), List.copyOf(notes));
    }
    return new Validation(new ResolvedQuery(level, minLevel, component, core, feature, since, until, text, groupBy,
        limit), List.of(), List.copyOf(notes));
  }

  private static String text(JsonNode answer, String field, List<String> problems) {
    JsonNode node = answer.get(field);
    if (node == null || node.isNull()) {
      return null;
    }
    if (!node.isTextual()) {
      problems.add(field + " must be text or null, got " + shorten(node.toString()));
      return null;
    }
    return node.textValue().isBlank() && !field.equals("text") ? null : node.textValue();
  }

  private Instant time(JsonNode answer, String field, Instant now, List<String> problems) {
    String value = text(answer, field, problems);
    if (value == null) {
      return null;
    }
    try {
      return TimeExpression.resolve(value, now, settings.zone());
    } catch (IllegalArgumentException e) {
      problems.add(field + ": " + shorten(e.getMessage()));
      return null;
    }
  }

  static String describe(java.time.Duration d) {
    if (d.toDays() > 0 && d.toHours() % 24 == 0) {
      return d.toDays() + (d.toDays() == 1 ? " day" : " days");
    }
    if (d.toHours() > 0 && d.toMinutes() % 60 == 0) {
      return d.toHours() + (d.toHours() == 1 ? " hour" : " hours");
    }
    return d.toMinutes() + " minutes";
  }

  /** Keeps hostile or huge values out of error messages and logs. */
  static String shorten(String s) {
    String clean = s.replaceAll("\\p{Cntrl}", " ");
    return clean.length() <= 60 ? clean : clean.substring(0, 60) + "…";
  }
}
