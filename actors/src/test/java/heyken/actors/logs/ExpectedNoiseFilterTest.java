package heyken.actors.logs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Libraries' lines about expected conditions: left out, or said once with what to do; everything else unchanged. */
class ExpectedNoiseFilterTest {

  private LoggerContext context;
  private ListAppender<ILoggingEvent> lines;

  @BeforeEach
  void setUp() {
    context = new LoggerContext();
    var filter = new ExpectedNoiseFilter();
    filter.setContext(context);
    filter.start();
    context.addTurboFilter(filter);
    lines = new ListAppender<>();
    lines.setContext(context);
    lines.start();
    var root = context.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
    root.setLevel(Level.INFO);
    root.addAppender(lines);
  }

  private List<String> messages() {
    return lines.list.stream().map(e -> e.getLevel() + " " + e.getLoggerName() + " " + e.getFormattedMessage())
        .toList();
  }

  @Test
  void aPeerThatIsNotStartedYetIsOneInfoLineAMinute() {
    var artery = context.getLogger("org.apache.pekko.stream.Materializer");
    for (String stream : List.of("message", "control")) {
      artery.warn("[outbound connection to [pekko://heyken@127.0.0.1:2552], " + stream + " stream] Upstream failed, "
          + "cause: StreamTcpException: Tcp command [Connect(127.0.0.1/<unresolved>:2552)] failed because of "
          + "java.net.ConnectException: Connection refused");
    }
    var m = messages();
    assertEquals(1, m.size(), m.toString());
    assertTrue(m.get(0).startsWith("INFO heyken.cluster.peer peer pekko://heyken@127.0.0.1:2552 does not accept")
        && m.get(0).contains("expected while it starts"), m.get(0));
  }

  @Test
  void lateHeartbeatsAreAWarningWithWhatToCheck() {
    context.getLogger("org.apache.pekko.remote.PhiAccrualFailureDetector")
        .warn("heartbeat interval is growing too large for address pekko://heyken@127.0.0.1:2552: 3149 millis");
    var m = messages();
    assertEquals(1, m.size(), m.toString());
    assertTrue(m.get(0).startsWith("WARN heyken.cluster.peer heartbeats from pekko://heyken@127.0.0.1:2552 come late "
        + "(3149 millis)") && m.get(0).contains("check the load"), m.get(0));
  }

  @Test
  void theDriversHandshakeProbeOfTheEmbeddedStoreIsLeftOut() {
    var store = context.getLogger("de.bwaldvogel.mongo.backend.AbstractMongoDatabase");
    store.error("unknown query: {}", "{\"hello\" : 1, \"$db\" : \"heyken\"}");
    store.error("unknown query: {}", "{\"frobnicate\" : 1}");
    assertEquals(List.of("ERROR de.bwaldvogel.mongo.backend.AbstractMongoDatabase unknown query: {\"frobnicate\" : 1}"),
        messages());
  }

  @Test
  void aLeaseAcquiredLateIsOneWarningWithoutTheStackTrace() {
    var singleton = context.getLogger("org.apache.pekko.cluster.singleton.ClusterSingletonManager");
    var timeout = new RuntimeException(new java.util.concurrent.TimeoutException("2 s"));
    singleton.error("failed to get lease (will be retried)", timeout);
    singleton.error("failed to get lease (will be retried)", timeout);
    assertEquals(1, lines.list.size(), messages().toString());
    assertEquals(null, lines.list.get(0).getThrowableProxy());
    assertTrue(messages().get(0).contains("(TimeoutException)") && messages().get(0).contains("./scripts/status.sh"),
        messages().toString());
  }

  @Test
  void theClustersOwnDeadLettersAreLeftOutOthersAreNot() {
    var ref = context.getLogger("org.apache.pekko.actor.LocalActorRef");
    ref.info("Message [org.apache.pekko.cluster.InternalClusterAction$Welcome] from Actor[a] to Actor[b] was unhandled."
        + " [1] dead letters encountered.");
    ref.info("Message [heyken.actors.chat.ChatNews$Item] to Actor[b] was not delivered. [2] dead letters encountered.");
    var m = messages();
    assertEquals(1, m.size(), m.toString());
    assertTrue(m.get(0).contains("ChatNews$Item"), m.get(0));
  }

  @Test
  void everythingElsePassesUnchanged() {
    context.getLogger("org.apache.pekko.stream.Materializer").warn("[some stream] Upstream failed, cause: Boom");
    context.getLogger("heyken.actors.core.CoreManager").error("something broke: fix it");
    assertEquals(List.of("WARN org.apache.pekko.stream.Materializer [some stream] Upstream failed, cause: Boom",
        "ERROR heyken.actors.core.CoreManager something broke: fix it"), messages());
  }
}
