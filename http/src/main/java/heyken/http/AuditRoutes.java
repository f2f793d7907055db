package heyken.http;

import heyken.actors.audit.AuditTrail;
import heyken.actors.logs.LogQuery;
import java.time.Instant;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.server.PathMatchers;
import org.apache.pekko.http.javadsl.server.Route;

import static org.apache.pekko.http.javadsl.server.Directives.*;

/**
 * The audit on the Logger API's port (:5020): {@code GET /api/audit?since=&until=&entity=&type=&limit=&cursor=}, a
 * timeline of journal events across entities, and {@code GET /api/audit/features/{id}}, one feature's full history.
 */
public final class AuditRoutes {

  private static final Set<String> PARAMETERS = Set.of("since", "until", "entity", "type", "limit", "cursor");
  private static final Pattern ENTITY = Pattern.compile("[a-z-]{1,32}(:[A-Za-z0-9-]{1,64})?");
  private static final Pattern TYPE = Pattern.compile("[A-Za-z]{1,64}");
  private static final int MAX_LIMIT = 1000;

  private final AuditTrail audit;

  public AuditRoutes(AuditTrail audit) {
    this.audit = audit;
  }

  public Route route() {
    return pathPrefix(PathMatchers.segment("api").slash("audit"), () -> concat(
        pathEndOrSingleSlash(() -> get(() -> parameterMap(this::timeline))),
        path(PathMatchers.segment("features").slash(PathMatchers.segment()), id -> get(() ->
            id.matches("[1-9][0-9]{0,17}")
                ? onSuccess(audit.feature(id), entries -> complete(StatusCodes.OK,
                    Map.of("feature_id", id, "entries", entries), Json.marshaller()))
                : ApiErrors.error(StatusCodes.NOT_FOUND, "unknown_feature",
                    "feature ids are numbers; GET :5010/api/features lists them")))));
  }

  private Route timeline(Map<String, String> params) {
    for (String name : params.keySet()) {
      if (!PARAMETERS.contains(name)) {
        return ApiErrors.error(StatusCodes.BAD_REQUEST, "invalid_parameter", "unknown parameter '"
            + (name.length() > 40 ? name.substring(0, 40) + "…" : name) + "'; use " + String.join(", ", PARAMETERS));
      }
    }
    Instant now = Instant.now();
    Instant since;
    Instant until;
    int limit;
    try {
      since = params.containsKey("since") ? LogQuery.time(params.get("since"), now) : null;
      until = params.containsKey("until") ? LogQuery.time(params.get("until"), now) : null;
      limit = params.containsKey("limit") ? Integer.parseInt(params.get("limit").trim()) : 100;
    } catch (NumberFormatException e) {
      return ApiErrors.error(StatusCodes.BAD_REQUEST, "invalid_parameter", "limit must be a number from 1 to "
          + MAX_LIMIT);
    } catch (IllegalArgumentException e) {
      return ApiErrors.error(StatusCodes.BAD_REQUEST, "invalid_parameter", e.getMessage());
    }
    if (limit < 1 || limit > MAX_LIMIT) {
      return ApiErrors.error(StatusCodes.BAD_REQUEST, "invalid_parameter", "limit must be from 1 to " + MAX_LIMIT
          + ", got " + limit);
    }
    String entity = params.get("entity");
    if (entity != null && !ENTITY.matcher(entity).matches()) {
      return ApiErrors.error(StatusCodes.BAD_REQUEST, "invalid_parameter", "entity is a kind (feature, run, "
          + "core-manager, catalog, registry) or kind:id such as feature:3 or run:3-1");
    }
    String type = params.get("type");
    if (type != null && !TYPE.matcher(type).matches()) {
      return ApiErrors.error(StatusCodes.BAD_REQUEST, "invalid_parameter", "type is an event name such as "
          + "Deployed or CoreActivated");
    }
    String cursor = params.get("cursor");
    try {
      var page = audit.timeline(new AuditTrail.Filter(since, until, entity, type), cursor, limit);
      return onSuccess(page, p -> complete(StatusCodes.OK, p, Json.marshaller()));
    } catch (IllegalArgumentException e) {
      return ApiErrors.error(StatusCodes.BAD_REQUEST, "invalid_parameter", "cursor is not one this API gave out: "
          + "start again without it");
    }
  }
}
