package heyken.http;

import heyken.actors.logs.LogQuery;
import heyken.actors.logs.LogStore;
import heyken.actors.logs.LogTail;
import java.time.Instant;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.NotUsed;
import java.nio.charset.StandardCharsets;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.MediaTypes;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.server.PathMatchers;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.japi.Pair;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.util.ByteString;

import static org.apache.pekko.http.javadsl.server.Directives.*;

/** Logger API (:5020): the log lines both cores wrote, newest first, filtered and paginated; and the audit. */
public final class LoggerRoutes {

  private static final ByteString HEARTBEAT = ByteString.fromString(": heartbeat\n\n");

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

  /** The Logger API without plain-word questions ({@code POST /api/logs/query} is then a 404). */
  public LoggerRoutes(LogStore logs, Auth auth, int maxLimit, AuditRoutes audit) {
    this(logs, auth, maxLimit, audit, null);
  }

  public Route route() {
    return ApiErrors.handled(auth.mutating(() -> concat(
        path(PathMatchers.segment("api").slash("logs"), () -> get(() ->
            parameterMap(params -> {
              var parsed = LogQuery.parse(params, maxLimit, Instant.now());
              if (parsed.problem() != null) {
                return ApiErrors.problem(parsed.problem());
              }
              return onComplete(logs.find(parsed.query()), page -> page.isSuccess()
                  ? complete(StatusCodes.OK, page.get(), Json.marshaller())
                  : storeFailure(page.failed().get()));
            }))),
        path(PathMatchers.segment("api").slash("logs").slash("stream"), () -> get(() ->
            parameterMap(params -> {
              if (params.containsKey("after")) {
                return ApiErrors.error(StatusCodes.BAD_REQUEST, "invalid_parameter",
                    "the stream has no pages: use since to start earlier than now");
              }
              var parsed = LogQuery.parse(params, maxLimit, Instant.now());
              if (parsed.problem() != null) {
                return ApiErrors.problem(parsed.problem());
              }
              return complete(HttpResponse.create().withEntity(HttpEntities.createChunked(
                  MediaTypes.TEXT_EVENT_STREAM.toContentType(), stream(logs.tail(parsed.query(), Instant.now())))));
            }))),
        questions == null ? reject() : questions.route(),
        audit.route())));
  }

  /** The store slow or away is not the caller's fault, nor a bug: a 503 saying so (other failures stay 500). */
  static Route storeFailure(Throwable error) {
    Throwable e = error instanceof java.util.concurrent.CompletionException && error.getCause() != null
        ? error.getCause() : error;
    if (e instanceof LogStore.Busy) {
      return ApiErrors.error(StatusCodes.SERVICE_UNAVAILABLE, "busy", e.getMessage());
    }
    if (e instanceof heyken.actors.postgres.PostgresDatabase.Unavailable
        || heyken.actors.postgres.PostgresDatabase.isConnectionProblem(e) || e instanceof com.mongodb.MongoException) {
      return ApiErrors.error(StatusCodes.SERVICE_UNAVAILABLE, "store_unavailable",
          "the log store (PostgreSQL) did not answer (" + e.getMessage() + "); retry in a moment");
    }
    if (queryCancelled(e)) {
      // statement_timeout: the query was too big for the time a Logger API query may take
      return ApiErrors.error(StatusCodes.SERVICE_UNAVAILABLE, "query_timeout",
          "the query took longer than the log store allows (heyken.postgres.statement-timeout); narrow it with since/"
              + "until or a feature, run, component or level filter");
    }
    return failWith(e);
  }

  /** The server cancelled the query (SQL state 57014: statement_timeout). */
  static boolean queryCancelled(Throwable error) {
    for (Throwable t = error; t != null; t = t.getCause() == t ? null : t.getCause()) {
      if (t instanceof java.sql.SQLException sql && "57014".equals(sql.getSQLState())) {
        return true;
      }
    }
    return false;
  }

  /**
   * The live tail as server-sent events (event "log", id = the line's id, data = the line as one line of JSON): polls
   * the store at the configured interval (at once while it has a backlog), a comment line as heartbeat when nothing
   * comes (EventSource ignores it; pekko's own heartbeat is an empty data event, which browsers deliver), and stops
   * when the client goes away (the stream is cancelled) or an {@code until} has passed.
   */
  private Source<ByteString, NotUsed> stream(LogTail tail) {
    var settings = logs.settings().stream();
    Source<ByteString, NotUsed> events = Source.unfoldAsync(Boolean.FALSE, (Boolean wait) -> {
      // an until that has passed ends the stream once the backlog up to it is sent
      if (wait && tail.finished(Instant.now())) {
        return CompletableFuture.completedFuture(Optional.<Pair<Boolean, LogTail.Batch>>empty());
      }
      CompletionStage<Void> delay = wait
          ? CompletableFuture.runAsync(() -> {},
              CompletableFuture.delayedExecutor(settings.pollInterval().toMillis(), TimeUnit.MILLISECONDS))
          : CompletableFuture.completedFuture(null);
      return delay.thenCompose(x -> tail.poll())
          // the store away for a moment: keep the stream open and try again at the next interval
          .exceptionally(e -> new LogTail.Batch(java.util.List.of(), false))
          .thenApply(batch -> Optional.of(Pair.create(!batch.more(), batch)));
    }).mapConcat(batch -> batch.lines())
        // compact JSON has no line breaks (those inside strings are escaped), so one data line carries it
        .map(line -> ByteString.fromString("event: log\nid: " + line.id() + "\ndata: "
            + Json.MAPPER.writeValueAsString(line) + "\n\n", StandardCharsets.UTF_8));
    return events.keepAlive(settings.heartbeat(), () -> HEARTBEAT);
  }
}
