package heyken.actors.monitor;

import com.typesafe.config.Config;
import java.time.Duration;

/**
 * What {@link ComponentProbes} checks (heyken.components) and whether the store is the embedded one (heyken.mongo.uri
 * points at heyken.store's own address), read once.
 *
 * @param rocketChatUrl blank when Rocket.Chat is not configured
 * @param ollamaUrl blank when no language model is configured
 * @param timeout upper bound of one probe
 * @param cacheFor how long a probe's result is reused
 */
public record ProbeSettings(boolean embeddedStore, String dockerHost, String rocketChatUrl, String ollamaUrl,
    Duration timeout, Duration cacheFor) {

  public static ProbeSettings from(Config config) {
    boolean embedded = config.getString("heyken.mongo.uri").equals(
        "mongodb://" + config.getString("heyken.store.host") + ":" + config.getInt("heyken.store.port") + "/heyken");
    Config c = config.getConfig("heyken.components");
    return new ProbeSettings(embedded, c.getString("docker-host"), c.getString("rocketchat-url").trim(),
        c.getString("ollama-url").trim(), c.getDuration("probe-timeout"), c.getDuration("probe-cache"));
  }
}
