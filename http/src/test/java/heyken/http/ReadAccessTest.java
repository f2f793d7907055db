package heyken.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import heyken.protocol.api.RegisteredComponent;
import heyken.protocol.api.SystemStatus;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.List;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.ServerBinding;
import org.apache.pekko.http.javadsl.server.Directives;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Who may read what, over real HTTP: a chat room's history needs the token on any address; on a core bound to a
 * non-loopback address every read but the health view and the dashboard's files needs it; the views a reader without
 * the token gets hold no pids, versions, addresses or probe details.
 */
class ReadAccessTest {

  private static final String TOKEN = "read-access-token-42";
  private static ActorSystem<Void> system;
  private static ServerBinding loopback;
  private static ServerBinding network;
  private static final HttpClient http = HttpClient.newHttpClient();

  @BeforeAll
  static void start() throws Exception {
    system = ActorSystem.create(Behaviors.empty(), "read-access-test", ConfigFactory.load());
    loopback = bind(new Auth(true, TOKEN, false));
    network = bind(new Auth(true, TOKEN, true));
  }

  /** The check in front of a route that serves every path: what passes is answered 200 with its path. */
  private static ServerBinding bind(Auth auth) throws Exception {
    return Http.get(system).newServerAt("127.0.0.1", 0).bind(ApiErrors.handled(auth.mutating(() ->
            Directives.extractUnmatchedPath(path -> Directives.complete("served " + path)))))
        .toCompletableFuture().get();
  }

  @AfterAll
  static void stop() {
    loopback.unbind();
    network.unbind();
    system.terminate();
  }

  private static HttpResponse<String> send(ServerBinding binding, String method, String path, String token)
      throws Exception {
    var b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + binding.localAddress().getPort() + path))
        .method(method, method.equals("GET") ? HttpRequest.BodyPublishers.noBody()
            : HttpRequest.BodyPublishers.ofString("{}"));
    if (token != null) {
      b.header("Authorization", "Bearer " + token);
    }
    return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  private static void assertRefused(HttpResponse<String> r) throws Exception {
    assertEquals(401, r.statusCode(), r.uri() + " " + r.body());
    var body = Json.MAPPER.readTree(r.body());
    assertEquals("unauthorized", body.path("error").asText(), r.body());
    assertTrue(body.path("detail").asText().contains("HEYKEN_API_TOKEN"), r.body());
    assertTrue(r.headers().firstValue("WWW-Authenticate").orElse("").startsWith("Bearer"), r.headers().toString());
  }

  @Test
  void aChatRoomsHistoryNeedsTheTokenEvenOnLoopback() throws Exception {
    for (var binding : List.of(loopback, network)) {
      assertRefused(send(binding, "GET", "/api/chat/me", null));
      assertRefused(send(binding, "GET", "/api/chat/me", "wrong"));
      var r = send(binding, "GET", "/api/chat/me", TOKEN);
      assertEquals(200, r.statusCode(), r.body());
      String refusal = send(binding, "GET", "/api/chat/me", null).body();
      assertTrue(refusal.contains("admin answers"), "the refusal says why: " + refusal);
    }
  }

  @Test
  void onLoopbackTheOtherReadsStayOpenAndWritesNeedTheToken() throws Exception {
    for (String path : List.of("/api/logs", "/api/audit", "/api/events", "/metrics", "/api/components",
        "/api/features/1/runs/1-1/log", "/api/status")) {
      assertEquals(200, send(loopback, "GET", path, null).statusCode(), path);
    }
    assertRefused(send(loopback, "POST", "/api/logs/query", null));
    assertRefused(send(loopback, "DELETE", "/api/components/x", "wrong"));
    assertEquals(200, send(loopback, "POST", "/api/logs/query", TOKEN).statusCode());
  }

  @Test
  void onANetworkAddressEveryReadButTheHealthViewAndTheDashboardNeedsTheToken() throws Exception {
    for (String path : List.of("/api/logs?limit=5", "/api/logs/stream", "/api/audit", "/api/events", "/metrics",
        "/api/components", "/api/features", "/api/features/1/runs/1-1/log", "/api/services/web/logs",
        "/api/metrics/history", "/api/upgrade")) {
      assertRefused(send(network, "GET", path, null));
      assertEquals(200, send(network, "GET", path, TOKEN).statusCode(), path);
    }
    for (String path : List.of("/api/status", "/", "/chat", "/static/dashboard.js")) {
      assertEquals(200, send(network, "GET", path, null).statusCode(), path);
    }
    assertRefused(send(network, "POST", "/api/features/create", null));
  }

  @Test
  void readsFollowTheBindAddressUnlessConfigured() {
    assertFalse(Auth.readsNeedToken(ConfigFactory.parseString("heyken.bind-host = \"127.0.0.1\"")));
    assertTrue(Auth.readsNeedToken(ConfigFactory.parseString("heyken.bind-host = \"0.0.0.0\"")));
    assertTrue(Auth.readsNeedToken(ConfigFactory.parseString(
        "heyken { bind-host = \"127.0.0.1\", auth.reads = token }")));
    assertThrows(IllegalArgumentException.class, () -> Auth.readsNeedToken(ConfigFactory.parseString(
        "heyken.auth.reads = sometimes")));
  }

  @Test
  void aNetworkAddressWithOpenReadsRefusesToStartAndTheClusterPortIsNamed() {
    var config = ConfigFactory.parseString(
        "heyken { bind-host = \"0.0.0.0\", auth { mode = on, api-token = \"t\", reads = open } }");
    var problem = Auth.startupProblem(config);
    assertTrue(problem.isPresent() && problem.get().contains("HEYKEN_AUTH_READS"), problem.toString());
    var fine = ConfigFactory.parseString("heyken { bind-host = \"0.0.0.0\", auth { mode = on, api-token = \"t\" } }");
    assertTrue(Auth.startupProblem(fine).isEmpty());
    var warning = Auth.exposureWarning(fine);
    assertTrue(warning.isPresent() && warning.get().contains("cluster ports"), warning.toString());
    assertTrue(Auth.exposureWarning(ConfigFactory.parseString("heyken.bind-host = \"127.0.0.1\"")).isEmpty());
  }

  @Test
  void theStatusWithoutTheTokenHoldsNoPidsVersionsAddressesOrProbeDetails() throws Exception {
    var full = new SystemStatus(1, 7, "2026-12-07T00:00:00Z", "failover", 1,
        List.of(new SystemStatus.CoreStatus(1, "pekko://heyken@10.0.0.1:2551", "Up", true, 4242L, 99L,
            "http://10.0.0.1:7626", "http://10.0.0.1:5121", true, null, null, "abc123 2026-12-06")),
        List.of(new SystemStatus.ComponentStatus("store", "up", "embedded store mongodb://127.0.0.1:27017 answers"),
            new SystemStatus.ComponentStatus("docker", "up", "Docker engine 26.1 at unix:///var/run/docker.sock")),
        0, 0, false, new SystemStatus.LogCounts(1, 0, 0), null, new SystemStatus.ThisCore(1, true, 7, "active"),
        null, List.of("the sandbox cannot run jobs: /data/work is not writable"));
    String text = Json.MAPPER.writeValueAsString(MonitorRoutes.withoutDetails(full));
    for (String secret : List.of("4242", "10.0.0.1", "abc123", "27017", "docker.sock", "/data/work", "26.1")) {
      assertFalse(text.contains(secret), "shows " + secret + ": " + text);
    }
    var reduced = Json.MAPPER.readTree(text);
    assertEquals(1, reduced.path("active_core").asInt());
    assertTrue(reduced.path("this_core").path("active").asBoolean());
    assertEquals("up", reduced.path("components").get(1).path("status").asText());
    assertFalse(reduced.path("healthy").asBoolean());
    assertEquals(1, reduced.path("problems").size());
  }

  @Test
  void aComponentsHealthDetailNeedsTheToken() {
    var c = new RegisteredComponent("probe", "http://127.0.0.1:9/", "tcp://127.0.0.1:5442", null, "t", "api", "down",
        "127.0.0.1:5442 does not accept connections: ConnectException: Connection refused", "t");
    var anonymous = RegistryRoutes.forReader(c, false);
    assertEquals("down", anonymous.health());
    assertEquals(RegistryRoutes.DETAIL_NEEDS_TOKEN, anonymous.healthDetail());
    assertEquals(c, RegistryRoutes.forReader(c, true));
    assertNull(RegistryRoutes.forReader(null, false));
  }
}
