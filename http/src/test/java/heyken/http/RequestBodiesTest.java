package heyken.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.typesafe.config.ConfigFactory;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.ServerBinding;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.http.javadsl.unmarshalling.Unmarshaller;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import static org.apache.pekko.http.javadsl.server.Directives.*;

/**
 * Oversized request bodies over real HTTP on loopback: the client that is still sending a 10 MB body reads the 413
 * every time (not a reset connection), the connection stays usable, and a client that waits for 100-continue is not
 * asked for the body at all.
 */
class RequestBodiesTest {

  private static ActorSystem<Void> system;
  private static ServerBinding binding;
  private static final HttpClient http = HttpClient.newHttpClient();

  @BeforeAll
  static void start() throws Exception {
    system = ActorSystem.create(Behaviors.empty(), "request-bodies-test", ConfigFactory.parseString(
        "pekko.http.server.parsing.max-content-length = 64k").withFallback(ConfigFactory.load()));
    Route routes = ApiErrors.handled(concat(
        path("small", () -> post(() -> RequestBodies.atMost(1024, () ->
            entity(Unmarshaller.entityToString(), s -> complete("read " + s.length()))))),
        path("default", () -> post(() -> RequestBodies.atMostDefault(() ->
            entity(Unmarshaller.entityToString(), s -> complete("read " + s.length())))))));
    binding = Http.get(system).newServerAt("127.0.0.1", 0).bind(routes).toCompletableFuture().get();
  }

  @AfterAll
  static void stop() {
    binding.unbind();
    system.terminate();
  }

  private static URI uri(String path) {
    return URI.create("http://127.0.0.1:" + binding.localAddress().getPort() + path);
  }

  private static HttpResponse<String> send(String path, HttpRequest.BodyPublisher body) throws Exception {
    return http.send(HttpRequest.newBuilder(uri(path)).POST(body).header("Content-Type", "text/plain").build(),
        HttpResponse.BodyHandlers.ofString());
  }

  private static void assertTooLarge(HttpResponse<String> r, long limit) throws Exception {
    assertEquals(413, r.statusCode(), r.body());
    JsonNode error = Json.MAPPER.readTree(r.body());
    assertEquals("payload_too_large", error.get("error").asText());
    assertTrue(error.get("detail").asText().contains(limit + " bytes"), r.body());
  }

  @Test
  void aClientStillSendingTenMegabytesReadsThe413EveryTime() throws Exception {
    String tenMegabytes = "x".repeat(10 << 20);
    for (int i = 0; i < 8; i++) {
      assertTooLarge(send("/small", HttpRequest.BodyPublishers.ofString(tenMegabytes)), 1024);
      assertTooLarge(send("/default", HttpRequest.BodyPublishers.ofString(tenMegabytes)), 64 << 10);
    }
    var fine = send("/small", HttpRequest.BodyPublishers.ofString("y".repeat(1000)));
    assertEquals(200, fine.statusCode());
    assertEquals("read 1000", fine.body());
    assertEquals("read 60000", send("/default", HttpRequest.BodyPublishers.ofString("z".repeat(60_000))).body());
  }

  @Test
  void aClientWaitingFor100ContinueGetsThe413WithoutSendingTheBody() throws Exception {
    try (Socket socket = new Socket("127.0.0.1", binding.localAddress().getPort())) {
      socket.setSoTimeout(10_000);
      OutputStream out = socket.getOutputStream();
      out.write(("POST /small HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/plain\r\n"
          + "Content-Length: 1000000000\r\nExpect: 100-continue\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
      out.flush();
      String head = readHead(socket.getInputStream());
      assertTrue(head.startsWith("HTTP/1.1 413"), head);
      assertTrue(!head.contains("100 Continue"), "the server asked for a body it does not want: " + head);
    }
  }

  @Test
  void aBodyOfUndeclaredLengthIsCutAtTheLimit() throws Exception {
    var chunked = HttpRequest.BodyPublishers.fromPublisher(
        HttpRequest.BodyPublishers.ofString("c".repeat(200_000)));
    assertTooLarge(send("/default", chunked), 64 << 10);
  }

  private static String readHead(InputStream in) throws Exception {
    var head = new ByteArrayOutputStream();
    int b;
    while ((b = in.read()) != -1) {
      head.write(b);
      String s = head.toString(StandardCharsets.US_ASCII);
      if (s.endsWith("\r\n\r\n") && !s.startsWith("HTTP/1.1 100")) {
        return s;
      }
    }
    return head.toString(StandardCharsets.US_ASCII);
  }
}
