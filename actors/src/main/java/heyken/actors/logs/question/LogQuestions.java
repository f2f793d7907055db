package heyken.actors.logs.question;

import heyken.actors.llm.LanguageModel;
import heyken.actors.postgres.PostgresDatabase;
import heyken.protocol.api.LogQuestion;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Text2sql over the log store ({@code POST :5020/api/logs/query}). With the model up, it writes ONE {@code SELECT}
 * over the read-only views ({@link SqlTranslator}: checked by the {@link SqlGuard}, run as the read-only role); if
 * that SQL is refused or fails twice, the model fills the constrained structured query ({@link LlmTranslator}); when
 * the model is away (or that fails too), the {@link RuleParser} drafts it. A structured query is validated and run
 * read-only with parameters ({@link QueryExecutor}). Every answer carries the SQL that ran. A question that cannot be
 * turned into a query is refused with example questions.
 */
public final class LogQuestions implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(LogQuestions.class);
  private static final int LLM_THREADS = 2;
  private static final int LLM_WAITING = 16;

  public static final List<String> EXAMPLES = List.of(
      "errors from sandbox in the last hour",
      "warnings on core 2 today",
      "how many errors per component since yesterday",
      "the last 20 lines of feature weather containing timeout",
      "errors per hour in the last 6 hours");

  private final QuestionSettings settings;
  private final LanguageModel model;
  private final QueryExecutor executor;
  private final SqlTranslator sql;
  private final Executor blocking;
  private final Clock clock;
  private final QueryValidator validator;
  private final RuleParser rules = new RuleParser();
  private final SqlGuard rulesGuard;
  // model calls wait for their turn and may take long: their own few threads, so they never hold the store's pool
  private final ThreadPoolExecutor llmCalls;
  private final ReadOnlyQueries queries;
  private final CompletableFuture<Void> prepared;

  /**
   * @param model the language model, or null to answer with the rules only
   * @param db    the log store: the structured query reads its {@code logs} view in read-only transactions; the
   *              model's SQL runs through a pool of its own as the read-only role {@code heyken_query}
   */
  public LogQuestions(QuestionSettings settings, LanguageModel model, PostgresDatabase db, Clock clock) {
    this.settings = settings;
    this.model = model;
    this.executor = new QueryExecutor(db, settings.timeout(), settings.components());
    this.queries = new ReadOnlyQueries(db.settings(), settings.timeout(), settings.sqlMaxCost(), settings.maxLimit());
    this.sql = model == null ? null : new SqlTranslator(model, settings,
        new SqlGuard(settings.defaultLimit(), settings.maxLimit()), queries);
    this.rulesGuard = new SqlGuard(settings.defaultLimit(), settings.maxLimit());
    this.blocking = db.executor();
    this.prepared = db.ready().thenAcceptAsync(applied -> ReadOnlyQueries.applyPassword(db), db.executor())
        .toCompletableFuture();
    this.clock = clock;
    this.validator = new QueryValidator(settings);
    var threads = new AtomicInteger();
    this.llmCalls = new ThreadPoolExecutor(LLM_THREADS, LLM_THREADS, 1, TimeUnit.MINUTES,
        new ArrayBlockingQueue<>(LLM_WAITING), r -> {
          Thread t = new Thread(r, "log-question-llm-" + threads.incrementAndGet());
          t.setDaemon(true);
          return t;
        });
    llmCalls.allowCoreThreadTimeOut(true);
  }

  /** Stops the threads of model calls (calls still running are abandoned). */
  @Override
  public void close() {
    llmCalls.shutdownNow();
    queries.close();
  }

  /** Completes once the schema is current and the read-only role's password is set (tests wait for it). */
  public CompletionStage<Void> prepared() {
    return prepared;
  }

  public QuestionSettings settings() {
    return settings;
  }

  /** What came of a question: an answer, or a refusal with its HTTP status. */
  public sealed interface Outcome permits Answered, Refused {}

  public record Answered(LogQuestion.Answer answer) implements Outcome {}

  /** {@code examples} is non-empty when the question was not understood. */
  public record Refused(int status, String error, String detail, List<String> examples) implements Outcome {}

  public CompletionStage<Outcome> ask(String question) {
    if (question == null || question.isBlank()) {
      return done(new Refused(400, "missing_question", "send {\"question\": \"...\"}, e.g. {\"question\": \""
          + EXAMPLES.get(0) + "\"}", EXAMPLES));
    }
    if (question.length() > settings.maxQuestionChars()) {
      return done(new Refused(413, "question_too_long", "a question has at most " + settings.maxQuestionChars()
          + " characters, this one " + question.length(), List.of()));
    }
    Instant now = clock.instant();
    Collection<String> components = executor.components();
    boolean modelOn = settings.useLlm() && model != null;
    if (modelOn && settings.useSql() && queries.configured()) {
      return call(() -> sql.answer(question, now), SqlTranslator.Outcome.failed("the language model did not answer "
              + "within " + settings.llmTimeout().toSeconds() + " s", true),
          e -> SqlTranslator.Outcome.failed(errorText(e), false))
          .thenCompose(o -> {
            if (o.failure() == null) {
              return done(new Answered(sqlAnswer(question, "llm", o)));
            }
            if (o.modelAway()) {
              return fromSqlRules(question, now, components, o.failure());
            }
            return structured(question, now, components, true, o.failure());
          });
    }
    if (modelOn && settings.useSql()) {
      return structured(question, now, components, true, "the read-only role has no password "
          + "(HEYKEN_POSTGRES_QUERY_PASSWORD), so the model's SQL is not run");
    }
    if (modelOn) {
      return structured(question, now, components, true, null);
    }
    return fromSqlRules(question, now, components, null);
  }

  /**
   * The model is away: a question of the SQL rules ({@link SqlRules}: failures per feature, percentiles, counts per
   * core) runs as their SQL through the guard and the read-only role; any other question, or one whose SQL cannot
   * run, goes to the structured rules.
   */
  private CompletionStage<Outcome> fromSqlRules(String question, Instant now, Collection<String> components,
      String modelFailure) {
    String rule = queries.configured() ? SqlRules.sql(question) : null;
    if (rule == null) {
      return structured(question, now, components, false, modelFailure);
    }
    return CompletableFuture.supplyAsync(() -> {
      var verdict = rulesGuard.check(rule);
      if (verdict.refusal() != null) {
        log.warn("the SQL of a log question rule was refused (a bug of SqlRules; the structured rules answer "
            + "instead) sql={} refusal={}", rule, verdict.refusal());
        return null;
      }
      try {
        var table = queries.run(verdict.sql());
        var notes = new ArrayList<String>();
        if (modelFailure != null) {
          notes.add(modelFailure + "; answered by the rule-based SQL");
        }
        notes.addAll(verdict.notes());
        log.info("log question answered source=rules sql={} rows={}", verdict.sql(), table.records().size());
        return (Outcome) new Answered(sqlAnswer(question, "rules",
            new SqlTranslator.Outcome(verdict.sql(), table, notes, null, false)));
      } catch (ReadOnlyQueries.Failed e) {
        log.warn("the SQL of a log question rule could not run, the structured rules answer instead: {}",
            e.getMessage());
        return null;
      }
    }, blocking).thenCompose(o -> o != null ? done(o) : structured(question, now, components, false, modelFailure));
  }

  private static String errorText(Throwable e) {
    Throwable cause = rootCause(e);
    if (cause instanceof PostgresDatabase.Unavailable) {
      return "the log store could not run the model's SQL (" + cause.getMessage() + ")";
    }
    return "the model's SQL could not be run (" + QueryValidator.shorten(String.valueOf(cause.getMessage())) + ")";
  }

  /** A model call on its own threads, bounded by the model timeout. */
  private <T> CompletionStage<T> call(java.util.function.Supplier<T> work, T late,
      java.util.function.Function<Throwable, T> failed) {
    CompletableFuture<T> call;
    try {
      call = CompletableFuture.supplyAsync(work, llmCalls);
    } catch (java.util.concurrent.RejectedExecutionException e) {
      return done(failed.apply(new IllegalStateException("too many questions wait for the language model")));
    }
    return call.completeOnTimeout(late, settings.llmTimeout().toMillis(), TimeUnit.MILLISECONDS)
        .exceptionally(failed);
  }

  private LogQuestion.Answer sqlAnswer(String question, String source, SqlTranslator.Outcome o) {
    var table = o.table();
    int n = table.records().size();
    String summary = n == 0 ? "No rows." : n + " row" + (n == 1 ? "" : "s") + " of " + String.join(", ",
        table.columns()) + (n == settings.maxLimit() ? " (the first " + n + "; there may be more)" : "") + ".";
    String note = o.notes().isEmpty() ? null : String.join("; ", o.notes());
    return new LogQuestion.Answer(question, source, null, null, null, summary, note, o.sql(), table.columns(),
        table.records());
  }

  /** The structured query: the model fills it (when {@code askModel}), else or then the rules. */
  private CompletionStage<Outcome> structured(String question, Instant now, Collection<String> components,
      boolean askModel, String earlier) {
    CompletionStage<Translated> translated;
    if (askModel) {
      var translator = new LlmTranslator(model, settings, validator);
      translated = call(() -> translator.translate(question, now, components),
          LlmTranslator.Translation.failed("the language model did not answer within "
              + settings.llmTimeout().toSeconds() + " s"),
          e -> LlmTranslator.Translation.failed("the language model call failed ("
              + QueryValidator.shorten(String.valueOf(rootCause(e).getMessage())) + ")"))
          .thenApply(t -> t.query() != null ? new Translated("llm", t.query(),
                  withEarlier(earlier == null ? null : earlier + "; answered by the structured query", t.notes()), null)
              : fromRules(question, now, components, earlier == null ? t.failure() : earlier + "; " + t.failure()));
    } else {
      translated = done(fromRules(question, now, components, earlier));
    }
    return translated.thenCompose(t -> {
      if (t.query() == null) {
        log.info("log question not understood source=rules problem={}", QueryValidator.shorten(t.problem()));
        return done(new Refused(422, "not_understood", t.problem(), EXAMPLES));
      }
      return executor.run(t.query()).<Outcome>thenApply(result -> new Answered(answer(question, t, result)))
          .exceptionally(e -> {
            Throwable cause = rootCause(e);
            if (cause instanceof TimeoutException || cause instanceof java.sql.SQLException sql
                && "57014".equals(sql.getSQLState())) {
              return new Refused(503, "query_timeout", "the log store did not answer within "
                  + settings.timeout().toSeconds() + " s; ask about a shorter time range or a narrower filter",
                  List.of());
            }
            log.warn("log question could not be run query={}: {}", t.query().view(), cause.toString());
            return new Refused(503, "store_unavailable", "the log store could not run the query ("
                + cause.getClass().getSimpleName() + "); retry in a moment", List.of());
          });
    });
  }

  private static List<String> withEarlier(String earlier, List<String> notes) {
    if (earlier == null) {
      return notes;
    }
    var all = new ArrayList<String>();
    all.add(earlier);
    all.addAll(notes);
    return all;
  }

  /** The query a question turned into, where it came from, and the notes for the answer; or why there is none. */
  private record Translated(String source, ResolvedQuery query, List<String> notes, String problem) {}

  private Translated fromRules(String question, Instant now, Collection<String> components, String llmFailure) {
    var notes = new ArrayList<String>();
    if (llmFailure != null) {
      notes.add(llmFailure + "; answered by the rule-based parser");
    }
    var parsed = rules.parse(question, components);
    if (!parsed.understood()) {
      String why = "I could not turn this question into a log query: " + parsed.problem() + ". Ask about levels "
          + "(errors, warnings), a component, core 1 or 2, a feature, a time (in the last hour, today, since "
          + "yesterday), text (containing …) or counts (how many … per component)";
      return new Translated("rules", null, notes, llmFailure == null ? why : why + " (" + notes.get(0) + ")");
    }
    var validation = validator.validate(parsed.draft(), now, components);
    if (!validation.valid()) {
      return new Translated("rules", null, notes, "I could not turn this question into a log query: "
          + String.join("; ", validation.problems()));
    }
    notes.addAll(validation.notes());
    if (!parsed.ignored().isEmpty()) {
      notes.add("ignored words: " + String.join(", ", parsed.ignored()));
    }
    return new Translated("rules", validation.query(), notes, null);
  }

  private LogQuestion.Answer answer(String question, Translated t, QueryExecutor.Result result) {
    String summary = Summary.of(t.query(), result);
    String note = t.notes().isEmpty() ? null : String.join("; ", t.notes());
    log.info("log question answered source={} query={} rows={} groups={}", t.source(), t.query().view(),
        result.rows() == null ? null : result.rows().size(), result.groups() == null ? null : result.groups().size());
    return new LogQuestion.Answer(question, t.source(), t.query().view(), result.rows(), result.groups(), summary,
        note, result.sql(), null, null);
  }

  private static Throwable rootCause(Throwable e) {
    Throwable t = e;
    while ((t instanceof CompletionException || t instanceof java.util.concurrent.ExecutionException)
        && t.getCause() != null) {
      t = t.getCause();
    }
    return t;
  }

  private static <T> CompletionStage<T> done(T value) {
    return CompletableFuture.completedFuture(value);
  }

  /** The one human line of an answer. */
  static final class Summary {
    private Summary() {}

    static String of(ResolvedQuery q, QueryExecutor.Result result) {
      String what = describe(q);
      if (result.groups() != null) {
        long total = result.groups().stream().mapToLong(LogQuestion.Group::count).sum();
        if (result.groups().isEmpty()) {
          return "No " + what + ".";
        }
        String top = result.groups().stream().limit(8).map(g -> g.key() + ": " + g.count())
            .collect(Collectors.joining(", "));
        return total + " " + what + " by " + q.groupBy().wire() + " — " + top
            + (result.groups().size() > 8 ? ", … (" + result.groups().size() + " groups)" : "") + ".";
      }
      int n = result.rows().size();
      if (n == 0) {
        return "No " + what + ".";
      }
      return n + " " + what + ", newest first" + (n == q.limit() ? " (the newest " + n + "; there may be more)" : "")
          + ".";
    }

    private static String describe(ResolvedQuery q) {
      var sb = new StringBuilder(q.level() == null ? "log lines" : q.level() + (q.level().equals("ERROR") ? "" : "+")
          + " lines");
      if (q.component() != null) {
        sb.append(" from ").append(q.component());
      }
      if (q.core() != null) {
        sb.append(" on core ").append(q.core());
      }
      if (q.feature() != null) {
        sb.append(" of feature ").append(q.feature());
      }
      if (q.text() != null) {
        sb.append(" containing \"").append(q.text()).append('"');
      }
      sb.append(" since ").append(q.since());
      if (q.until() != null) {
        sb.append(" until ").append(q.until());
      }
      return sb.toString();
    }
  }
}
