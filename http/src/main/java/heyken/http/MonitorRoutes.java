package heyken.http;

import heyken.actors.core.CoreManager;
import heyken.actors.monitor.StatusService;
import heyken.actors.metrics.Metrics;
import heyken.protocol.api.SwitchRequest;
import java.time.Duration;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.http.javadsl.model.ContentType;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpEntities;
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
      Auth auth, ChatRoutes chat, MonitorEvents events, UpgradeRoutes upgrade, Route... more) {
    this.more = more;
    this.system = system;
    this.upgrade = upgrade;
    this.events = events;
    this.status = status;
    this.coreManager = coreManager;
    this.auth = auth;
    this.chat = chat;
    this.askTimeout = system.settings().config().getDuration("heyken.http.ask-timeout");
  }

  public Route route() {
    return ApiErrors.handled(auth.mutating(() -> concat(
        pathPrefix("api", () -> concat(
            path("status", () -> get(() ->
                onSuccess(status.status(), s -> complete(StatusCodes.OK, s, Json.marshaller())))),
            path(PathMatchers.segment("cores").slash("switch"), () -> post(() ->
                RequestBodies.atMostDefault(() -> entity(Json.unmarshaller(SwitchRequest.class), this::switchCore)))),
            events.route())),
        chat.route(),
        upgrade.route(),
        metrics(),
        Dashboard.route(),
        concat(reject(), more))));
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
    return onSuccess(outcome, o -> o.problem() != null
        ? ApiErrors.problem(o.problem())
        : complete(StatusCodes.ACCEPTED, o.accepted(), Json.marshaller()));
  }
}
