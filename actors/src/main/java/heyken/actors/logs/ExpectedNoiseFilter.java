package heyken.actors.logs;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.turbo.TurboFilter;
import ch.qos.logback.core.spi.FilterReply;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;
import org.slf4j.Marker;
import org.slf4j.helpers.MessageFormatter;

/**
 * Keeps libraries' WARN/ERROR lines about expected conditions out of the tail a user reads, and gives the ones that
 * matter the hint they lack (logback.xml installs it; anything not named here passes unchanged):
 * <ul>
 *   <li>Artery's "outbound connection ... Connection refused / aborted" WARN while the peer core is not started yet
 *       (every cold start: core-1 starts first) or restarting: one INFO line per peer and minute instead;
 *   <li>Artery's handshake timeout and the failure detector's "heartbeat interval is growing too large": the same
 *       WARN, said once a minute per peer, with what it means and what to check;
 *   <li>the singleton manager's ERROR "failed to get lease (will be retried)" with its stack trace, when the lease's
 *       store answered late: one WARN a minute with the cause and what to check;
 *   <li>the cluster's own messages reaching a member that moved on (INFO dead letters while joining or leaving);
 *   <li>the embedded store's ERROR "unknown query: {"hello" ...}": the MongoDB driver's first handshake, which the
 *       store does not know and the driver then repeats as isMaster.
 * </ul>
 */
public final class ExpectedNoiseFilter extends TurboFilter {

  private static final String MATERIALIZER = "org.apache.pekko.stream.Materializer";
  private static final String ASSOCIATION = "org.apache.pekko.remote.artery.Association";
  private static final String FAILURE_DETECTOR = "org.apache.pekko.remote.PhiAccrualFailureDetector";
  private static final String SINGLETON_MANAGER = "org.apache.pekko.cluster.singleton.ClusterSingletonManager";
  private static final String STORE_BACKEND = "de.bwaldvogel.mongo.backend.AbstractMongoDatabase";
  private static final Pattern PEER = Pattern.compile("(pekko://[^\\]\\s:]+@[^\\]\\s/:]+(?::\\d+)?)");
  private static final long NOTE_EVERY_MS = 60_000;

  private final Map<String, Long> lastNote = new ConcurrentHashMap<>();

  @Override
  public FilterReply decide(Marker marker, Logger logger, Level level, String format, Object[] params, Throwable t) {
    if (format == null || level == null) {
      return FilterReply.NEUTRAL;
    }
    if (level == Level.INFO && format.contains("dead letters encountered")
        && format.startsWith("Message [org.apache.pekko.cluster.")) {
      // the cluster's own gossip and join messages reaching a member that just moved on (joining twice on a slow
      // machine, leaving): part of how membership converges, nothing a user can act on
      return FilterReply.DENY;
    }
    if (!level.isGreaterOrEqual(Level.WARN)) {
      return FilterReply.NEUTRAL;
    }
    String name = logger.getName();
    // the replacement lines go through the same logging context (the filter's own lines are INFO/WARN of
    // heyken.cluster.peer, which no rule here matches)
    Logger peerLog = logger.getLoggerContext().getLogger("heyken.cluster.peer");
    switch (name) {
      case SINGLETON_MANAGER -> {
        String text = text(format, params);
        if (text.startsWith("failed to get lease")) {
          if (due("singleton-lease")) {
            peerLog.warn("a singleton's lease was not acquired in time ({}): the store answers slowly (a loaded "
                + "machine?); it is retried: if it repeats, check the store with ./scripts/status.sh", cause(t));
          }
          return FilterReply.DENY;
        }
      }
      case MATERIALIZER -> {
        String text = text(format, params);
        if (text.contains("outbound connection to") && (text.contains("Connection refused")
            || text.contains("connection has been aborted"))) {
          if (due("refused " + peer(text))) {
            peerLog.info("peer {} does not accept connections: expected while it starts, restarts or stops; if it "
                + "lasts, see ./scripts/status.sh and its log", peer(text));
          }
          return FilterReply.DENY;
        }
      }
      case ASSOCIATION -> {
        String text = text(format, params);
        if (text.contains("HandshakeTimeoutException")) {
          if (due("handshake " + peer(text))) {
            peerLog.warn("peer {} did not answer the cluster handshake in time (starting, overloaded or gone); it is "
                + "retried: if it lasts, check ./scripts/status.sh and the machine's load", peer(text));
          }
          return FilterReply.DENY;
        }
      }
      case FAILURE_DETECTOR -> {
        String text = text(format, params);
        if (text.contains("heartbeat interval is growing too large")) {
          if (due("heartbeat " + peer(text))) {
            peerLog.warn("heartbeats from {} come late ({}): this machine or that core is overloaded or paused (GC, "
                + "CPU); check the load (uptime) and JAVA_OPTS; a failover follows if the peer stays silent",
                peer(text), text.replaceAll(".*: ", ""));
          }
          return FilterReply.DENY;
        }
      }
      case STORE_BACKEND -> {
        if (text(format, params).startsWith("unknown query: {\"hello\"")) {
          return FilterReply.DENY;
        }
      }
      default -> {
        return FilterReply.NEUTRAL;
      }
    }
    return FilterReply.NEUTRAL;
  }

  private boolean due(String key) {
    long now = System.currentTimeMillis();
    Long last = lastNote.get(key);
    if (last == null || now - last >= NOTE_EVERY_MS) {
      lastNote.put(key, now);
      return true;
    }
    return false;
  }

  private static String cause(Throwable t) {
    Throwable c = t;
    while (c != null && c.getCause() != null && c.getCause() != c) {
      c = c.getCause();
    }
    return c == null ? "no cause given" : c.getClass().getSimpleName();
  }

  private static String peer(String text) {
    var m = PEER.matcher(text);
    return m.find() ? m.group(1) : "the other core";
  }

  private static String text(String format, Object[] params) {
    return params == null || params.length == 0 ? format
        : MessageFormatter.arrayFormat(format, params).getMessage();
  }
}
