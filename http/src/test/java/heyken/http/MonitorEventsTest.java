package heyken.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.typesafe.config.ConfigFactory;
import heyken.protocol.api.LogLine;
import heyken.protocol.api.MonitorViews;
import heyken.protocol.api.SystemStatus;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.ServerBinding;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import static org.apache.pekko.http.javadsl.server.Directives.pathPrefix;

/** GET /api/events over real HTTP on loopback, with the cluster replaced by sources the test controls. */
class MonitorEventsTest {

  private static final Duration WAIT = Duration.ofSeconds(10);
  private static ActorSystem<Void> system;

  private final FakeSources sources = new FakeSources();
  private ServerBinding binding;
  private final List<SseClient> clients = new ArrayList<>();

  @BeforeAll
  static void startSystem() {
    system = ActorSystem.create(Behaviors.empty(), "monitor-events-test", ConfigFactory.load());
  }

  @AfterAll
  static void stopSystem() {
    system.terminate();
  }

  @BeforeEach
  void bind() throws Exception {
    var settings = new MonitorEvents.Settings(Duration.ofMillis(50), Duration.ofMillis(50), Duration.ofMillis(50), 5,
        Duration.ofMillis(100), Duration.ofMillis(1000), 30);
    var events = new MonitorEvents(sources, settings);
    binding = Http.get(system).newServerAt("127.0.0.1", 0)
        .bind(ApiErrors.handled(pathPrefix("api", events::route))).toCompletableFuture().get();
  }

  @AfterEach
  void unbind() {
    clients.forEach(SseClient::close);
    binding.unbind();
  }

  private SseClient open(String query) {
    var c = new SseClient(URI.create("http://127.0.0.1:" + binding.localAddress().getPort() + "/api/events" + query));
    clients.add(c);
    return c;
  }

  private static JsonNode json(SseClient.Event e) throws Exception {
    return Json.MAPPER.readTree(e.data());
  }

  @Test
  void theFirstEventSaysWhichCoreAnswersAndHowSoonToReconnect() throws Exception {
    var client = open("");
    var response = client.response();
    assertEquals(200, response.statusCode());
    assertTrue(response.headers().firstValue("Content-Type").orElse("").startsWith("text/event-stream"));
    var hello = client.next(WAIT);
    assertEquals("hello", hello.type());
    assertEquals(2, json(hello).get("served_by").asInt());
    assertEquals("1000", hello.retry(), "the browser is told to reconnect after a second");
  }

  @Test
  void theStatusGoesOutWhenItChangesNotEveryTick() throws Exception {
    var client = open("?logs=off");
    var first = json(client.next("status", WAIT));
    assertEquals(1, first.get("active_core").asInt());
    assertEquals(1, json(client.next("activations", WAIT)).get("activations").size());
    // only the uptimes move: no new status, while pings keep coming
    sources.status.set(status(1, 1, 42));
    for (int i = 0; i < 3; i++) {
      var e = client.next(WAIT);
      while (e.type().equals("members") || e.type().equals("features")) {
        e = client.next(WAIT);
      }
      assertEquals("ping", e.type(), "nothing but pings while nothing changed, got " + e);
    }
    int historyAsked = sources.historyCalls.get();
    // a switch: core 2 under epoch 2
    sources.history.set(new MonitorViews.EpochHistory(List.of(
        new MonitorViews.Activation(2, 2, 1, "planned switch from core 1", "2026-11-29T06:00:01Z"),
        new MonitorViews.Activation(1, 1, null, "first start", "2026-11-29T05:00:00Z"))));
    sources.status.set(status(2, 2, 43));
    var changed = json(client.next("status", WAIT));
    assertEquals(2, changed.get("active_core").asInt());
    var history = json(client.next("activations", WAIT));
    assertEquals("planned switch from core 1", history.get("activations").get(0).get("reason").asText());
    assertEquals(historyAsked + 1, sources.historyCalls.get(), "the history is read again only when the epoch moves");
  }

  @Test
  void membersAndFeaturesArriveAndChanges() throws Exception {
    var client = open("?logs=off");
    JsonNode members = null;
    JsonNode features = null;
    while (members == null || features == null) {
      var e = client.next(WAIT);
      if (e.type().equals("members")) {
        members = json(e);
      } else if (e.type().equals("features")) {
        features = json(e);
      }
    }
    assertEquals(2, members.get("members").size());
    assertEquals(0, features.get("total").asInt());
    sources.features.set(new MonitorViews.Features(List.of(new MonitorViews.FeatureSummary("1", "weather", "deployed",
        "weather", "abc", "abc", "2026-11-29T06:00:00Z", null)), 1));
    var next = json(client.next("features", WAIT));
    assertEquals("weather", next.get("features").get(0).get("name").asText());
  }

  @Test
  void everyLogLineArrivesOnceOldestFirstEvenWhenItReachesTheStoreLate() throws Exception {
    Instant t0 = Instant.parse("2026-11-29T06:00:00Z");
    sources.addLine("a", t0);
    sources.addLine("b", t0.plusMillis(10));
    var client = open("?logs=INFO");
    var seen = new ArrayList<String>();
    var first = json(client.next("logs", WAIT)).get("lines");
    first.forEach(l -> seen.add(l.get("id").asText()));
    assertEquals(List.of("a", "b"), seen);
    // core 2's batch lands after core 1's newer line: still shown, once
    sources.addLine("c", t0.plusMillis(500));
    sources.addLine("late", t0.plusMillis(300));
    long deadline = System.nanoTime() + WAIT.toNanos();
    while (seen.size() < 4 && System.nanoTime() < deadline) {
      json(client.next("logs", WAIT)).get("lines").forEach(l -> seen.add(l.get("id").asText()));
    }
    assertEquals(List.of("a", "b", "late", "c"), seen);
    // many more ticks: nothing is sent twice
    for (int i = 0; i < 5; i++) {
      client.next("ping", WAIT);
    }
    sources.addLine("d", t0.plusMillis(900));
    json(client.next("logs", WAIT)).get("lines").forEach(l -> seen.add(l.get("id").asText()));
    assertEquals(List.of("a", "b", "late", "c", "d"), seen);
    assertEquals("INFO", sources.levels.get(0));
  }

  @Test
  void aSourceThatFailsDoesNotEndTheStream() throws Exception {
    sources.failFeatures = true;
    sources.failLogs = true;
    var client = open("");
    client.next("status", WAIT);
    for (int i = 0; i < 3; i++) {
      client.next("ping", WAIT);
    }
    sources.failFeatures = false;
    assertEquals(0, json(client.next("features", WAIT)).get("total").asInt());
  }

  @Test
  void unknownParametersAndLevelsAreRefusedWithJson() throws Exception {
    var http = HttpClient.newHttpClient();
    for (String query : new String[] {"?logs=LOUD", "?level=INFO", "?logs=INFO%27%3B%20drop"}) {
      var r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + binding.localAddress().getPort()
          + "/api/events" + query)).build(), HttpResponse.BodyHandlers.ofString());
      assertEquals(400, r.statusCode(), query + ": " + r.body());
      assertEquals("invalid_parameter", Json.MAPPER.readTree(r.body()).get("error").asText());
    }
    var post = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + binding.localAddress().getPort()
        + "/api/events")).POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
    assertEquals(405, post.statusCode(), post.body());
  }

  @Test
  void logsOffAsksTheLogStoreNothing() throws Exception {
    var client = open("?logs=off");
    client.next("status", WAIT);
    for (int i = 0; i < 3; i++) {
      client.next("ping", WAIT);
    }
    assertEquals(0, sources.logCalls.get());
    assertNotEquals(0, sources.statusCalls.get());
  }

  // ---------------------------------------------------------------- fakes

  private static SystemStatus status(int active, long epoch, long uptime) {
    var cores = List.of(
        new SystemStatus.CoreStatus(1, "pekko://heyken@127.0.0.1:2551", "up", active == 1, 11L, uptime, "m1", "i1"),
        new SystemStatus.CoreStatus(2, "pekko://heyken@127.0.0.1:2552", "up", active == 2, 22L, uptime, "m2", "i2"));
    return new SystemStatus(active, epoch, "2026-11-29T06:00:00Z", "first start", 2, cores,
        List.of(new SystemStatus.ComponentStatus("store", "up", "answers")), 0, 0, true,
        new SystemStatus.LogCounts(0, 0, 0), null, null);
  }

  private static final class FakeSources implements MonitorEvents.Sources {
    final AtomicReference<SystemStatus> status = new AtomicReference<>(MonitorEventsTest.status(1, 1, 10));
    final AtomicReference<MonitorViews.EpochHistory> history = new AtomicReference<>(new MonitorViews.EpochHistory(
        List.of(new MonitorViews.Activation(1, 1, null, "first start", "2026-11-29T05:00:00Z"))));
    final AtomicReference<MonitorViews.Features> features =
        new AtomicReference<>(new MonitorViews.Features(List.of(), 0));
    final List<LogLine> lines = new CopyOnWriteArrayList<>();
    final List<String> levels = new CopyOnWriteArrayList<>();
    final AtomicInteger historyCalls = new AtomicInteger();
    final AtomicInteger logCalls = new AtomicInteger();
    final AtomicInteger statusCalls = new AtomicInteger();
    volatile boolean failFeatures;
    volatile boolean failLogs;

    void addLine(String id, Instant at) {
      lines.add(new LogLine(id, at.toString(), "INFO", 1, 1L, "test", "t", "main", "line " + id, null,
          new HashMap<>()));
    }

    @Override
    public int servedBy() {
      return 2;
    }

    @Override
    public CompletionStage<SystemStatus> status() {
      statusCalls.incrementAndGet();
      return CompletableFuture.completedFuture(status.get());
    }

    @Override
    public MonitorViews.Members members() {
      return new MonitorViews.Members(2, List.of(
          new MonitorViews.Member("pekko://heyken@127.0.0.1:2551", "up", true, List.of("core", "core-1"), true),
          new MonitorViews.Member("pekko://heyken@127.0.0.1:2552", "up", true, List.of("core", "core-2"), false)));
    }

    @Override
    public CompletionStage<MonitorViews.EpochHistory> history() {
      historyCalls.incrementAndGet();
      return CompletableFuture.completedFuture(history.get());
    }

    @Override
    public CompletionStage<MonitorViews.Features> features() {
      if (failFeatures) {
        return CompletableFuture.failedFuture(new IllegalStateException("catalog away"));
      }
      return CompletableFuture.completedFuture(features.get());
    }

    @Override
    public CompletionStage<List<LogLine>> logs(String level, Instant since, int limit) {
      logCalls.incrementAndGet();
      levels.add(level);
      if (failLogs) {
        throw new IllegalStateException("store away");
      }
      return CompletableFuture.completedFuture(lines.stream()
          .filter(l -> since == null || !Instant.parse(l.time()).isBefore(since))
          .sorted(Comparator.comparing((LogLine l) -> Instant.parse(l.time())).reversed())
          .limit(limit).toList());
    }
  }
}
