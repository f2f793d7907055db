package heyken.cores;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import heyken.testkit.HeykenProcesses;
import heyken.testkit.HeykenProcesses.Response;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpRequest;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The documented ports over real HTTP on loopback, against a running installation (store + two cores):
 * what users do right, and every way they can get it wrong — always a JSON {"error","detail"}, never a 500.
 */
class HttpApiIT {

  private static HeykenProcesses heyken;

  @BeforeAll
  static void start() throws Exception {
    Path jar = HeykenProcesses.itJar();
    heyken = new HeykenProcesses(jar, Files.createTempDirectory("heyken-http-"));
    heyken.startBothCores("both cores up", Duration.ofSeconds(90));
  }

  @AfterAll
  static void stop() {
    heyken.close();
  }

  private int registry() {
    return heyken.port("registry");
  }

  private Response send(String method, int port, String path, String body, String token, String contentType) {
    var b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
        .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
    if (contentType != null) {
      b.header("Content-Type", contentType);
    }
    if (token != null) {
      b.header("Authorization", "Bearer " + token);
    }
    return heyken.send(b);
  }

  /** Every error: the status expected, a JSON body with error and detail, and no stack trace. */
  private static JsonNode assertError(Response r, int status, String error) {
    return ApiAssertions.assertError(r, status, error);
  }

  @Test
  void statusNamesTheActiveCoreBothCoresAndTheComponents() {
    JsonNode s = heyken.status();
    assertEquals(1, s.get("active_core").asInt());
    assertTrue(s.get("epoch").asLong() >= 1);
    assertEquals(2, s.get("cores").size());
    for (JsonNode core : s.get("cores")) {
      for (String field : new String[] {"id", "address", "status", "active", "pid", "uptime_s"}) {
        assertTrue(core.has(field), field + " in " + core);
      }
      assertEquals("up", core.get("status").asText());
    }
    var names = new java.util.HashMap<String, JsonNode>();
    s.get("components").forEach(c -> names.put(c.get("name").asText(), c));
    assertEquals("up", names.get("store").get("status").asText());
    assertEquals("down", names.get("docker").get("status").asText(), "no engine in this test");
    assertTrue(names.get("docker").get("detail").asText().contains("scripts/docker-engine.sh"));
    assertEquals("not_configured", names.get("rocketchat").get("status").asText());
    assertEquals("down", names.get("ollama").get("status").asText());
    assertTrue(names.get("ollama").get("detail").asText().contains("ollama serve"));
    // the standby answers the same route on its inspection port
    JsonNode fromStandby = heyken.statusFrom(2);
    assertEquals(2, fromStandby.get("served_by").asInt());
    assertEquals(1, fromStandby.get("active_core").asInt());
  }

  /** The active core's {@code heyken_jvm_threads_started_total} from {@code GET :5021/metrics}. */
  private long threadsStarted() {
    var r = send("GET", heyken.port("monitor"), "/metrics", null, null, null);
    assertEquals(200, r.status(), r.raw());
    return r.raw().lines().filter(l -> l.startsWith("heyken_jvm_threads_started_total "))
        .mapToLong(l -> (long) Double.parseDouble(l.substring(l.indexOf(' ') + 1).trim())).findFirst()
        .orElseThrow(() -> new AssertionError("no heyken_jvm_threads_started_total in /metrics"));
  }

  @Test
  void theStatusStartsNoThreadPerRequest() throws InterruptedException {
    // each look at the cluster has several async steps on Pekko's futures; with a common pool of one thread (a
    // 2-CPU machine's default) the JDK ran each on a new thread: ~5 threads per status
    long before = threadsStarted();
    int looks = 100;
    for (int i = 0; i < looks; i++) {
      var r = send("GET", heyken.port("monitor"), "/api/status", null, null, null);
      assertEquals(200, r.status(), r.raw());
      Thread.sleep(60); // past status-max-age: each request makes a new look
    }
    long started = threadsStarted() - before;
    assertTrue(started < looks / 2, started + " threads started for " + looks + " status requests");
  }

  @Test
  void theWebConsoleTalksToTheBot() {
    int monitor = heyken.port("monitor");
    var help = heyken.post(monitor, "/api/chat", "{\"session\":\"it\",\"text\":\"help\",\"message_id\":\"m-1\"}",
        heyken.token());
    assertEquals(200, help.status(), help.raw());
    assertEquals("web:it", help.body().get("room").asText());
    assertTrue(help.body().get("answer").asText().contains("feature create <name>: <description>"), help.raw());
    assertFalse(help.body().get("duplicate").asBoolean());
    // a retried request with the same message id is answered once
    var again = heyken.post(monitor, "/api/chat", "{\"session\":\"it\",\"text\":\"help\",\"message_id\":\"m-1\"}",
        heyken.token());
    assertTrue(again.body().get("duplicate").asBoolean(), again.raw());
    var status = heyken.post(monitor, "/api/chat", "{\"session\":\"it\",\"text\":\"status\"}", heyken.token());
    assertTrue(status.body().get("answer").asText().startsWith("Core 1 is active"), status.raw());
    // Ollama does not run here: free text gets the offline answer, not an error
    var question = heyken.post(monitor, "/api/chat", "{\"session\":\"it\",\"text\":\"how are you?\"}",
        heyken.token());
    assertEquals(200, question.status(), question.raw());
    assertTrue(question.body().get("answer").asText().startsWith("the language model is offline: start Ollama and "
        + "`ollama pull llama3`"), question.raw());
    var history = heyken.get(monitor, "/api/chat/it");
    assertEquals(200, history.status(), history.raw());
    // the history holds admin answers: without the token a reader gets a 401, not the turns
    assertError(send("GET", monitor, "/api/chat/it", null, null, null), 401, "unauthorized");
    assertEquals(3, history.body().get("turns").size(), history.raw());
    assertError(heyken.post(monitor, "/api/chat", "{\"session\":\"it\",\"text\":\"help\"}", null), 401,
        "unauthorized");
    assertError(heyken.post(monitor, "/api/chat", "{\"session\":\"../etc\",\"text\":\"help\"}", heyken.token()),
        400, "invalid_session");
    assertError(heyken.post(monitor, "/api/chat", "{\"session\":\"it\",\"text\":\"" + "x".repeat(5000) + "\"}",
        heyken.token()), 400, "text_too_long");
    assertError(heyken.post(monitor, "/api/chat", "{\"session\":\"it\"}", heyken.token()), 400, "missing_field");
  }

  @Test
  void clusterManagementAnswersOnEachCore() {
    for (String mgmt : new String[] {"mgmt1", "mgmt2"}) {
      int port = heyken.port(mgmt);
      assertEquals(200, heyken.get(port, "/alive").status());
      // readiness runs Pekko Management's checks with a 1 s deadline each: on a loaded 2-CPU machine a check can
      // miss it once; ready means it answers 200, not that the first try does
      HeykenProcesses.await("core ready on " + mgmt, Duration.ofSeconds(15),
          () -> heyken.get(port, "/ready").status() == 200);
      var members = heyken.get(port, "/cluster/members");
      assertEquals(200, members.status(), members.raw());
      assertEquals(2, members.body().get("members").size(), members.raw());
    }
  }

  @Test
  void aComponentCanBeRegisteredListedInspectedAndRemoved() {
    String body = "{\"name\":\"weather-api\",\"url\":\"http://127.0.0.1:" + heyken.port("monitor")
        + "\",\"health_url\":\"http://127.0.0.1:" + heyken.port("monitor") + "/api/status\",\"version\":\"1.2\"}";
    var created = heyken.post(registry(), "/api/components", body, heyken.token());
    assertEquals(201, created.status(), created.raw());
    assertEquals("weather-api", created.body().get("name").asText());
    HeykenProcesses.await("the health check to run", Duration.ofSeconds(30), () ->
        "up".equals(heyken.get(registry(), "/api/components/weather-api").body().path("health").asText()));
    var list = heyken.get(registry(), "/api/components");
    assertEquals(200, list.status());
    var names = new java.util.HashSet<String>();
    list.body().get("components").forEach(c -> names.add(c.get("name").asText()));
    assertTrue(names.containsAll(java.util.List.of("weather-api", "core-1", "core-2", "store")), names.toString());
    var deleted = send("DELETE", registry(), "/api/components/weather-api", null, heyken.token(), null);
    assertEquals(204, deleted.status(), deleted.raw());
    assertError(heyken.get(registry(), "/api/components/weather-api"), 404, "unknown_component");
  }

  @Test
  void anUnreachableHealthUrlIsShownDownWithTheReason() {
    var created = heyken.post(registry(), "/api/components",
        "{\"name\":\"gone\",\"url\":\"http://127.0.0.1:9/\",\"health_url\":\"http://127.0.0.1:9/health\"}", heyken.token());
    assertEquals(201, created.status(), created.raw());
    HeykenProcesses.await("the health check to fail", Duration.ofSeconds(30), () ->
        "down".equals(heyken.get(registry(), "/api/components/gone").body().path("health").asText()));
    assertTrue(heyken.get(registry(), "/api/components/gone").body().path("health_detail").asText().contains("failed"));
    // without the token: down, but not why (no port scanner for whoever reads the registry)
    var anonymous = send("GET", registry(), "/api/components/gone", null, null, null);
    assertEquals("down", anonymous.body().path("health").asText(), anonymous.raw());
    assertFalse(anonymous.raw().contains("failed"), anonymous.raw());
  }

  @Test
  void malformedJsonIsABadRequestThatSaysWhere() {
    var r = heyken.post(registry(), "/api/components", "{\"name\": \"x\", ", heyken.token());
    assertError(r, 400, "malformed_json");
    assertError(heyken.post(heyken.port("monitor"), "/api/cores/switch", "not json", heyken.token()), 400,
        "malformed_json");
    assertError(send("POST", registry(), "/api/components", "", heyken.token(), "application/json"), 400,
        "malformed_json");
  }

  @Test
  void wrongTypesAndUnknownFieldsAreBadRequests() {
    assertError(heyken.post(registry(), "/api/components", "{\"name\":5,\"url\":\"http://x/\"}", heyken.token()), 400,
        "malformed_json");
    assertError(heyken.post(heyken.port("monitor"), "/api/cores/switch", "{\"target_core\":\"2\"}", heyken.token()),
        400, "malformed_json");
    assertError(heyken.post(heyken.port("monitor"), "/api/cores/switch", "{\"target_core\":[2]}", heyken.token()),
        400, "malformed_json");
    assertError(heyken.post(registry(), "/api/components", "{\"name\":\"a\",\"url\":\"http://x/\",\"colour\":1}",
        heyken.token()), 400, "malformed_json");
    assertError(heyken.post(registry(), "/api/components", "[]", heyken.token()), 400, "malformed_json");
    assertError(send("POST", registry(), "/api/components", "name=a", heyken.token(),
        "application/x-www-form-urlencoded"), 415, "unsupported_content_type");
  }

  @Test
  void hostileNamesAndUrlsAreRefused() {
    for (String name : new String[] {"../../etc/passwd", "UPPER", "a b", "", "x".repeat(64), "-lead", "a/b",
        "\\u0000"}) {
      var r = heyken.post(registry(), "/api/components",
          "{\"name\":\"" + name + "\",\"url\":\"http://127.0.0.1/\"}", heyken.token());
      assertError(r, 400, "invalid_name");
    }
    for (String url : new String[] {"file:///etc/passwd", "javascript:alert(1)", "not a url", "http://",
        "http://x/" + "a".repeat(3000)}) {
      var r = heyken.post(registry(), "/api/components",
          "{\"name\":\"ok\",\"url\":" + HeykenProcesses.JSON.valueToTree(url) + "}", heyken.token());
      assertError(r, 400, "invalid_url");
    }
    assertError(heyken.get(registry(), "/api/components/" + URLEncoder.encode("../x", StandardCharsets.UTF_8)), 400,
        "invalid_name");
  }

  @Test
  void unknownNamesAndEndpointsAreNotFound() {
    assertError(heyken.get(registry(), "/api/components/no-such-thing"), 404, "unknown_component");
    assertError(send("DELETE", registry(), "/api/components/no-such-thing", null, heyken.token(), null), 404,
        "unknown_component");
    assertError(heyken.get(heyken.port("monitor"), "/api/nothing-here"), 404, "not_found");
    assertError(send("PUT", heyken.port("monitor"), "/api/status", "{}", heyken.token(), "application/json"), 405,
        "method_not_allowed");
  }

  @Test
  void changesNeedTheBearerTokenReadsDoNot() {
    String body = "{\"name\":\"needs-token\",\"url\":\"http://127.0.0.1/\"}";
    var missing = heyken.post(registry(), "/api/components", body, null);
    assertError(missing, 401, "unauthorized");
    assertError(heyken.post(registry(), "/api/components", body, "wrong-token"), 401, "unauthorized");
    assertError(heyken.post(heyken.port("monitor"), "/api/cores/switch", "{\"target_core\":2}", null), 401,
        "unauthorized");
    assertError(send("DELETE", registry(), "/api/components/core-1", null, null, null), 401, "unauthorized");
    assertEquals(200, heyken.get(registry(), "/api/components/core-1").status(), "the core is still registered");
    assertEquals(200, heyken.get(registry(), "/api/components").status());
  }

  @Test
  void aTenMegabyteBodyIsRefusedAsTooLarge() {
    String huge = "{\"name\":\"big\",\"url\":\"http://x/\",\"version\":\"" + "v".repeat(10 * 1024 * 1024) + "\"}";
    var r = heyken.post(registry(), "/api/components", huge, heyken.token());
    assertError(r, 413, "payload_too_large");
    assertEquals(200, heyken.get(registry(), "/api/components").status(), "the port still serves");
  }

  @Test
  void theSwitchRefusesTheActiveCoreAndNonexistentCores() {
    assertError(heyken.post(heyken.port("monitor"), "/api/cores/switch", "{\"target_core\":1}", heyken.token()), 409,
        "already_active");
    assertError(heyken.post(heyken.port("monitor"), "/api/cores/switch", "{\"target_core\":7}", heyken.token()), 400,
        "invalid_target");
    assertError(heyken.post(heyken.port("monitor"), "/api/cores/switch", "{}", heyken.token()), 400,
        "missing_target_core");
  }

  @Test
  void logQuestionsAreAnsweredByTheRulesWhileTheModelIsAway() {
    int logger = heyken.port("logger");
    String activation = "{\"question\": \"lines of component core containing 'is ACTIVE' in the last hour\"}";
    HeykenProcesses.await("the activation line in the store", Duration.ofSeconds(30), () ->
        heyken.post(logger, "/api/logs/query", activation, heyken.token()).body().path("rows").size() >= 1);
    var answer = heyken.post(logger, "/api/logs/query", activation, heyken.token());
    assertEquals(200, answer.status(), answer.raw());
    assertEquals("rules", answer.body().get("source").asText(), "Ollama is not running here");
    assertTrue(answer.body().get("note").asText().contains("unavailable"), answer.raw());
    assertEquals("is ACTIVE", answer.body().at("/query/text").asText());
    var counts = heyken.post(logger, "/api/logs/query", "{\"question\": \"how many lines per component in the last "
        + "hour\"}", heyken.token());
    assertEquals(200, counts.status(), counts.raw());
    assertTrue(counts.body().get("groups").size() >= 1, counts.raw());
    assertError(heyken.post(logger, "/api/logs/query", "{\"question\": \"'; db.dropDatabase()\"}", heyken.token()),
        422, "not_understood");
    assertError(heyken.post(logger, "/api/logs/query", "{\"question\": \"" + "x".repeat(100 * 1024) + "\"}",
        heyken.token()), 413, "payload_too_large");
    assertError(heyken.post(logger, "/api/logs/query", "{\"question\": 1}", heyken.token()), 400, "malformed_json");
    assertError(heyken.post(logger, "/api/logs/query", activation, null), 401, "unauthorized");
  }

  @Test
  void theLoggerApiReturnsStoredLinesOfBothCoresNewestFirstWithFilters() {
    int logger = heyken.port("logger");
    HeykenProcesses.await("lines of both cores in the store", Duration.ofSeconds(30), () -> {
      var one = heyken.get(logger, "/api/logs?core=1&limit=1").body().get("logs");
      var two = heyken.get(logger, "/api/logs?core=2&limit=1").body().get("logs");
      return one.size() == 1 && two.size() == 1;
    });
    var page = heyken.get(logger, "/api/logs?limit=10");
    assertEquals(200, page.status(), page.raw());
    JsonNode logs = page.body().get("logs");
    assertEquals(10, logs.size());
    for (int i = 1; i < logs.size(); i++) {
      assertTrue(Instant.parse(logs.get(i - 1).get("time").asText())
          .compareTo(Instant.parse(logs.get(i).get("time").asText())) >= 0, "newest first");
    }
    assertFalse(page.body().get("next").isNull(), "there is a next page");
    var next = heyken.get(logger, "/api/logs?limit=10&after=" + page.body().get("next").asText());
    assertEquals(200, next.status());
    assertTrue(Instant.parse(next.body().get("logs").get(0).get("time").asText())
        .compareTo(Instant.parse(logs.get(9).get("time").asText())) <= 0, "the next page continues");

    heyken.get(logger, "/api/logs?level=WARN&limit=50").body().get("logs").forEach(l ->
        assertTrue(l.get("level").asText().equals("WARN") || l.get("level").asText().equals("ERROR"), l.toString()));
    heyken.get(logger, "/api/logs?component=core&limit=50").body().get("logs").forEach(l ->
        assertEquals("core", l.get("component").asText()));
    var activation = heyken.get(logger, "/api/logs?component=core&contains=is%20ACTIVE&since=-1h").body().get("logs");
    assertTrue(activation.size() >= 1, "the activation is in the log store");
    assertEquals(0, heyken.get(logger, "/api/logs?until=2000-01-01").body().get("logs").size());
    assertEquals(200, heyken.get(logger, "/api/logs?limit=999999").status(), "an absurd limit is clamped");
    assertTrue(heyken.get(logger, "/api/logs?limit=999999").body().get("logs").size() <= 1000);
    assertEquals(0, heyken.get(logger, "/api/logs?contains=" + URLEncoder.encode(".*(a+)+$", StandardCharsets.UTF_8))
        .body().get("logs").size(), "text is matched literally, not as a pattern");

    assertError(heyken.get(logger, "/api/logs?limit=ten"), 400, "invalid_limit");
    assertError(heyken.get(logger, "/api/logs?severity=ERROR"), 400, "unknown_parameter");
    assertError(heyken.get(logger, "/api/logs?feature=" + URLEncoder.encode("1' OR '1'='1", StandardCharsets.UTF_8)),
        400, "invalid_feature");
    var counts = heyken.status().get("logs");
    assertTrue(counts.get("written").asLong() > 0, counts.toString());
    assertTrue(counts.get("dropped").asLong() >= 0 && counts.get("buffered").asLong() >= 0, counts.toString());
    assertError(heyken.get(logger, "/api/logs?limit=0"), 400, "invalid_limit");
    assertError(heyken.get(logger, "/api/logs?level=LOUD"), 400, "invalid_level");
    assertError(heyken.get(logger, "/api/logs?core=3"), 400, "invalid_core");
    assertError(heyken.get(logger, "/api/logs?since=yesterday-ish"), 400, "invalid_time");
    assertError(heyken.get(logger, "/api/logs?since=-1h&until=-2h"), 400, "invalid_range");
    assertError(heyken.get(logger, "/api/logs?after=garbage"), 400, "invalid_cursor");
    assertError(heyken.get(logger, "/api/logs?component=" + URLEncoder.encode("{$ne:1}", StandardCharsets.UTF_8)),
        400, "invalid_component");
  }
}
