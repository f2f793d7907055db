package heyken.actors.services;

import com.typesafe.config.Config;
import java.time.Duration;

/**
 * The typed {@code heyken.services} configuration.
 *
 * @param network the engine network services join ({@code bridge}; {@code none} runs them without a network, and
 *     then no ports can be published)
 * @param defaultHostIp the host address a port binds when the request names none
 * @param reconcileInterval how often the active core compares what runs with what is wanted
 * @param restartBackoffMin first delay before a dead service is started again (doubling on each failure)
 * @param restartBackoffMax the longest delay between restarts
 * @param backoffReset a service that ran this long starts its back-off over
 * @param maxLogTail the most lines {@code tail} may ask for
 * @param dockerHost the engine
 * @param healthBaseUrl where the Component Registry checks a service's health (the Sandbox Manager's port)
 * @param policy the limits and user of every container, and how far a spec may raise them
 */
public record ServiceSettings(
    String network,
    String defaultHostIp,
    Duration reconcileInterval,
    Duration restartBackoffMin,
    Duration restartBackoffMax,
    Duration backoffReset,
    int maxLogTail,
    String dockerHost,
    String healthBaseUrl,
    ServicePolicy policy) {

  public ServiceSettings(String network, String defaultHostIp, Duration reconcileInterval, Duration restartBackoffMin,
      Duration restartBackoffMax, Duration backoffReset, int maxLogTail, String dockerHost, String healthBaseUrl) {
    this(network, defaultHostIp, reconcileInterval, restartBackoffMin, restartBackoffMax, backoffReset, maxLogTail,
        dockerHost, healthBaseUrl, ServicePolicy.DEFAULT);
  }

  public static ServiceSettings from(Config config) {
    Config c = config.getConfig("heyken.services");
    return new ServiceSettings(
        c.getString("network"),
        c.getString("default-host-ip"),
        c.getDuration("reconcile-interval"),
        c.getDuration("restart-backoff-min"),
        c.getDuration("restart-backoff-max"),
        c.getDuration("backoff-reset"),
        c.getInt("max-log-tail"),
        config.getString("heyken.components.docker-host"),
        c.getString("api-url"),
        ServicePolicy.from(config));
  }

  /** Whether the network can publish ports (a network of its own per container, or the host's). */
  public boolean publishesPorts() {
    return !network.equals("none") && !network.equals("host");
  }
}
