package heyken.http;

import org.apache.pekko.actor.ExtendedActorSystem;
import org.apache.pekko.cluster.Cluster;
import org.apache.pekko.management.cluster.javadsl.ClusterHttpManagementRoutes;
import org.apache.pekko.management.javadsl.ManagementRouteProvider;
import org.apache.pekko.management.javadsl.ManagementRouteProviderSettings;
import org.apache.pekko.http.javadsl.server.Route;

/**
 * Pekko Management's cluster HTTP routes ({@code /cluster/members}, {@code /cluster/shards}, ...) on the management
 * ports (7626/7627), with the API token on every request that changes the cluster: {@code POST /cluster/members}
 * (join), {@code PUT}/{@code DELETE /cluster/members/<address>} (leave, down) and {@code PUT /cluster} need
 * {@code Authorization: Bearer <HEYKEN_API_TOKEN>} (401 JSON otherwise, compared in constant time by {@link Auth});
 * the reads and the health checks ({@code /ready}, {@code /alive}, {@code /health}: another route provider) stay open.
 *
 * <p>Registered as a route provider of Pekko Management ({@code pekko.management.http.routes} in application.conf,
 * in place of its own {@code cluster-management}). Pekko Management's own hook ({@code withAuth}) wraps every route of
 * the port in HTTP Basic authentication: it sees neither the method nor the path, so it would lock {@code /ready}
 * and {@code /alive} too (the Docker health check, {@code status.sh} and the upgrade read them without a token), and
 * it takes no bearer token. A route provider is the extension point Pekko Management offers for exactly this: the
 * check is part of the management server's own routes, no proxy in front.
 */
public final class ClusterManagementRoutes implements ManagementRouteProvider {

  private final Cluster cluster;
  private final Auth auth;

  /** Pekko Management creates it with the actor system (see {@code PekkoManagement.loadRouteProviders}). */
  public ClusterManagementRoutes(ExtendedActorSystem system) {
    this(Cluster.get(system), Auth.from(system.settings().config()));
  }

  ClusterManagementRoutes(Cluster cluster, Auth auth) {
    this.cluster = cluster;
    this.auth = auth;
  }

  @Override
  public Route routes(ManagementRouteProviderSettings settings) {
    return auth.writesOnly().mutating(() -> settings.readOnly()
        ? ClusterHttpManagementRoutes.readOnly(cluster)
        : ClusterHttpManagementRoutes.all(cluster));
  }
}
