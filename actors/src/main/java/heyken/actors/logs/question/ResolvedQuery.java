package heyken.actors.logs.question;

import heyken.protocol.api.LogQuestion;
import java.time.Instant;

/**
 * A structured query that passed validation: every value typed, checked and bounded, times resolved. This is the
 * only thing the {@link QueryExecutor} runs.
 *
 * @param level     the minimum level's name, or null
 * @param minLevel  its logback value (the stored {@code lvl}), or null
 * @param since     never null: a question without a start looks back the configured window
 * @param groupBy   null lists lines; otherwise counts them per key
 * @param limit     rows or groups, 1..max-limit
 */
record ResolvedQuery(String level, Integer minLevel, String component, Integer core, String feature, Instant since,
    Instant until, String text, GroupBy groupBy, int limit) {

  /** The query as the answer shows it. */
  LogQuestion.Query view() {
    return new LogQuestion.Query(level, component, core, feature, since.toString(),
        until == null ? null : until.toString(), text, groupBy == null ? null : groupBy.wire(), limit);
  }
}
