package heyken.protocol.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.List;
import java.util.Map;

/**
 * Text2sql of the Logger API ({@code POST :5020/api/logs/query}): a question in plain words, the constrained
 * structured query it was turned into (by the language model or the rule-based parser), and what that query found.
 */
public final class LogQuestion {

  private LogQuestion() {}

  /** {@code {"question": "errors from sandbox in the last hour"}}. */
  public record Request(String question) {}

  /**
   * The structured query, exactly as it ran: every field a filter (null = not restricted). {@code level} is a minimum,
   * {@code since}/{@code until} are resolved to ISO-8601 instants, {@code text} is matched literally (case-insensitive)
   * in the message, {@code group_by} counts lines per key instead of listing them, {@code limit} bounds rows or groups.
   */
  @JsonInclude(JsonInclude.Include.ALWAYS)
  public record Query(String level, String component, Integer core, String feature, String since, String until,
      String text, @JsonProperty("group_by") String groupBy, Integer limit) {}

  /** One group of a {@code group_by} query: the key (a level, component, core, feature, hour or day) and its lines. */
  public record Group(Object key, long count) {}

  /**
   * The answer: {@code source} is {@code llm} or {@code rules}; {@code sql} is the SQL statement that ran. When the
   * model's own SELECT answered, {@code columns} and {@code records} (one object per row, keyed by column) hold its
   * result and {@code query} is absent; otherwise {@code query} is the structured query and {@code rows} (newest
   * first) or, with {@code group_by}, {@code groups} its result. {@code summary} in one line; {@code note} says what
   * was adjusted or why a fallback answered.
   */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record Answer(String question, String source, Query query, List<LogLine> rows, List<Group> groups,
      String summary, String note, String sql, List<String> columns, List<Map<String, Object>> records) {

    public Answer(String question, String source, Query query, List<LogLine> rows, List<Group> groups, String summary,
        String note) {
      this(question, source, query, rows, groups, summary, note, null, null, null);
    }
  }

  /** The question could not be turned into a query (422), with questions that can. */
  public record NotUnderstood(String error, String detail, List<String> examples) {}
}
