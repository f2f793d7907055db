package heyken.actors;

import com.typesafe.config.Config;
import java.time.Duration;

/** What every actor module shares: how long an actor waits for the answer of another one in the cluster. */
public record ClusterSettings(Duration askTimeout) {

  public static ClusterSettings from(Config config) {
    return new ClusterSettings(config.getDuration("heyken.cluster.ask-timeout"));
  }
}
