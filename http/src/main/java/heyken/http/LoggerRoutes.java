package heyken.http;

import heyken.actors.logs.LogQuery;
import heyken.actors.logs.LogStore;
import java.time.Instant;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.server.PathMatchers;
import org.apache.pekko.http.javadsl.server.Route;

import static org.apache.pekko.http.javadsl.server.Directives.*;

/** Logger API (:5020): the log lines both cores wrote, newest first, filtered and paginated; and the audit. */
public final class LoggerRoutes {

  private final LogStore logs;
  private final Auth auth;
  private final int maxLimit;
  private final AuditRoutes audit;
  private final LogQuestionRoutes questions;

  public LoggerRoutes(LogStore logs, Auth auth, int maxLimit, AuditRoutes audit, LogQuestionRoutes questions) {
    this.logs = logs;
    this.auth = auth;
    this.maxLimit = maxLimit;
    this.audit = audit;
    this.questions = questions;
  }

  public Route route() {
    return ApiErrors.handled(auth.mutating(() -> concat(
        path(PathMatchers.segment("api").slash("logs"), () -> get(() ->
            parameterMap(params -> {
              var parsed = LogQuery.parse(params, maxLimit, Instant.now());
              if (parsed.problem() != null) {
                return ApiErrors.problem(parsed.problem());
              }
              return onSuccess(logs.find(parsed.query()),
                  page -> complete(StatusCodes.OK, page, Json.marshaller()));
            }))),
        questions.route(),
        audit.route())));
  }
}
