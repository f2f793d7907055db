package heyken.actors.logs.question;

import com.mongodb.client.MongoCollection;
import heyken.actors.llm.LanguageModel;
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
import org.bson.Document;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Text2sql over the stored log lines ({@code POST :5020/api/logs/query}): a question becomes a constrained structured
 * query — written by the language model when it is up, by the {@link RuleParser} when it is not (or its answers were
 * rejected) — which is validated, run read-only and bounded, and answered with the query, the rows or groups and a
 * one-line summary. A question that cannot be turned into a query is refused with example questions.
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
  private final Executor blocking;
  private final Clock clock;
  private final QueryValidator validator;
  private final RuleParser rules = new RuleParser();
  // model calls wait for their turn and may take long: their own few threads, so they never hold the store's pool
  private final ThreadPoolExecutor llmCalls;

  /**
   * @param model      the language model, or null to answer with the rules only
   * @param collection the log lines ({@code heyken.logs.collection})
   * @param blocking   where store reads and model calls run
   */
  public LogQuestions(QuestionSettings settings, LanguageModel model, MongoCollection<Document> collection,
      Executor blocking, Clock clock) {
    this.settings = settings;
    this.model = model;
    this.executor = new QueryExecutor(collection, blocking, settings.timeout(), settings.components());
    this.blocking = blocking;
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
    CompletionStage<Translated> translated;
    if (settings.useLlm() && model != null) {
      var translator = new LlmTranslator(model, settings, validator);
      CompletableFuture<LlmTranslator.Translation> call;
      try {
        call = CompletableFuture.supplyAsync(() -> translator.translate(question, now, components), llmCalls);
      } catch (java.util.concurrent.RejectedExecutionException e) {
        call = CompletableFuture.completedFuture(LlmTranslator.Translation.failed(
            "too many questions wait for the language model"));
      }
      translated = call
          .completeOnTimeout(LlmTranslator.Translation.failed("the language model did not answer within "
              + settings.llmTimeout().toSeconds() + " s"), settings.llmTimeout().toMillis(), TimeUnit.MILLISECONDS)
          .exceptionally(e -> LlmTranslator.Translation.failed("the language model call failed ("
              + QueryValidator.shorten(String.valueOf(rootCause(e).getMessage())) + ")"))
          .thenApply(t -> t.query() != null ? new Translated("llm", t.query(), t.notes(), null)
              : fromRules(question, now, components, t.failure()));
    } else {
      translated = done(fromRules(question, now, components, null));
    }
    return translated.thenCompose(t -> {
      if (t.query() == null) {
        log.info("log question not understood source=rules problem={}", QueryValidator.shorten(t.problem()));
        return done(new Refused(422, "not_understood", t.problem(), EXAMPLES));
      }
      return executor.run(t.query()).<Outcome>thenApply(result -> new Answered(answer(question, t, result)))
          .exceptionally(e -> {
            Throwable cause = rootCause(e);
            if (cause instanceof TimeoutException || cause instanceof com.mongodb.MongoExecutionTimeoutException) {
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
        note);
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
