package heyken.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import heyken.actors.services.DesiredService;
import heyken.actors.services.ServiceAction;
import heyken.actors.services.ServiceApi;
import heyken.actors.services.ServiceEngine;
import heyken.actors.services.ServiceSettings;
import heyken.actors.services.ServiceSpec;
import heyken.actors.services.WantedServices;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.ServerBinding;
import org.apache.pekko.http.javadsl.server.Directives;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Over real HTTP on loopback: the env given to {@code POST /api/services} comes back from the answer, the list and the
 * service's view as names with {@code "<redacted>"}, never as values; the engine still gets the values.
 */
class ServiceRoutesRedactionTest {

  private static final String MARKER = "s3cr3t-MARKER-4711";
  private static final Map<String, DesiredService> WANTED = new ConcurrentHashMap<>();
  private static final Map<String, ServiceSpec> CREATED = new ConcurrentHashMap<>();
  private static ActorSystem<Void> system;
  private static ServerBinding binding;
  private static final HttpClient http = HttpClient.newHttpClient();

  /** The ledger in memory: what is added is wanted, and "created" at once with the engine below. */
  private static final WantedServices LEDGER = new WantedServices() {
    @Override
    public CompletionStage<Wanted> wanted() {
      return CompletableFuture.completedFuture(new Wanted("inst", Map.copyOf(WANTED), Map.of()));
    }

    @Override
    public CompletionStage<Change> add(ServiceSpec spec, String requestedBy) {
      var wanted = new DesiredService(spec, true, Instant.now(), requestedBy);
      WANTED.put(spec.name(), wanted);
      ENGINE.create(spec, "inst", "none");
      return CompletableFuture.completedFuture(new Change(wanted, null));
    }

    @Override
    public CompletionStage<Change> change(String name, ServiceAction action, String requestedBy) {
      return CompletableFuture.completedFuture(new Change(WANTED.get(name), null));
    }
  };

  /** The engine: remembers the specs it creates containers from and reports them running; the rest does nothing. */
  private static final ServiceEngine ENGINE = (ServiceEngine) java.lang.reflect.Proxy.newProxyInstance(
      ServiceEngine.class.getClassLoader(), new Class<?>[] {ServiceEngine.class}, (proxy, method, args) ->
          switch (method.getName()) {
            case "create" -> {
              var spec = (ServiceSpec) args[0];
              CREATED.put(spec.name(), spec);
              yield "c-" + spec.name();
            }
            case "list" -> CREATED.values().stream().map(s -> new ServiceEngine.Observed("c-" + s.name(), s.name(),
                s.hash(), "running", "none", null, "2026-01-01T00:00:00Z", 1)).toList();
            case "imageExists", "networkExists", "ensureNetwork" -> true;
            default -> null;
          });

  @BeforeAll
  static void start() throws Exception {
    system = ActorSystem.create(Behaviors.empty(), "service-routes-redaction",
        ConfigFactory.parseString("pekko.actor.provider = local").withFallback(ConfigFactory.load()));
    var settings = new ServiceSettings("none", "127.0.0.1", Duration.ofMillis(100), Duration.ofMillis(200),
        Duration.ofSeconds(1), Duration.ofSeconds(30), 1000, "unix:///nowhere", "http://127.0.0.1:5010");
    var api = new ServiceApi(LEDGER, ENGINE, settings, Runnable::run);
    var route = Directives.pathPrefix("api", () -> new ServiceRoutes(api).route());
    binding = Http.get(system).newServerAt("127.0.0.1", 0).bind(route).toCompletableFuture().get();
  }

  @AfterAll
  static void stop() {
    binding.unbind();
    system.terminate();
  }

  private static HttpResponse<String> send(HttpRequest.Builder request) throws Exception {
    return http.send(request.timeout(Duration.ofSeconds(30)).build(), HttpResponse.BodyHandlers.ofString());
  }

  private static URI uri(String path) {
    return URI.create("http://127.0.0.1:" + binding.localAddress().getPort() + path);
  }

  @Test
  void envValuesAreWriteOnly() throws Exception {
    var added = send(HttpRequest.newBuilder(uri("/api/services")).header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString("{\"name\":\"vault\",\"image\":\"sandbox/busybox:1\","
            + "\"env\":{\"API_TOKEN\":\"" + MARKER + "\",\"GREETING\":\"hello\"},\"command\":[\"sleep\",\"1000\"]}")));
    assertEquals(201, added.statusCode(), added.body());
    var list = send(HttpRequest.newBuilder(uri("/api/services")).GET());
    var one = send(HttpRequest.newBuilder(uri("/api/services/vault")).GET());
    for (var answer : List.of(added, list, one)) {
      assertFalse(answer.body().contains(MARKER), answer.body());
      assertFalse(answer.body().contains("hello"), answer.body());
      assertTrue(answer.body().contains("\"env\":{\"API_TOKEN\":\"<redacted>\",\"GREETING\":\"<redacted>\"}"),
          answer.body());
    }
    assertTrue(one.body().contains("\"state\":\"running\""), one.body());
    assertEquals(MARKER, CREATED.get("vault").env().get("API_TOKEN"), "the engine gets the value");
  }

  /** Beside the redaction, the other half of what a spec may not do: ask for the host, or publish beyond loopback. */
  @Test
  void aSpecAskingForTheHostIsRefusedBeforeAnythingIsCreated() throws Exception {
    for (String extra : List.of("\"privileged\":true", "\"network_mode\":\"host\"", "\"pid\":\"host\"",
        "\"volumes\":[\"/:/host\"]", "\"cap_add\":[\"SYS_ADMIN\"]")) {
      var r = send(HttpRequest.newBuilder(uri("/api/services")).header("Content-Type", "application/json")
          .POST(HttpRequest.BodyPublishers.ofString("{\"name\":\"root\",\"image\":\"sandbox/busybox:1\"," + extra
              + "}")));
      assertEquals(400, r.statusCode(), extra + " " + r.body());
      assertEquals("refused_option", Json.MAPPER.readTree(r.body()).path("error").asText(), r.body());
    }
    var everywhere = send(HttpRequest.newBuilder(uri("/api/services")).header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString("{\"name\":\"open\",\"image\":\"sandbox/busybox:1\","
            + "\"ports\":[\"0.0.0.0:8080:80\"]}")));
    assertEquals(400, everywhere.statusCode(), everywhere.body());
    assertTrue(everywhere.body().contains("HEYKEN_BIND_HOST"), everywhere.body());
    var unknown = send(HttpRequest.newBuilder(uri("/api/services")).header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString("{\"name\":\"x\",\"image\":\"sandbox/busybox:1\",\"colour\":1}")));
    assertEquals(400, unknown.statusCode(), unknown.body());
    assertEquals("malformed_json", Json.MAPPER.readTree(unknown.body()).path("error").asText(), unknown.body());
    assertFalse(CREATED.containsKey("root") || CREATED.containsKey("open") || CREATED.containsKey("x"));
  }
}
