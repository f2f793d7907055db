package heyken.http;

import heyken.actors.Outcome;
import heyken.actors.services.ServiceAction;
import heyken.actors.services.ServiceApi;
import heyken.actors.services.ServiceSpec;
import com.fasterxml.jackson.databind.JsonNode;
import heyken.protocol.api.service.ServiceRequest;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.StatusCode;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.server.PathMatchers;
import org.apache.pekko.http.javadsl.server.Route;

import static org.apache.pekko.http.javadsl.server.Directives.*;

/**
 * The dynamic services under the Sandbox Manager (:5010/api/services): add, list, inspect, read the logs of, stop,
 * start, restart and remove long-running containers. Mounted by {@link SandboxRoutes} inside its error handling and
 * auth; {@code GET /api/services/{name}/health} is the health URL the Component Registry checks.
 */
public final class ServiceRoutes {

  private static final long MAX_BODY = 64L << 10;
  private static final String BY = "api";

  private final ServiceApi services;

  public ServiceRoutes(ServiceApi services) {
    this.services = services;
  }

  /** The routes below {@code /api/services}. */
  public Route route() {
    return pathPrefix("services", () -> concat(
        pathEndOrSingleSlash(() -> concat(
            get(() -> answer(services.list(), StatusCodes.OK)),
            post(() -> RequestBodies.atMost(MAX_BODY, () -> entity(Json.unmarshaller(JsonNode.class), this::add))))),
        pathPrefix(PathMatchers.segment(), name -> concat(
            pathEndOrSingleSlash(() -> concat(
                get(() -> answer(services.get(name), StatusCodes.OK)),
                delete(() -> answer(services.change(name, ServiceAction.REMOVE, BY), StatusCodes.OK)))),
            path("health", () -> get(() -> onSuccess(services.get(name), o -> o.problem() != null
                ? ApiErrors.problem(o.problem())
                : complete(ServiceApi.healthy(o.value()) ? StatusCodes.OK : StatusCodes.SERVICE_UNAVAILABLE,
                    java.util.Map.of("name", name, "state", o.value().state(), "health", o.value().health()),
                    Json.marshaller())))),
            path("logs", () -> get(() -> parameterOptional("tail", tail -> parameterOptional("follow", follow ->
                logs(name, tail, follow))))),
            path(PathMatchers.segment(), action -> post(() -> ServiceAction.of(action)
                .filter(a -> a != ServiceAction.REMOVE)
                .map(a -> answer(services.change(name, a, BY), StatusCodes.OK))
                .orElseGet(() -> ApiErrors.error(StatusCodes.NOT_FOUND, "not_found", "a service can be POSTed stop, "
                    + "start or restart (and DELETEd to remove it), not '" + action + "'"))))))));
  }

  /**
   * {@code POST /api/services}: options that would hand a container the host (privileged, host network or pid,
   * mounts, capabilities, devices) are refused by name before the rest is read; then the request as usual.
   */
  private Route add(JsonNode body) {
    if (body != null && body.isObject()) {
      var names = new java.util.ArrayList<String>();
      body.fieldNames().forEachRemaining(names::add);
      var refused = ServiceSpec.refusedOptions(names);
      if (refused != null) {
        return ApiErrors.problem(refused);
      }
    }
    ServiceRequest request;
    try {
      request = Json.MAPPER.treeToValue(body, ServiceRequest.class);
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      return ApiErrors.malformed(e);
    }
    return answer(services.add(request, BY), StatusCodes.CREATED);
  }

  private Route logs(String name, Optional<String> tailText, Optional<String> followText) {
    int tail = ServiceApi.DEFAULT_TAIL;
    if (tailText.isPresent()) {
      try {
        tail = Integer.parseInt(tailText.get().trim());
      } catch (NumberFormatException e) {
        return ApiErrors.error(StatusCodes.BAD_REQUEST, "invalid_parameter", "tail must be a number of lines, 0-"
            + services.settings().maxLogTail());
      }
    }
    boolean follow = false;
    if (followText.isPresent()) {
      String f = followText.get().trim();
      if (!f.equals("true") && !f.equals("false")) {
        return ApiErrors.error(StatusCodes.BAD_REQUEST, "invalid_parameter", "follow must be true or false");
      }
      follow = f.equals("true");
    }
    return onSuccess(services.logs(name, tail, follow), o -> o.problem() != null ? ApiErrors.problem(o.problem())
        : complete(HttpResponse.create().withStatus(StatusCodes.OK)
            .withEntity(HttpEntities.createChunked(ContentTypes.TEXT_PLAIN_UTF8, o.value()))));
  }

  private <T> Route answer(CompletionStage<Outcome<T>> outcome, StatusCode ok) {
    return onSuccess(outcome, o -> o.problem() != null ? ApiErrors.problem(o.problem())
        : complete(ok, o.value(), Json.marshaller()));
  }
}
