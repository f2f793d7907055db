package heyken.testkit.rocketchat;

import static org.junit.jupiter.api.Assertions.assertNotNull;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/** A raw DDP client over the JDK WebSocket for the stand-in's protocol tests: frames in a queue, nothing hidden. */
final class DdpTestClient implements AutoCloseable {

  static final ObjectMapper JSON = new ObjectMapper();

  final LinkedBlockingQueue<JsonNode> frames = new LinkedBlockingQueue<>();
  final CompletableFuture<Integer> closedByServer = new CompletableFuture<>();
  final CompletableFuture<Throwable> failed = new CompletableFuture<>();
  private final WebSocket ws;
  private final boolean answerPings;
  private CompletableFuture<WebSocket> sending = CompletableFuture.completedFuture(null);

  private DdpTestClient(String url, boolean answerPings) {
    this.answerPings = answerPings;
    this.ws = HttpClient.newHttpClient().newWebSocketBuilder().connectTimeout(Duration.ofSeconds(5))
        .buildAsync(URI.create(url), new WebSocket.Listener() {
          private final StringBuilder partial = new StringBuilder();

          @Override
          public CompletionStage<?> onText(WebSocket socket, CharSequence data, boolean last) {
            partial.append(data);
            if (last) {
              String text = partial.toString();
              partial.setLength(0);
              try {
                JsonNode frame = JSON.readTree(text);
                if (DdpTestClient.this.answerPings && "ping".equals(frame.path("msg").asText())) {
                  ObjectNode pong = JSON.createObjectNode().put("msg", "pong");
                  if (frame.has("id")) {
                    pong.set("id", frame.get("id"));
                  }
                  send(pong);
                } else {
                  frames.add(frame);
                }
              } catch (JsonProcessingException e) {
                failed.complete(e);
              }
            }
            socket.request(1);
            return null;
          }

          @Override
          public CompletionStage<?> onClose(WebSocket socket, int statusCode, String reason) {
            closedByServer.complete(statusCode);
            return null;
          }

          @Override
          public void onError(WebSocket socket, Throwable error) {
            failed.complete(error);
          }
        }).join();
  }

  /** Opens a socket that answers server pings by itself (so that slow tests are not closed by the heartbeat). */
  static DdpTestClient open(String url) {
    return new DdpTestClient(url, true);
  }

  /** Opens a socket that leaves server pings in the queue, for heartbeat tests. */
  static DdpTestClient openRaw(String url) {
    return new DdpTestClient(url, false);
  }

  synchronized void send(JsonNode frame) {
    String text;
    try {
      text = JSON.writeValueAsString(frame);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
    sending = sending.thenCompose(x -> ws.sendText(text, true));
  }

  void send(String frame) {
    try {
      send(JSON.readTree(frame));
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException(e);
    }
  }

  /** The next frame, failing the test after {@code timeout}. */
  JsonNode next(Duration timeout) throws InterruptedException {
    JsonNode f = frames.poll(timeout.toMillis(), TimeUnit.MILLISECONDS);
    assertNotNull(f, "no DDP frame within " + timeout);
    return f;
  }

  /** The first frame matching {@code p} (earlier ones are dropped), failing the test after {@code timeout}. */
  JsonNode await(Predicate<JsonNode> p, Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (true) {
      long left = deadline - System.nanoTime();
      JsonNode f = left <= 0 ? null : frames.poll(left, TimeUnit.NANOSECONDS);
      assertNotNull(f, "no matching DDP frame within " + timeout);
      if (p.test(f)) {
        return f;
      }
    }
  }

  /** {@code connect} → {@code connected}; returns the session id. */
  String connect() throws InterruptedException {
    send("{\"msg\":\"connect\",\"version\":\"1\",\"support\":[\"1\",\"pre2\",\"pre1\"]}");
    return await(f -> "connected".equals(f.path("msg").asText()), Duration.ofSeconds(5)).path("session").asText();
  }

  /** {@code login {resume}}; returns the {@code result} frame. */
  JsonNode resume(String token, String id) throws InterruptedException {
    ObjectNode m = JSON.createObjectNode().put("msg", "method").put("method", "login").put("id", id);
    m.putArray("params").addObject().put("resume", token);
    send(m);
    return await(f -> "result".equals(f.path("msg").asText()) && id.equals(f.path("id").asText()),
        Duration.ofSeconds(5));
  }

  /** {@code sub stream-room-messages [eventName, false]}; returns the {@code ready} or {@code nosub} frame. */
  JsonNode subscribe(String eventName, String id) throws InterruptedException {
    ObjectNode m = JSON.createObjectNode().put("msg", "sub").put("id", id).put("name", "stream-room-messages");
    m.putArray("params").add(eventName).add(false);
    send(m);
    return await(f -> ("ready".equals(f.path("msg").asText()) && f.path("subs").toString().contains(id))
        || ("nosub".equals(f.path("msg").asText()) && id.equals(f.path("id").asText())), Duration.ofSeconds(5));
  }

  /** The next {@code changed} event whose message has id {@code messageId}. */
  JsonNode changed(String messageId, Duration timeout) throws InterruptedException {
    return await(f -> "changed".equals(f.path("msg").asText())
        && messageId.equals(f.path("fields").path("args").path(0).path("_id").asText()), timeout);
  }

  void abort() {
    ws.abort();
  }

  @Override
  public void close() {
    ws.abort();
  }
}
