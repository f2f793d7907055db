package heyken.http;

import heyken.protocol.api.ApiError;
import heyken.protocol.api.Problem;
import java.util.List;
import java.util.stream.Collectors;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.StatusCode;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.model.headers.HttpChallenge;
import org.apache.pekko.http.javadsl.model.headers.WWWAuthenticate;
import org.apache.pekko.http.javadsl.server.AuthorizationFailedRejection;
import org.apache.pekko.http.javadsl.server.ExceptionHandler;
import org.apache.pekko.http.javadsl.server.MalformedQueryParamRejection;
import org.apache.pekko.http.javadsl.server.MalformedRequestContentRejection;
import org.apache.pekko.http.javadsl.server.MethodRejection;
import org.apache.pekko.http.javadsl.server.MissingQueryParamRejection;
import org.apache.pekko.http.javadsl.server.RejectionHandler;
import org.apache.pekko.http.javadsl.server.RequestEntityExpectedRejection;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.http.javadsl.server.UnsupportedRequestContentTypeRejection;
import org.apache.pekko.http.scaladsl.model.EntityStreamSizeException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import static org.apache.pekko.http.javadsl.server.Directives.complete;
import static org.apache.pekko.http.javadsl.server.Directives.extractRequest;
import static org.apache.pekko.http.javadsl.server.Directives.handleExceptions;
import static org.apache.pekko.http.javadsl.server.Directives.handleRejections;

/**
 * The one error handling of every port: exceptions and rejections become {@code {"error","detail"}} with
 * the right status. The caller's mistakes are 4xx; only our own failures are 5xx, and never carry a stack
 * trace (that goes to the log, with the request).
 */
public final class ApiErrors {

  private static final Logger log = LoggerFactory.getLogger(ApiErrors.class);

  private ApiErrors() {}

  public static HttpResponse response(StatusCode status, String error, String detail) {
    byte[] body;
    try {
      body = Json.MAPPER.writeValueAsBytes(new ApiError(error, detail));
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      body = "{\"error\":\"internal\",\"detail\":\"could not render the error\"}".getBytes();
    }
    return HttpResponse.create().withStatus(status).withEntity(HttpEntities.create(ContentTypes.APPLICATION_JSON, body));
  }

  public static Route problem(Problem p) {
    return complete(response(StatusCodes.get(p.status()), p.error(), p.detail()));
  }

  public static Route error(StatusCode status, String error, String detail) {
    return complete(response(status, error, detail));
  }

  /** Wraps a port's routes with the shared handlers. */
  public static Route handled(Route inner) {
    return handleExceptions(EXCEPTIONS, () -> handleRejections(REJECTIONS, () -> inner));
  }

  static final ExceptionHandler EXCEPTIONS = ExceptionHandler.newBuilder()
      .match(EntityStreamSizeException.class, e -> tooLarge(e))
      .match(java.util.concurrent.TimeoutException.class, e -> error(StatusCodes.SERVICE_UNAVAILABLE, "timeout",
          "the cluster did not answer in time (a hand-over may be in progress); retry in a moment"))
      .match(java.util.concurrent.CompletionException.class, e -> e.getCause() instanceof java.util.concurrent.TimeoutException
          ? error(StatusCodes.SERVICE_UNAVAILABLE, "timeout",
              "the cluster did not answer in time (a hand-over may be in progress); retry in a moment")
          : internal(e.getCause() == null ? e : e.getCause()))
      .matchAny(ApiErrors::internal)
      .build();

  private static Route tooLarge(EntityStreamSizeException e) {
    return tooLarge(e.limit());
  }

  /** 413 {@code payload_too_large} for a body over {@code limit} bytes (also what {@link RequestBodies} answers). */
  static Route tooLarge(long limit) {
    return error(StatusCodes.PAYLOAD_TOO_LARGE, "payload_too_large",
        "the request body is larger than the allowed " + limit + " bytes");
  }

  private static Route internal(Throwable e) {
    if (e instanceof org.apache.pekko.pattern.AskTimeoutException || e instanceof java.util.concurrent.TimeoutException) {
      return error(StatusCodes.SERVICE_UNAVAILABLE, "timeout",
          "the cluster did not answer in time (a hand-over may be in progress); retry in a moment");
    }
    return extractRequest(request -> {
      log.error("internal error on {} {}", request.method().value(), request.getUri().path(), e);
      return error(StatusCodes.INTERNAL_SERVER_ERROR, "internal",
          "the server failed on this request (" + e.getClass().getSimpleName() + "); it is in the Logger API "
              + "(GET :5020/api/logs?level=ERROR)");
    });
  }

  static final RejectionHandler REJECTIONS = RejectionHandler.newBuilder()
      .handle(MalformedRequestContentRejection.class, r -> {
        Throwable cause = r.getCause();
        while (cause != null && !(cause instanceof EntityStreamSizeException) && cause.getCause() != cause
            && cause.getCause() != null) {
          cause = cause.getCause();
        }
        if (cause instanceof EntityStreamSizeException size) {
          return tooLarge(size);
        }
        Throwable root = r.getCause();
        while (root != null && root.getCause() != null && root.getCause() != root
            && !(root instanceof com.fasterxml.jackson.core.JsonProcessingException)) {
          root = root.getCause();
        }
        return error(StatusCodes.BAD_REQUEST, "malformed_json",
            jsonProblem(root instanceof com.fasterxml.jackson.core.JsonProcessingException json
                ? json.getOriginalMessage() + location(json) : r.message()));
      })
      .handle(RequestEntityExpectedRejection.class, r ->
          error(StatusCodes.BAD_REQUEST, "missing_body", "this request needs a JSON body"))
      .handle(UnsupportedRequestContentTypeRejection.class, r ->
          error(StatusCodes.UNSUPPORTED_MEDIA_TYPE, "unsupported_content_type",
              "send the body as JSON with the header Content-Type: application/json"))
      .handle(MalformedQueryParamRejection.class, r ->
          error(StatusCodes.BAD_REQUEST, "invalid_parameter",
              "query parameter '" + r.parameterName() + "': " + r.errorMsg()))
      .handle(MissingQueryParamRejection.class, r ->
          error(StatusCodes.BAD_REQUEST, "missing_parameter", "query parameter '" + r.parameterName() + "' is required"))
      .handle(AuthorizationFailedRejection.class, r ->
          error(StatusCodes.FORBIDDEN, "forbidden", "this token may not do that"))
      .handleAll(MethodRejection.class, (List<MethodRejection> rs) -> error(StatusCodes.METHOD_NOT_ALLOWED,
          "method_not_allowed", "use " + rs.stream().map(r -> r.supported().value()).distinct()
              .collect(Collectors.joining(" or ")) + " here"))
      .handleNotFound(extractRequest(request -> error(StatusCodes.NOT_FOUND, "not_found",
          "no endpoint " + request.method().value() + " " + request.getUri().path() + " on this port")))
      .build()
      .withFallback(RejectionHandler.defaultHandler())
      .mapRejectionResponse(response -> {
        // anything the default handler rendered as text becomes our JSON shape
        if (response.entity().getContentType().equals(ContentTypes.APPLICATION_JSON)) {
          return response;
        }
        return response(response.status(), "rejected", response.status().reason());
      });

  /** 400 {@code malformed_json} for a body read as a tree first and mapped to its type in the route. */
  static Route malformed(com.fasterxml.jackson.core.JsonProcessingException json) {
    return error(StatusCodes.BAD_REQUEST, "malformed_json", jsonProblem(json.getOriginalMessage() + location(json)));
  }

  private static String location(com.fasterxml.jackson.core.JsonProcessingException e) {
    var at = e.getLocation();
    String path = "";
    if (e instanceof com.fasterxml.jackson.databind.JsonMappingException m && !m.getPath().isEmpty()) {
      path = " (field '" + m.getPath().stream()
          .map(ref -> ref.getFieldName() != null ? ref.getFieldName() : "[" + ref.getIndex() + "]")
          .collect(Collectors.joining(".")) + "')";
    }
    return path + (at == null || at.getLineNr() < 0 ? "" : " at line " + at.getLineNr() + ", column " + at.getColumnNr());
  }

  /** Jackson's messages name the field and the problem; cut the source excerpt it appends. */
  private static String jsonProblem(String message) {
    String m = message == null ? "the body is not valid JSON" : message;
    int at = m.indexOf(" at [Source");
    if (at > 0) {
      m = m.substring(0, at);
    }
    m = m.replaceAll("\\(class [^)]*\\)", "").replaceAll("heyken\\.protocol\\.api\\.", "").trim();
    return "the body is not the expected JSON: " + (m.length() > 300 ? m.substring(0, 300) + "…" : m);
  }

  static WWWAuthenticate bearerChallenge() {
    return WWWAuthenticate.create(HttpChallenge.create("Bearer", "heyken"));
  }
}
