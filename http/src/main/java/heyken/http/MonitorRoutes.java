package heyken.http;

import heyken.actors.core.CoreApi;
import heyken.actors.core.CoreManager;
import heyken.actors.monitor.StatusService;
import heyken.actors.metrics.Metrics;
import heyken.protocol.api.SwitchRequest;
import heyken.protocol.api.SystemStatus;
import java.time.Duration;
import java.util.List;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.http.javadsl.model.ContentType;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.http.javadsl.model.HttpEntity;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.server.PathMatchers;
import org.apache.pekko.http.javadsl.server.Route;

import static org.apache.pekko.http.javadsl.server.Directives.*;

/**
 * System Monitor (:5021): the state of both cores and their components, the planned switch, the console's chat, the
 * dashboard ({@code GET /}) with its live updates ({@code GET /api/events}) and the metrics ({@code GET /metrics}).
 */
public final class MonitorRoutes {

  private final ActorSystem<?> system;
  private final StatusService status;
  private final ActorRef<CoreManager.Command> coreManager;
  private final Auth auth;
  private final Duration askTimeout;
  private final ChatRoutes chat;
  private final MonitorEvents events;
  private final UpgradeRoutes upgrade;

  private final Route[] more;

  /**
   * {@code more}: further routes served on this port, such as the metrics history and the Sandbox Manager's feature and
   * service routes the dashboard calls (its page may only talk to its own origin).
   */
  public MonitorRoutes(ActorSystem<?> system, StatusService status, ActorRef<CoreManager.Command> coreManager,
      Auth auth, Duration askTimeout, ChatRoutes chat, MonitorEvents events, UpgradeRoutes upgrade, Route... more) {
    this.more = more;
    this.system = system;
    this.upgrade = upgrade;
    this.events = events;
    this.status = status;
    this.coreManager = coreManager;
    this.auth = auth;
    this.chat = chat;
    this.askTimeout = askTimeout;
  }

  public Route route() {
    return ApiErrors.handled(auth.mutating(() -> concat(
        pathPrefix("api", () -> concat(
            path("status", () -> get(() -> extractRequest(request -> {
              boolean full = !auth.readsNeedToken() || auth.presented(request);
              return onSuccess(status.status(), s -> complete(HttpResponse.create().withEntity(rendered(s, full))));
            }))),
            path(PathMatchers.segment("cores").slash("switch"), () -> post(() ->
                RequestBodies.atMostDefault(() -> entity(Json.unmarshaller(SwitchRequest.class), this::switchCore)))),
            events.route())),
        chat.route(),
        upgrade.route(),
        metrics(),
        Dashboard.route(),
        concat(reject(), more))));
  }

  /** One status as JSON, with or without the details: the requests that share one look share its bytes too. */
  private record Rendered(SystemStatus status, HttpEntity.Strict entity) {}

  private volatile Rendered lastFull;
  private volatile Rendered lastShort;

  /** The status's JSON body, written once per look (at 1,000 requests a second, not once per request). */
  private HttpEntity.Strict rendered(SystemStatus s, boolean full) {
    var last = full ? lastFull : lastShort;
    if (last != null && last.status() == s) {
      return last.entity();
    }
    byte[] json;
    try {
      json = Json.MAPPER.writeValueAsBytes(full ? s : withoutDetails(s));
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new IllegalStateException("the status could not be written as JSON", e);
    }
    var entity = HttpEntities.create(ContentTypes.APPLICATION_JSON, json);
    var next = new Rendered(s, entity);
    if (full) {
      lastFull = next;
    } else {
      lastShort = next;
    }
    return entity;
  }

  /**
   * {@code GET /api/status} for a reader without the token on a core bound to a non-loopback address (the load
   * balancer's health check): which core is active, the epoch, whether the installation is healthy, each core's and
   * component's state. Without addresses, pids, versions, URLs, probe details, the lease and the problems' text: the
   * token shows them.
   */
  static SystemStatus withoutDetails(SystemStatus s) {
    var cores = s.cores() == null ? null : s.cores().stream().map(c -> new SystemStatus.CoreStatus(c.id(), null,
        c.status(), c.active(), null, null, null, null, c.reachable(), null, null, null)).toList();
    var components = s.components() == null ? null : s.components().stream()
        .map(c -> new SystemStatus.ComponentStatus(c.name(), c.status(), null)).toList();
    var self = s.thisCore() == null ? null
        : new SystemStatus.ThisCore(s.thisCore().id(), s.thisCore().active(), s.thisCore().epoch(), null);
    var problems = s.problems() == null || s.problems().isEmpty() ? s.problems()
        : List.of(s.problems().size() + " problem(s): GET /api/status with the API token says which and what to do");
    return new SystemStatus(s.activeCore(), s.epoch(), s.activeSince(), null, s.servedBy(), cores, components,
        s.logLinesDropped(), s.fencedWritesRefused(), s.healthy(), null, null, self, null, problems);
  }

  /** {@code GET /metrics}: this core's metrics in the Prometheus text format 0.0.4. */
  static Route metrics() {
    return path("metrics", () -> get(() -> complete(HttpResponse.create().withEntity(
        HttpEntities.create(METRICS_TYPE, Metrics.REGISTRY.render().getBytes(java.nio.charset.StandardCharsets.UTF_8))))));
  }

  private static final ContentType METRICS_TYPE =
      ContentTypes.parse(heyken.actors.metrics.MetricRegistry.CONTENT_TYPE);


  private Route switchCore(SwitchRequest request) {
    if (request == null || request.targetCore() == null) {
      return ApiErrors.error(StatusCodes.BAD_REQUEST, "missing_target_core",
          "send {\"target_core\": 1} or {\"target_core\": 2}");
    }
    var outcome = AskPattern.<CoreManager.Command, CoreManager.SwitchOutcome>ask(
        coreManager, reply -> new CoreManager.RequestSwitch(request.targetCore(), reply), askTimeout,
        system.scheduler());
    return onSuccess(outcome, o -> CoreApi.problem(o) != null
        ? ApiErrors.problem(CoreApi.problem(o))
        : complete(StatusCodes.ACCEPTED, o.accepted(), Json.marshaller()));
  }
}
