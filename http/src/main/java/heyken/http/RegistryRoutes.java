package heyken.http;

import heyken.actors.registry.ComponentRegistry;
import heyken.actors.registry.RegistryApi;
import heyken.protocol.api.ComponentRegistration;
import heyken.protocol.api.Problem;
import heyken.protocol.api.RegisteredComponent;
import java.time.Duration;
import java.util.concurrent.CompletionStage;
import java.util.function.Function;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.http.javadsl.model.StatusCode;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.server.PathMatchers;
import org.apache.pekko.http.javadsl.server.Route;

import static org.apache.pekko.http.javadsl.server.Directives.*;

/** Component Registry (:5002): register, list, inspect and remove components. */
public final class RegistryRoutes {

  private final ActorSystem<?> system;
  private final ActorRef<ComponentRegistry.Command> registry;
  private final Auth auth;
  private final Duration askTimeout;

  public RegistryRoutes(ActorSystem<?> system, ActorRef<ComponentRegistry.Command> registry, Auth auth,
      Duration askTimeout) {
    this.system = system;
    this.registry = registry;
    this.auth = auth;
    this.askTimeout = askTimeout;
  }

  public Route route() {
    return ApiErrors.handled(auth.mutating(() -> pathPrefix(PathMatchers.segment("api").slash("components"), () -> concat(
        pathEndOrSingleSlash(() -> concat(
            get(() -> extractRequest(request -> answer(ask(ComponentRegistry.ListAll::new), StatusCodes.OK,
                r -> new RegisteredComponent.Listing(r.components().stream()
                    .map(c -> forReader(c, auth.presented(request))).toList())))),
            post(() -> RequestBodies.atMostDefault(() -> entity(Json.unmarshaller(ComponentRegistration.class), this::register))))),
        path(PathMatchers.segment(), name -> byName(name, () -> concat(
            get(() -> extractRequest(request -> answer(ask(reply -> new ComponentRegistry.Get(name, reply)),
                StatusCodes.OK, r -> forReader(r.component(), auth.presented(request))))),
            delete(() -> onSuccess(
                ask(reply -> new ComponentRegistry.Deregister(name, "api", reply)),
                r -> RegistryApi.problem(r) != null ? ApiErrors.problem(RegistryApi.problem(r))
                    : complete(StatusCodes.NO_CONTENT))))))))));
  }

  /**
   * What the health check found, for a reader without the token: up or down, not why (a refused connection, a timeout,
   * a status code), so that registering a health URL and reading the result is no port scanner of the core's network.
   */
  static final String DETAIL_NEEDS_TOKEN = "the health check's details need the API token";

  static RegisteredComponent forReader(RegisteredComponent c, boolean withToken) {
    if (withToken || c == null || c.healthDetail() == null) {
      return c;
    }
    return new RegisteredComponent(c.name(), c.url(), c.healthUrl(), c.version(), c.registeredAt(), c.registeredBy(),
        c.health(), DETAIL_NEEDS_TOKEN, c.checkedAt());
  }

  private Route register(ComponentRegistration registration) {
    Problem invalid = RegistryApi.problem(ComponentRegistry.validate(registration));
    if (invalid != null) {
      return ApiErrors.problem(invalid);
    }
    return answer(ask(reply -> new ComponentRegistry.Register(registration, "api", reply)), StatusCodes.CREATED,
        ComponentRegistry.Reply::component);
  }

  private Route byName(String name, java.util.function.Supplier<Route> inner) {
    Problem invalid = RegistryApi.problem(ComponentRegistry.validateName(name));
    return invalid != null ? ApiErrors.problem(invalid) : inner.get();
  }

  private CompletionStage<ComponentRegistry.Reply> ask(
      Function<ActorRef<ComponentRegistry.Reply>, ComponentRegistry.Command> command) {
    return AskPattern.ask(registry, command::apply, askTimeout, system.scheduler());
  }

  private <T> Route answer(
      CompletionStage<ComponentRegistry.Reply> reply, StatusCode ok, Function<ComponentRegistry.Reply, T> body) {
    return onSuccess(reply, r -> RegistryApi.problem(r) != null
        ? ApiErrors.problem(RegistryApi.problem(r))
        : complete(ok, body.apply(r), Json.marshaller()));
  }
}
