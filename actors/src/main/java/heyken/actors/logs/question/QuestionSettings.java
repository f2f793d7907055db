package heyken.actors.logs.question;

import com.typesafe.config.Config;
import java.time.Duration;
import java.time.ZoneId;
import java.util.List;
import java.util.Objects;

/**
 * How {@code POST :5020/api/logs/query} answers, read from {@code heyken.logs.query.*}; every key has a default here.
 *
 * @param maxQuestionChars longer questions are refused (413) before anything else looks at them
 * @param defaultLimit     rows or groups when the question does not say how many
 * @param maxLimit         the most rows or groups one answer holds: larger limits are clamped, never run
 * @param defaultWindow    how far back a question without a start time looks (shown in the query that ran)
 * @param timeout          bound of one store read ({@code maxTimeMS}) and of waiting for it
 * @param useLlm           ask the language model first; off = the rule-based parser answers everything
 * @param model            the model that translates; empty = the chat model ({@code OLLAMA_MODEL})
 * @param llmTimeout       how long a question waits for the model before the rule-based parser answers instead
 * @param llmAttempts      answers of the model tried (the rejected one fed back) before falling back to the rules
 * @param numCtx           context window of the translation call ({@code options.num_ctx})
 * @param zone             the zone of "today" and "yesterday"
 * @param components       components the parser and the schema know besides the ones found in the stored lines
 * @param useSql           ask the model for one SELECT over the views first (then the structured query, then rules)
 * @param sqlMaxCost       the model's SELECT is refused when PostgreSQL's EXPLAIN estimates a higher total cost
 */
public record QuestionSettings(int maxQuestionChars, int defaultLimit, int maxLimit, Duration defaultWindow,
    Duration timeout, boolean useLlm, String model, Duration llmTimeout, int llmAttempts, int numCtx, ZoneId zone,
    List<String> components, boolean useSql, double sqlMaxCost) {

  public static final List<String> DEFAULT_COMPONENTS = List.of("audit", "bot", "cluster", "core", "cores", "feature",
      "http", "llm", "logs", "monitor", "pekko", "persistence", "registry", "sandbox", "store", "other");

  public QuestionSettings {
    if (maxQuestionChars < 10) {
      throw new IllegalArgumentException("heyken.logs.query.max-question-chars must be at least 10: " + maxQuestionChars);
    }
    if (maxLimit < 1 || defaultLimit < 1 || defaultLimit > maxLimit) {
      throw new IllegalArgumentException("heyken.logs.query: need 1 <= default-limit (" + defaultLimit
          + ") <= max-limit (" + maxLimit + ")");
    }
    positive(defaultWindow, "default-window");
    positive(timeout, "timeout");
    positive(llmTimeout, "llm-timeout");
    if (llmAttempts < 1) {
      throw new IllegalArgumentException("heyken.logs.query.llm-attempts must be at least 1: " + llmAttempts);
    }
    if (numCtx < 256) {
      throw new IllegalArgumentException("heyken.logs.query.num-ctx must be at least 256: " + numCtx);
    }
    if (!(sqlMaxCost > 0)) {
      throw new IllegalArgumentException("heyken.logs.query.sql-max-cost must be positive: " + sqlMaxCost);
    }
    model = model == null ? "" : model.trim();
    Objects.requireNonNull(zone, "zone");
    components = components.stream().map(String::trim).filter(c -> QueryValidator.COMPONENT.matcher(c).matches())
        .distinct().toList();
  }

  public static QuestionSettings defaults() {
    return new QuestionSettings(2000, 50, 500, Duration.ofDays(7), Duration.ofSeconds(10), true, "",
        Duration.ofSeconds(30), 2, 4096, ZoneId.of("UTC"), DEFAULT_COMPONENTS, true, 1e7);
  }

  public static QuestionSettings from(Config config) {
    var d = defaults();
    String p = "heyken.logs.query.";
    return new QuestionSettings(
        config.hasPath(p + "max-question-chars") ? config.getInt(p + "max-question-chars") : d.maxQuestionChars(),
        config.hasPath(p + "default-limit") ? config.getInt(p + "default-limit") : d.defaultLimit(),
        config.hasPath(p + "max-limit") ? config.getInt(p + "max-limit") : d.maxLimit(),
        config.hasPath(p + "default-window") ? config.getDuration(p + "default-window") : d.defaultWindow(),
        config.hasPath(p + "timeout") ? config.getDuration(p + "timeout") : d.timeout(),
        config.hasPath(p + "use-llm") ? config.getBoolean(p + "use-llm") : d.useLlm(),
        config.hasPath(p + "model") ? config.getString(p + "model") : d.model(),
        config.hasPath(p + "llm-timeout") ? config.getDuration(p + "llm-timeout") : d.llmTimeout(),
        config.hasPath(p + "llm-attempts") ? config.getInt(p + "llm-attempts") : d.llmAttempts(),
        config.hasPath(p + "num-ctx") ? config.getInt(p + "num-ctx") : d.numCtx(),
        config.hasPath(p + "time-zone") ? ZoneId.of(config.getString(p + "time-zone")) : d.zone(),
        config.hasPath(p + "components") ? config.getStringList(p + "components") : d.components(),
        config.hasPath(p + "use-sql") ? config.getBoolean(p + "use-sql") : d.useSql(),
        config.hasPath(p + "sql-max-cost") ? config.getDouble(p + "sql-max-cost") : d.sqlMaxCost());
  }

  public QuestionSettings withUseLlm(boolean value) {
    return new QuestionSettings(maxQuestionChars, defaultLimit, maxLimit, defaultWindow, timeout, value, model,
        llmTimeout, llmAttempts, numCtx, zone, components, useSql, sqlMaxCost);
  }

  public QuestionSettings withMaxQuestionChars(int value) {
    return new QuestionSettings(value, defaultLimit, maxLimit, defaultWindow, timeout, useLlm, model, llmTimeout,
        llmAttempts, numCtx, zone, components, useSql, sqlMaxCost);
  }

  public QuestionSettings withLlmTimeout(Duration value) {
    return new QuestionSettings(maxQuestionChars, defaultLimit, maxLimit, defaultWindow, timeout, useLlm, model, value,
        llmAttempts, numCtx, zone, components, useSql, sqlMaxCost);
  }

  public QuestionSettings withUseSql(boolean value) {
    return new QuestionSettings(maxQuestionChars, defaultLimit, maxLimit, defaultWindow, timeout, useLlm, model,
        llmTimeout, llmAttempts, numCtx, zone, components, value, sqlMaxCost);
  }

  public QuestionSettings withSqlMaxCost(double value) {
    return new QuestionSettings(maxQuestionChars, defaultLimit, maxLimit, defaultWindow, timeout, useLlm, model,
        llmTimeout, llmAttempts, numCtx, zone, components, useSql, value);
  }

  private static void positive(Duration d, String key) {
    if (d == null || d.isZero() || d.isNegative()) {
      throw new IllegalArgumentException("heyken.logs.query." + key + " must be positive: " + d);
    }
  }
}
