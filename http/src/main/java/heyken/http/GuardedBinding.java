package heyken.http;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.pekko.Done;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.Cancellable;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.headers.Connection;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.http.javadsl.settings.ServerSettings;
import org.apache.pekko.stream.KillSwitches;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.SharedKillSwitch;
import org.apache.pekko.stream.TLSProtocol;
import org.apache.pekko.stream.javadsl.BidiFlow;
import org.apache.pekko.stream.javadsl.Flow;
import org.apache.pekko.stream.javadsl.Keep;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.stream.javadsl.TLSPlacebo;
import org.apache.pekko.stream.javadsl.Tcp;
import org.apache.pekko.util.ByteString;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One HTTP port, served by pekko-http's server layer over connections this class accepts itself, so that no client
 * can hold the port with connections that never make a request (issue 16, finding 3: 1,100 connections trickling an
 * unfinished request head closed {@code :5021}, since pekko-http stops accepting at {@code max-connections} and its
 * idle timeout restarts with every header line).
 *
 * <p>A connection is <em>waiting</em> from when it opens, and again from the end of each response, until a complete
 * request head has arrived; it is <em>busy</em> while a request is in flight (its response streaming included).
 * <ul>
 *   <li>A connection waiting longer than {@link ConnectionLimits#requestHeadTimeout()} is closed: header lines that
 *       trickle in do not extend it.</li>
 *   <li>One client address holds at most {@link ConnectionLimits#maxPerAddress()} connections: a new one beyond that
 *       replaces the address's oldest waiting connection, and is refused (closed at once) only when every connection
 *       of that address is busy.</li>
 *   <li>When the port holds {@code pekko.http.server.max-connections} connections, its oldest waiting one is closed, so
 *       that a new client is always accepted; only when all of them are busy does accepting wait (as pekko-http
 *       does).</li>
 * </ul>
 * A connection that has just answered is not replaced within {@link #SETTLE} of its response, so that a response is
 * never cut while it is written, nor a new one before its first bytes were read (a burst of connections from one
 * client). {@link #terminate} is the graceful drain of {@code ServerBinding.terminate}: unbind,
 * close the waiting connections, let the busy ones finish their response (with {@code Connection: close}), close what
 * is left at the deadline.
 */
final class GuardedBinding {

  private static final Logger log = LoggerFactory.getLogger(GuardedBinding.class);
  static final Duration SETTLE = Duration.ofSeconds(1);
  private static final long REPORT_EVERY_NANOS = TimeUnit.SECONDS.toNanos(10);

  private final ActorSystem<?> system;
  private final Materializer materializer;
  private final ServerSettings serverSettings;
  private final ConnectionLimits limits;
  private final int maxConnections;
  private final Flow<HttpRequest, HttpResponse, NotUsed> routes;
  private final String label;
  private final Map<InetAddress, List<Conn>> byAddress = new HashMap<>();
  private final AtomicLong ids = new AtomicLong();
  private final CompletableFuture<Done> drained = new CompletableFuture<>();
  private int open;
  private boolean terminating;
  private Tcp.ServerBinding tcp;
  private Cancellable sweeper;
  // closed since the last report, and by whom
  private long headTimeouts;
  private long replaced;
  private long refused;
  private final Map<InetAddress, Long> closedBy = new HashMap<>();
  private long lastReport = System.nanoTime();

  /** One accepted connection; guarded by the binding's lock. */
  private static final class Conn {
    final long id;
    final InetAddress address;
    final SharedKillSwitch kill;
    volatile int inFlight; // written under the binding's lock, read without it for every chunk of bytes
    long waitingSince;
    long lastResponse = Long.MIN_VALUE;
    volatile boolean partialHead;
    boolean closing;
    boolean gone;

    Conn(long id, InetAddress address, long now) {
      this.id = id;
      this.address = address;
      this.kill = KillSwitches.shared("http-connection-" + id);
      this.waitingSince = now;
    }
  }

  private GuardedBinding(ActorSystem<?> system, Route route, String label, ConnectionLimits limits) {
    this.system = system;
    this.materializer = Materializer.matFromSystem(system);
    this.serverSettings = ServerSettings.create(system.classicSystem());
    this.limits = limits;
    this.maxConnections = serverSettings.getMaxConnections();
    this.routes = route.flow(system);
    this.label = label;
  }

  /** Binds {@code route} on {@code host:port}; fails as pekko-http's bind does when the port is taken. */
  static CompletionStage<GuardedBinding> bind(ActorSystem<?> system, String host, int port, Route route, String label,
      ConnectionLimits limits) {
    var binding = new GuardedBinding(system, route, label, limits);
    var settings = binding.serverSettings;
    // no idle timeout at the TCP level: the HTTP layer's own (pekko.http.server.idle-timeout) is added per connection
    var running = Tcp.get(system).bind(host, port, settings.getBacklog(), settings.getSocketOptions(), false,
            Optional.empty())
        .mapAsyncUnordered(binding.maxConnections, binding::serve)
        .toMat(Sink.ignore(), Keep.both())
        .run(binding.materializer);
    running.second().whenComplete((done, error) -> binding.stopSweeper());
    return running.first().thenApply(tcp -> {
      binding.started(tcp);
      return binding;
    });
  }

  InetSocketAddress localAddress() {
    return tcp.localAddress();
  }

  /** No new connections; the open ones stay until their client or the guards close them. */
  CompletionStage<Done> unbind() {
    return tcp.unbind().thenApply(v -> Done.getInstance());
  }

  /** Unbinds, then lets the requests in flight finish within {@code deadline}, then closes what is still open. */
  CompletionStage<Done> terminate(Duration deadline) {
    return unbind().thenCompose(v -> {
      synchronized (this) {
        terminating = true;
        for (var conn : all()) {
          if (conn.inFlight == 0) {
            close(conn);
          } else {
            conn.closing = true; // its response carries Connection: close, pekko-http closes after it
          }
        }
        completeDrainWhenEmpty();
      }
      system.scheduler().scheduleOnce(deadline, () -> {
        synchronized (this) {
          all().forEach(this::close);
          completeDrainWhenEmpty();
        }
      }, system.executionContext());
      return drained;
    });
  }

  private void started(Tcp.ServerBinding tcp) {
    this.tcp = tcp;
    long tick = Math.max(50, Math.min(1000, limits.requestHeadTimeout().toMillis() / 4));
    synchronized (this) {
      sweeper = system.scheduler().scheduleWithFixedDelay(Duration.ofMillis(tick), Duration.ofMillis(tick),
          this::sweep, system.executionContext());
    }
  }

  private synchronized void stopSweeper() {
    if (sweeper != null) {
      sweeper.cancel();
    }
  }

  // ---------------------------------------------------------------- one connection

  private CompletionStage<Done> serve(Tcp.IncomingConnection incoming) {
    InetSocketAddress remote = incoming.remoteAddress();
    var conn = new Conn(ids.incrementAndGet(), remote.getAddress(), System.nanoTime());
    if (!admit(conn)) {
      incoming.handleWith(Flow.fromSinkAndSource(Sink.<ByteString>cancelled(), Source.<ByteString>empty()), materializer);
      return CompletableFuture.completedFuture(Done.getInstance());
    }
    @SuppressWarnings({"unchecked", "rawtypes"})
    BidiFlow<TLSProtocol.SslTlsOutbound, ByteString, ByteString, TLSProtocol.SslTlsInbound, NotUsed> placebo =
        (BidiFlow) TLSPlacebo.getInstance();
    BidiFlow<HttpResponse, ByteString, ByteString, HttpRequest, NotUsed> http = Http.get(system)
        .serverLayer(serverSettings, Optional.of(remote), system.classicSystem().log())
        .atop(placebo);
    Flow<HttpRequest, HttpResponse, NotUsed> handler = Flow.of(HttpRequest.class)
        .map(request -> {
          requestStarted(conn);
          return request;
        })
        .via(routes)
        .map(response -> responding(conn, response));
    Flow<ByteString, ByteString, NotUsed> server = Flow.of(ByteString.class)
        .map(bytes -> {
          bytesArrived(conn);
          return bytes;
        })
        .via(http.reversed().join(handler));
    if (serverSettings.getTimeouts().idleTimeout() instanceof scala.concurrent.duration.FiniteDuration idle) {
      server = BidiFlow.<ByteString, ByteString>bidirectionalIdleTimeout(idle).join(server);
    }
    return incoming.handleWith(Flow.of(ByteString.class)
            .via(conn.kill.flow())
            .via(server)
            .via(conn.kill.flow())
            .watchTermination(Keep.right()), materializer)
        .exceptionally(e -> Done.getInstance()) // a reset, the idle timeout: the connection is over either way
        .whenComplete((done, error) -> gone(conn));
  }

  private synchronized void requestStarted(Conn conn) {
    conn.inFlight++;
    conn.partialHead = false;
  }

  private HttpResponse responding(Conn conn, HttpResponse response) {
    boolean closing;
    synchronized (this) {
      closing = conn.closing;
    }
    HttpResponse sent = closing ? response.addHeader(Connection.create("close")) : response;
    if (sent.entity().isStrict()) {
      responseDone(conn);
      return sent;
    }
    var entity = (org.apache.pekko.http.scaladsl.model.ResponseEntity) sent.entity();
    Flow<ByteString, ByteString, Object> watched = Flow.of(ByteString.class).watchTermination((mat, done) -> {
      done.whenComplete((d, e) -> responseDone(conn));
      return mat;
    });
    return sent.withEntity(entity.transformDataBytes(watched.asScala()));
  }

  private synchronized void responseDone(Conn conn) {
    conn.inFlight--;
    if (conn.inFlight == 0) {
      long now = System.nanoTime();
      conn.waitingSince = now;
      conn.lastResponse = now;
    }
  }

  private static void bytesArrived(Conn conn) {
    if (conn.inFlight == 0) {
      conn.partialHead = true; // part of a request head: a slow one is reported when the head timeout closes it
    }
  }

  // ---------------------------------------------------------------- the guards

  private synchronized boolean admit(Conn conn) {
    if (terminating) {
      return false;
    }
    var mine = byAddress.computeIfAbsent(conn.address, a -> new ArrayList<>());
    if (mine.size() >= limits.maxPerAddress()) {
      Conn victim = oldestWaiting(mine, conn.waitingSince);
      if (victim == null) {
        refused++;
        count(conn.address);
        report(conn.waitingSince);
        return false;
      }
      replaced++;
      count(victim.address);
      close(victim);
    }
    mine.add(conn);
    open++;
    if (open >= maxConnections) { // keep a slot free for the next client while any connection only waits
      Conn victim = oldestWaiting(all(), conn.waitingSince);
      if (victim != null && victim != conn) {
        replaced++;
        count(victim.address);
        close(victim);
      }
    }
    report(conn.waitingSince);
    return true;
  }

  /**
   * The connection to close for a new one: the one waiting longest among those that have sent part of a request head
   * (a client that trickles) or have waited {@link #SETTLE} (idle); never one within {@link #SETTLE} of its response, nor
   * a fresh one whose head has not been read yet.
   */
  private Conn oldestWaiting(List<Conn> candidates, long now) {
    long settle = SETTLE.toNanos();
    Conn oldest = null;
    for (var c : candidates) {
      boolean answered = c.lastResponse == Long.MIN_VALUE || now - c.lastResponse >= settle;
      boolean idleOrTrickling = c.partialHead || now - c.waitingSince >= settle;
      if (!c.gone && c.inFlight == 0 && answered && idleOrTrickling
          && (oldest == null || c.waitingSince < oldest.waitingSince)) {
        oldest = c;
      }
    }
    return oldest;
  }

  private void sweep() {
    long now = System.nanoTime();
    long bound = limits.requestHeadTimeout().toNanos();
    synchronized (this) {
      for (var conn : all()) {
        if (conn.inFlight == 0 && now - conn.waitingSince >= bound) {
          if (conn.partialHead) {
            headTimeouts++;
            count(conn.address);
          } else {
            log.debug("closing an idle HTTP connection port={} connection={} idle_ms={}", label, conn.id,
                (now - conn.waitingSince) / 1_000_000);
          }
          close(conn);
        }
      }
      report(now);
    }
  }

  /** Closes the connection at once (both directions); it leaves the counts now, its stream ends a moment later. */
  private void close(Conn conn) {
    if (conn.gone) {
      return;
    }
    forget(conn);
    conn.kill.shutdown();
  }

  private synchronized void gone(Conn conn) {
    forget(conn);
    completeDrainWhenEmpty();
  }

  private void forget(Conn conn) {
    if (conn.gone) {
      return;
    }
    conn.gone = true;
    open--;
    var mine = byAddress.get(conn.address);
    if (mine != null) {
      mine.remove(conn);
      if (mine.isEmpty()) {
        byAddress.remove(conn.address);
      }
    }
  }

  private List<Conn> all() {
    var list = new ArrayList<Conn>(open);
    byAddress.values().forEach(list::addAll);
    return list;
  }

  private void completeDrainWhenEmpty() {
    if (terminating && open == 0) {
      drained.complete(Done.getInstance());
    }
  }

  private void count(InetAddress address) {
    closedBy.merge(address, 1L, Long::sum);
  }

  /** At most one line per ten seconds, and only when the guards closed or refused a connection. */
  private void report(long now) {
    if (now - lastReport < REPORT_EVERY_NANOS) {
      return;
    }
    lastReport = now;
    if (headTimeouts + replaced + refused == 0) {
      return;
    }
    var busiest = closedBy.entrySet().stream().max(Map.Entry.comparingByValue()).orElseThrow();
    log.warn("port={} closed connections that held the port without a request: head_timeout={} replaced={} "
            + "refused={} busiest_address={} busiest_closed={} request_head_timeout_ms={} max_per_address={} "
            + "open={}; a client that trickles its request head or opens more connections than that is cut off. If it "
            + "is a legitimate client, raise HEYKEN_HTTP_REQUEST_HEAD_TIMEOUT or HEYKEN_HTTP_MAX_CONNECTIONS_PER_ADDRESS",
        label, headTimeouts, replaced, refused, busiest.getKey().getHostAddress(), busiest.getValue(),
        limits.requestHeadTimeout().toMillis(), limits.maxPerAddress(), open);
    headTimeouts = 0;
    replaced = 0;
    refused = 0;
    closedBy.clear();
  }
}
