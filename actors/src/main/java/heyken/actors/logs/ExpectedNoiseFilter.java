package heyken.actors.logs;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.turbo.TurboFilter;
import ch.qos.logback.core.spi.FilterReply;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;
import org.slf4j.LoggerFactory;
import org.slf4j.Marker;

/**
 * Keeps libraries' lines about expected conditions out of the WARN/ERROR tail a user reads (logback.xml installs it):
 * <ul>
 *   <li>Artery's "outbound connection ... Connection refused" WARN while the peer core is not started yet (every cold
 *       start: core-1 starts first) or restarting after a crash: one INFO line per peer and minute instead, saying so;
 *   <li>the embedded store's ERROR "unknown query: {"hello" ...}": the MongoDB driver's first handshake, which the
 *       store does not know and the driver then repeats as isMaster.
 * </ul>
 * Anything else passes unchanged.
 */
public final class ExpectedNoiseFilter extends TurboFilter {

  private static final String MATERIALIZER = "org.apache.pekko.stream.Materializer";
  private static final String STORE_BACKEND = "de.bwaldvogel.mongo.backend.AbstractMongoDatabase";
  private static final Pattern PEER = Pattern.compile("outbound connection to \\[([^\\]]+)\\]");
  private static final long PEER_NOTE_EVERY_MS = 60_000;

  private final Map<String, Long> lastPeerNote = new ConcurrentHashMap<>();
  private final org.slf4j.Logger peerLog = LoggerFactory.getLogger("heyken.cluster.peer");

  @Override
  public FilterReply decide(Marker marker, Logger logger, Level level, String format, Object[] params, Throwable t) {
    if (format == null || level == null || !level.isGreaterOrEqual(Level.WARN)) {
      return FilterReply.NEUTRAL;
    }
    String name = logger.getName();
    if (name.equals(MATERIALIZER)) {
      String text = text(format, params);
      var peer = PEER.matcher(text);
      if (peer.find() && text.contains("Connection refused")) {
        notePeer(peer.group(1));
        return FilterReply.DENY;
      }
    } else if (name.equals(STORE_BACKEND) && text(format, params).startsWith("unknown query: {\"hello\"")) {
      return FilterReply.DENY;
    }
    return FilterReply.NEUTRAL;
  }

  private void notePeer(String address) {
    long now = System.currentTimeMillis();
    Long last = lastPeerNote.get(address);
    if (last == null || now - last >= PEER_NOTE_EVERY_MS) {
      lastPeerNote.put(address, now);
      peerLog.info("peer {} refuses connections: expected while it starts or restarts; if it lasts, see "
          + "./scripts/status.sh and its log", address);
    }
  }

  private static String text(String format, Object[] params) {
    if (params == null || params.length == 0) {
      return format;
    }
    var b = new StringBuilder(format);
    for (Object p : params) {
      b.append(' ').append(p);
    }
    return b.toString();
  }
}
