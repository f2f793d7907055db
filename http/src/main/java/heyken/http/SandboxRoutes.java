package heyken.http;

import heyken.actors.core.CoreNode;
import java.util.Map;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.server.PathMatchers;
import org.apache.pekko.http.javadsl.server.Route;

import static org.apache.pekko.http.javadsl.server.Directives.*;

/**
 * Sandbox Manager (:5010). Features, test runs and deployments arrive with their own issue; until then the
 * port answers which core serves it, so that the binding that follows the active core can be checked.
 */
public final class SandboxRoutes {

  private final CoreNode node;
  private final Auth auth;

  public SandboxRoutes(CoreNode node, Auth auth) {
    this.node = node;
    this.auth = auth;
  }

  public Route route() {
    return ApiErrors.handled(auth.mutating(() -> path(PathMatchers.segment("api").slash("health"), () -> get(() ->
        complete(StatusCodes.OK,
            Map.of("service", "sandbox-manager", "core", node.coreId(), "active", node.isActive(),
                "epoch", node.activeEpoch()),
            Json.marshaller())))));
  }
}
