package heyken.http;

import com.typesafe.config.Config;
import java.time.Duration;

/**
 * How much of a port one slow or greedy client may hold (issue 16, finding 3), read once from {@code heyken.http}: a
 * connection is closed when a complete request head has not arrived {@code requestHeadTimeout} after it opened or
 * after its last response, and one client address holds at most {@code maxPerAddress} connections of a port. The
 * total per port is pekko-http's own {@code pekko.http.server.max-connections}.
 */
public record ConnectionLimits(Duration requestHeadTimeout, int maxPerAddress) {

  public ConnectionLimits {
    if (requestHeadTimeout.isNegative() || requestHeadTimeout.isZero()) {
      throw new IllegalArgumentException("heyken.http.request-head-timeout must be positive, was " + requestHeadTimeout);
    }
    if (maxPerAddress < 1) {
      throw new IllegalArgumentException("heyken.http.max-connections-per-address must be at least 1, was "
          + maxPerAddress);
    }
  }

  public static ConnectionLimits from(Config config) {
    var http = config.getConfig("heyken.http");
    return new ConnectionLimits(http.getDuration("request-head-timeout"), http.getInt("max-connections-per-address"));
  }
}
