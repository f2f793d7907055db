package heyken.http;

import static org.apache.pekko.http.javadsl.server.Directives.complete;
import static org.apache.pekko.http.javadsl.server.Directives.completeWithFuture;
import static org.apache.pekko.http.javadsl.server.Directives.concat;
import static org.apache.pekko.http.javadsl.server.Directives.path;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Props;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.util.ByteString;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Issue 16, finding 3: clients that open connections and trickle an unfinished request head (slowloris) cannot close a
 * port. Real HTTP on loopback through {@link PortBinder}; the port's total is set to 32 connections
 * ({@code pekko.http.server.max-connections}, 1024 in production) so that a few dozen trickling connections would
 * hold all of it without the guards, the head bound to 2 s and the per-address bound to 8.
 */
class SlowClientsTest {

  private static final Duration HEAD_TIMEOUT = Duration.ofSeconds(2);
  private static final int PER_ADDRESS = 8;

  private ActorSystem<Void> system;
  private int port;
  private final CompletableFuture<HttpResponse> slowAnswer = new CompletableFuture<>();
  private final java.util.concurrent.atomic.AtomicInteger slowArrived = new java.util.concurrent.atomic.AtomicInteger();
  private final List<Socket> sockets = new ArrayList<>();

  @BeforeEach
  void bind() throws Exception {
    system = ActorSystem.create(Behaviors.empty(), "slow-clients", ConfigFactory.parseString(
        "pekko.http.server.max-connections = 32").withFallback(ConfigFactory.load()));
    port = freePort();
    var route = concat(
        path("status", () -> complete("ok")),
        path("slow", () -> completeWithFuture(CompletableFuture.runAsync(slowArrived::incrementAndGet)
            .thenCompose(v -> slowAnswer))),
        // a streamed answer that takes longer than the head bound: a request in flight is never cut
        path("stream", () -> complete(HttpResponse.create().withEntity(HttpEntities.create(
            ContentTypes.TEXT_PLAIN_UTF8, Source.range(1, 10)
                .throttle(1, Duration.ofMillis(300))
                .map(i -> ByteString.fromString("tick " + i + "\n")))))));
    ActorRef<PortBinder.Command> binder = system.systemActorOf(PortBinder.create("127.0.0.1", 0, 0,
        List.of(new PortBinder.Api("Monitor", port, route)), Duration.ofMillis(100), Duration.ofSeconds(2),
        new ConnectionLimits(HEAD_TIMEOUT, PER_ADDRESS)), "http", Props.empty());
    heyken.testkit.Await.until("port " + port + " bound", Duration.ofSeconds(10), () -> {
      try {
        return AskPattern.<PortBinder.Command, Map<Integer, String>>ask(binder, PortBinder.GetBound::new,
            Duration.ofSeconds(3), system.scheduler()).toCompletableFuture().get(5, TimeUnit.SECONDS)
            .containsKey(port);
      } catch (Exception e) {
        return false;
      }
    });
  }

  @AfterEach
  void stop() throws Exception {
    slowAnswer.complete(HttpResponse.create().withEntity("late"));
    for (var socket : sockets) {
      socket.close();
    }
    system.terminate();
    system.getWhenTerminated().toCompletableFuture().get(20, TimeUnit.SECONDS);
  }

  @Test
  void connectionsTricklingARequestHeadNeitherCloseThePortNorStayOpen() throws Exception {
    // more than the per-address bound and more than the whole port holds, all from the address the probe uses
    int count = 40;
    var opened = new ConcurrentHashMap<Socket, Long>();
    var closedAfter = new ConcurrentHashMap<Socket, Long>();
    var stop = new AtomicBoolean();
    for (int i = 0; i < count; i++) {
      var socket = connect("127.0.0.1");
      socket.getOutputStream().write("GET /status HTTP/1.1\r\nHost: localhost\r\n".getBytes(StandardCharsets.US_ASCII));
      opened.put(socket, System.nanoTime());
    }
    var trickle = new Thread(() -> {
      int line = 0;
      while (!stop.get()) {
        line++;
        for (var socket : opened.keySet()) {
          if (!closedAfter.containsKey(socket) && closed(socket)) {
            closedAfter.put(socket, System.nanoTime() - opened.get(socket));
          } else if (!closedAfter.containsKey(socket)) {
            try {
              socket.getOutputStream().write(("X-Line-" + line + ": still coming\r\n")
                  .getBytes(StandardCharsets.US_ASCII));
            } catch (IOException e) {
              closedAfter.putIfAbsent(socket, System.nanoTime() - opened.get(socket));
            }
          }
        }
        sleepQuietly(300);
      }
    }, "trickle");
    trickle.start();
    try {
      var keepAlive = connect("127.0.0.1");
      long until = System.nanoTime() + HEAD_TIMEOUT.multipliedBy(2).plusSeconds(1).toNanos();
      int probes = 0;
      while (System.nanoTime() < until || probes < 10) {
        long start = System.nanoTime();
        assertEquals("ok", freshRequest("127.0.0.1", "/status"), "a new client on the attacked port");
        assertTrue(System.nanoTime() - start < TimeUnit.SECONDS.toNanos(3), "GET /status took more than 3 s");
        assertEquals("ok", request(keepAlive, "/status", false), "a keep-alive client on the attacked port");
        probes++;
        Thread.sleep(200);
      }
      heyken.testkit.Await.until("every trickling connection closed", HEAD_TIMEOUT.plusSeconds(5),
          () -> closedAfter.size() == count);
    } finally {
      stop.set(true);
      trickle.join();
    }
    long bound = HEAD_TIMEOUT.plusSeconds(4).toNanos(); // the sweep runs every 500 ms; a loaded machine is slow
    closedAfter.forEach((socket, nanos) -> assertTrue(nanos < bound,
        "a trickling connection stayed open " + nanos / 1_000_000 + " ms (head bound " + HEAD_TIMEOUT + ")"));
  }

  @Test
  void theHeadBoundCountsFromTheOpeningNotFromTheLastHeaderLine() throws Exception {
    var socket = connect("127.0.0.1");
    long start = System.nanoTime();
    var out = socket.getOutputStream();
    out.write("GET /status HTTP/1.1\r\nHost: localhost\r\n".getBytes(StandardCharsets.US_ASCII));
    int line = 0;
    while (!closed(socket) && System.nanoTime() - start < HEAD_TIMEOUT.plusSeconds(8).toNanos()) {
      try {
        out.write(("X-Line-" + line++ + ": 1\r\n").getBytes(StandardCharsets.US_ASCII));
      } catch (IOException e) {
        break;
      }
      Thread.sleep(200);
    }
    long millis = (System.nanoTime() - start) / 1_000_000;
    assertTrue(closed(socket), "a header line every 200 ms kept the connection open " + millis + " ms");
    assertTrue(millis >= HEAD_TIMEOUT.toMillis() - 300, "closed after " + millis + " ms, before the head bound");
    assertTrue(millis < HEAD_TIMEOUT.toMillis() + 4000, "closed only after " + millis + " ms");
  }

  @Test
  void aKeepAliveClientAndAStreamedAnswerOutliveTheHeadBound() throws Exception {
    var keepAlive = connect("127.0.0.1");
    long first = System.nanoTime();
    for (int i = 0; i < 7; i++) { // one request every third of the head bound: 4 s on one connection
      assertEquals("ok", request(keepAlive, "/status", false), "request " + i + " on the keep-alive connection");
      Thread.sleep(HEAD_TIMEOUT.toMillis() / 3);
    }
    assertTrue(System.nanoTime() - first > HEAD_TIMEOUT.toNanos(), "the requests did not outlast the head bound");
    // a response that streams for longer than the head bound (3 s > 2 s) arrives whole
    var streamed = request(keepAlive, "/stream", false);
    assertTrue(streamed.contains("tick 1\n") && streamed.endsWith("tick 10\n"), streamed);
    // idle after its last response: closed after the head bound
    long idleSince = System.nanoTime();
    heyken.testkit.Await.until("the idle keep-alive connection closed", HEAD_TIMEOUT.plusSeconds(6),
        () -> closed(keepAlive));
    assertTrue(System.nanoTime() - idleSince >= HEAD_TIMEOUT.minusMillis(300).toNanos(), "closed before the bound");
  }

  @Test
  void anAddressWhoseConnectionsAreAllBusyIsRefusedWhileOtherAddressesAreServed() throws Exception {
    var busy = new ArrayList<Socket>();
    for (int i = 0; i < PER_ADDRESS; i++) {
      var socket = connect("127.0.0.1");
      socket.getOutputStream().write("GET /slow HTTP/1.1\r\nHost: localhost\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
      busy.add(socket);
    }
    heyken.testkit.Await.until("the slow requests in flight", Duration.ofSeconds(10),
        () -> slowArrived.get() == PER_ADDRESS);
    var ninth = connect("127.0.0.1");
    heyken.testkit.Await.until("the connection over the bound closed", Duration.ofSeconds(10), () -> closed(ninth));
    assertEquals("ok", freshRequest("127.0.0.2", "/status"), "another address is served meanwhile");
    slowAnswer.complete(HttpResponse.create().withEntity("late"));
    for (var socket : busy) {
      assertEquals("late", readResponse(socket.getInputStream()));
    }
    Thread.sleep(GuardedBinding.SETTLE.toMillis() + 200); // the answered connections may now be replaced
    assertEquals("ok", freshRequest("127.0.0.1", "/status"), "the address is served again");
  }

  // ---------------------------------------------------------------- raw HTTP/1.1 on sockets

  private Socket connect(String from) throws IOException {
    var socket = new Socket();
    sockets.add(socket);
    socket.bind(new InetSocketAddress(InetAddress.getByName(from), 0));
    socket.connect(new InetSocketAddress("127.0.0.1", port), 3000);
    socket.setSoTimeout(3000);
    return socket;
  }

  private String freshRequest(String from, String path) throws IOException {
    try (var socket = connect(from)) {
      return request(socket, path, true);
    }
  }

  private static String request(Socket socket, String path, boolean close) throws IOException {
    socket.getOutputStream().write(("GET " + path + " HTTP/1.1\r\nHost: localhost\r\n"
        + (close ? "Connection: close\r\n" : "") + "\r\n").getBytes(StandardCharsets.US_ASCII));
    return readResponse(socket.getInputStream());
  }

  /** The body of one response (Content-Length or chunked); fails on a status other than 200. */
  private static String readResponse(InputStream in) throws IOException {
    String status = line(in);
    assertTrue(status.startsWith("HTTP/1.1 200"), "status line: " + status);
    int length = -1;
    boolean chunked = false;
    for (String header = line(in); !header.isEmpty(); header = line(in)) {
      String lower = header.toLowerCase();
      if (lower.startsWith("content-length:")) {
        length = Integer.parseInt(lower.substring(15).trim());
      } else if (lower.startsWith("transfer-encoding:") && lower.contains("chunked")) {
        chunked = true;
      }
    }
    var body = new ByteArrayOutputStream();
    if (chunked) {
      for (int size = Integer.parseInt(line(in).split(";")[0].trim(), 16); size > 0;
          size = Integer.parseInt(line(in).split(";")[0].trim(), 16)) {
        body.write(in.readNBytes(size));
        line(in);
      }
      line(in);
    } else {
      body.write(in.readNBytes(length));
    }
    return body.toString(StandardCharsets.UTF_8);
  }

  private static String line(InputStream in) throws IOException {
    var text = new StringBuilder();
    for (int c = in.read(); c != '\n'; c = in.read()) {
      if (c < 0) {
        throw new IOException("connection closed by the server");
      }
      if (c != '\r') {
        text.append((char) c);
      }
    }
    return text.toString();
  }

  /** Whether the server closed the connection (end of stream or reset); waits at most 10 ms for a byte. */
  private static boolean closed(Socket socket) {
    try {
      socket.setSoTimeout(10);
      int read = socket.getInputStream().read();
      return read < 0;
    } catch (SocketTimeoutException stillOpen) {
      return false;
    } catch (IOException reset) {
      return true;
    } finally {
      try {
        socket.setSoTimeout(3000);
      } catch (IOException ignored) {
        // closed meanwhile
      }
    }
  }

  private static void sleepQuietly(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private static int freePort() throws IOException {
    try (var socket = new ServerSocket(0)) {
      return socket.getLocalPort();
    }
  }
}
