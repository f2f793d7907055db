package heyken.http;

import heyken.actors.logs.question.LogQuestions;
import heyken.protocol.api.LogQuestion;
import java.time.Duration;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.server.PathMatchers;
import org.apache.pekko.http.javadsl.server.Route;

import static org.apache.pekko.http.javadsl.server.Directives.*;

/**
 * Text2sql on the Logger API: {@code POST /api/logs/query {"question": "..."}} answers with the SQL that ran and its
 * records, or the structured query and its rows or groups (see {@link LogQuestions}); 422 with example questions when
 * the question cannot be turned into a query, 413 for an oversized question or body.
 */
public final class LogQuestionRoutes {

  private final LogQuestions questions;
  private final long maxBodyBytes;
  private final Duration requestTimeout;

  public LogQuestionRoutes(LogQuestions questions) {
    this.questions = questions;
    var settings = questions.settings();
    // a question of the allowed length in the worst JSON escaping (\\uXXXX), plus the envelope
    this.maxBodyBytes = settings.maxQuestionChars() * 6L + 1024;
    // the model's SQL (bounded by llm-timeout), then the structured query (llm-timeout again) and its read
    this.requestTimeout = settings.llmTimeout().multipliedBy(2).plus(settings.timeout()).plusSeconds(5);
  }

  public Route route() {
    return path(PathMatchers.segment("api").slash("logs").slash("query"), () -> post(() ->
        withRequestTimeout(requestTimeout, () -> RequestBodies.atMost(maxBodyBytes, () ->
            entity(Json.unmarshaller(LogQuestion.Request.class), request -> {
              if (request == null) {
                return ApiErrors.error(StatusCodes.BAD_REQUEST, "missing_question",
                    "send {\"question\": \"...\"}, e.g. {\"question\": \"" + LogQuestions.EXAMPLES.get(0) + "\"}");
              }
              return onSuccess(questions.ask(request.question()), this::complete);
            })))));
  }

  private Route complete(LogQuestions.Outcome outcome) {
    if (outcome instanceof LogQuestions.Answered answered) {
      return org.apache.pekko.http.javadsl.server.Directives.complete(StatusCodes.OK, answered.answer(),
          Json.marshaller());
    }
    var refused = (LogQuestions.Refused) outcome;
    if (refused.examples().isEmpty()) {
      return ApiErrors.error(StatusCodes.get(refused.status()), refused.error(), refused.detail());
    }
    return org.apache.pekko.http.javadsl.server.Directives.complete(StatusCodes.get(refused.status()),
        new LogQuestion.NotUnderstood(refused.error(), refused.detail(), refused.examples()), Json.marshaller());
  }
}
