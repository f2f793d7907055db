package heyken.actors.registry;

import com.typesafe.config.Config;
import java.time.Duration;

/** How often the Component Registry checks the registered components' health URLs, and how long one check may take. */
public record RegistrySettings(Duration healthCheckInterval, Duration healthCheckTimeout) {

  public static RegistrySettings from(Config config) {
    Config registry = config.getConfig("heyken.registry");
    return new RegistrySettings(registry.getDuration("health-check-interval"),
        registry.getDuration("health-check-timeout"));
  }
}
