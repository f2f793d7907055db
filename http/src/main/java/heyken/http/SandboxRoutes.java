package heyken.http;

import heyken.actors.Outcome;
import com.fasterxml.jackson.databind.JsonNode;
import heyken.actors.core.CoreNode;
import heyken.actors.feature.FeatureService;
import heyken.protocol.api.feature.CreateFeatureRequest;
import heyken.protocol.api.feature.FeatureRef;
import heyken.protocol.api.feature.NewRevision;
import java.io.IOException;
import java.util.Map;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.StatusCode;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.server.PathMatchers;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.http.javadsl.unmarshalling.Unmarshaller;

import static org.apache.pekko.http.javadsl.server.Directives.*;

/**
 * Sandbox Manager (:5010): features created from files, a git URL or a description, tested in the sandbox by their
 * .gitlab-ci.yml, deployed to the active core, and invoked as sandboxed commands.
 */
public final class SandboxRoutes {

  // a create request carries the code: up to heyken.sandbox.max-revision-bytes of files plus JSON escaping
  private static final long MAX_CREATE_BODY = 8L << 20;
  private static final long MAX_INVOKE_BODY = 64L << 10;
  private static final String BY = "api";

  private final CoreNode node;
  private final Auth auth;
  private final FeatureService features;
  private final ServiceRoutes services;

  public SandboxRoutes(CoreNode node, Auth auth, FeatureService features) {
    this(node, auth, features, null);
  }

  /** With the dynamic services under /api/services. */
  public SandboxRoutes(CoreNode node, Auth auth, FeatureService features, ServiceRoutes services) {
    this.node = node;
    this.auth = auth;
    this.features = features;
    this.services = services;
  }

  public Route route() {
    return ApiErrors.handled(auth.mutating(() -> pathPrefix("api", () -> concat(
        path("health", () -> get(() -> complete(StatusCodes.OK, health(), Json.marshaller()))),
        work()))));
  }

  /**
   * The feature and service routes without the health check, also served by the System Monitor (:5021) under the same
   * paths: the dashboard may only talk to its own origin (its Content-Security-Policy says connect-src 'self'). Without
   * error handling or auth of its own: the System Monitor's routes wrap it in theirs, so that a request none of them
   * takes is still rejected as it should be (400 for a malformed switch, 405 for PUT /api/status) instead of 404.
   */
  public Route dashboardRoute() {
    return pathPrefix("api", this::work);
  }

  private Route work() {
    return concat(
        services == null ? reject() : services.route(),
        pathPrefix("features", () -> concat(
            pathEndOrSingleSlash(() -> get(() -> onSuccess(features.list(),
                listing -> complete(StatusCodes.OK, listing, Json.marshaller())))),
            path("create", () -> post(() -> RequestBodies.atMost(MAX_CREATE_BODY, () ->
                entity(Json.unmarshaller(CreateFeatureRequest.class), request ->
                    answer(features.create(request, BY), StatusCodes.CREATED))))),
            path("test", () -> post(() -> RequestBodies.atMostDefault(() -> entity(Json.unmarshaller(FeatureRef.class), ref ->
                answer(features.test(ref, BY), StatusCodes.ACCEPTED))))),
            path("deploy", () -> post(() -> RequestBodies.atMostDefault(() -> entity(Json.unmarshaller(FeatureRef.class), ref ->
                answer(features.deploy(ref, BY), StatusCodes.OK))))),
            pathPrefix(PathMatchers.segment(), id -> concat(
                pathEndOrSingleSlash(() -> concat(
                    get(() -> answer(features.get(id), StatusCodes.OK)),
                    delete(() -> answer(features.delete(id, BY), StatusCodes.OK)))),
                path("revisions", () -> post(() -> RequestBodies.atMost(MAX_CREATE_BODY, () ->
                    entity(Json.unmarshaller(NewRevision.class), revision ->
                        answer(features.addRevision(id, revision.files(), revision.message(), BY),
                            StatusCodes.CREATED))))),
                path(PathMatchers.segment("revisions").slash(PathMatchers.segment()).slash("diff"), revision ->
                    get(() -> onSuccess(features.diff(id, revision), outcome -> outcome.problem() != null
                        ? ApiErrors.problem(outcome.problem())
                        : complete(HttpResponse.create().withStatus(StatusCodes.OK)
                            .withEntity(HttpEntities.create(ContentTypes.TEXT_PLAIN_UTF8, outcome.value())))))),
                path("rollback", () -> post(() -> answer(features.rollback(id, BY), StatusCodes.OK))),
                path("undeploy", () -> post(() -> onSuccess(features.undeploy(id, BY), outcome ->
                    outcome.problem() != null ? ApiErrors.problem(outcome.problem())
                        : complete(StatusCodes.OK, Map.of("feature_id", id, "status", "undeployed"),
                            Json.marshaller())))),
                path("invoke", () -> post(() -> RequestBodies.atMost(MAX_INVOKE_BODY, () ->
                    entity(Unmarshaller.entityToByteString(), body -> invoke(id, body.toArray()))))),
                pathPrefix(PathMatchers.segment("runs").slash(PathMatchers.segment()), runId -> concat(
                    pathEndOrSingleSlash(() -> get(() -> answer(features.run(id, runId), StatusCodes.OK))),
                    path("log", () -> get(() -> runLog(id, runId))))))))));
  }

  private Map<String, Object> health() {
    var backend = features.runtime().backend();
    var availability = backend.availability();
    return Map.of("service", "sandbox-manager", "core", node.coreId(), "active", node.isActive(),
        "epoch", node.activeEpoch(), "sandbox", Map.of("backend", backend.name(),
            "status", availability.available() ? "up" : "down", "detail", availability.detail()));
  }

  private Route invoke(String id, byte[] body) {
    byte[] request = body.length == 0 ? "{}".getBytes() : body;
    try {
      JsonNode parsed = Json.MAPPER.readTree(request);
      if (parsed == null || !parsed.isObject()) {
        return ApiErrors.error(StatusCodes.BAD_REQUEST, "malformed_json",
            "the body must be a JSON object such as {\"args\": \"Paris\"}");
      }
    } catch (IOException e) {
      return ApiErrors.error(StatusCodes.BAD_REQUEST, "malformed_json",
          "the body is not valid JSON: send an object such as {\"args\": \"Paris\"}");
    }
    return answer(features.invoke(id, request), StatusCodes.OK);
  }

  private Route runLog(String featureId, String runId) {
    // the run must exist before the stream starts: an unknown run is a 404, not an empty 200
    return onSuccess(features.run(featureId, runId), outcome -> outcome.problem() != null
        ? ApiErrors.problem(outcome.problem())
        : complete(HttpResponse.create().withStatus(StatusCodes.OK)
            .withEntity(HttpEntities.createChunked(ContentTypes.TEXT_PLAIN_UTF8,
                features.runLog(featureId, runId)))));
  }

  private <T> Route answer(CompletionStage<Outcome<T>> outcome, StatusCode ok) {
    return onSuccess(outcome, o -> o.problem() != null ? ApiErrors.problem(o.problem())
        : complete(ok, o.value(), Json.marshaller()));
  }
}
