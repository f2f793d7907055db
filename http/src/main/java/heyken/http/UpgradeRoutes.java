package heyken.http;

import heyken.actors.upgrade.Upgrade;
import heyken.actors.upgrade.UpgradeApi;
import heyken.actors.upgrade.UpgradeSettings;
import heyken.protocol.api.UpgradeView;
import java.time.Duration;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.server.PathMatchers;
import org.apache.pekko.http.javadsl.server.Route;

import static org.apache.pekko.http.javadsl.server.Directives.*;

/**
 * {@code GET :5021/api/upgrade} (the current or last upgrade with every step) and {@code POST :5021/api/upgrade
 * {"ref"} | {"jar_path"}} (202; 400 for an unknown ref or jar, 409 while one runs). Part of the System Monitor.
 */
public final class UpgradeRoutes {

  private final ActorSystem<?> system;
  private final ActorRef<Upgrade.Command> upgrade;
  private final Duration askTimeout;

  public UpgradeRoutes(ActorSystem<?> system, ActorRef<Upgrade.Command> upgrade) {
    this.system = system;
    this.upgrade = upgrade;
    // preparing an upgrade asks git and both cores: longer than an ordinary ask
    this.askTimeout = UpgradeSettings.from(system.settings().config()).requestTimeout();
  }

  public Route route() {
    return path(PathMatchers.segment("api").slash("upgrade"), () -> concat(
        get(() -> onSuccess(AskPattern.<Upgrade.Command, UpgradeView.Status>ask(upgrade, Upgrade.Get::new,
            askTimeout, system.scheduler()), s -> complete(StatusCodes.OK, s, Json.marshaller()))),
        post(() -> RequestBodies.atMostDefault(() -> entity(Json.unmarshaller(UpgradeView.Request.class), this::start)))));
  }

  private Route start(UpgradeView.Request request) {
    if (request == null) {
      return ApiErrors.error(StatusCodes.BAD_REQUEST, "invalid_upgrade",
          "send {\"ref\": \"<git ref>\"} or {\"jar_path\": \"<jar>\"}");
    }
    var outcome = AskPattern.<Upgrade.Command, Upgrade.StartOutcome>ask(upgrade,
        reply -> new Upgrade.Start(request.ref(), request.jarPath(), "api", reply), askTimeout, system.scheduler());
    return onSuccess(outcome, o -> {
      var problem = UpgradeApi.problem(o);
      return problem != null ? ApiErrors.problem(problem)
          : complete(StatusCodes.ACCEPTED, o.accepted(), Json.marshaller());
    });
  }
}
