package heyken.cores;

import static heyken.cores.ApiAssertions.assertError;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import heyken.testkit.HeykenProcesses;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpRequest;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Dynamic Docker services on the real engine, with both cores as separate JVMs: a busybox service is created and
 * labelled, survives {@code kill -9} of the active core (the survivor adopts the same container without restarting
 * it), a dead one comes back, and removing it leaves no container of this installation behind. Bad input through
 * real HTTP. The services join an internal bridge network of their own, made (and removed) by this test.
 */
class ServicesIT {

  private static final String NETWORK = "heyken-services-it-" + ProcessHandle.current().pid();
  private static HeykenProcesses heyken;
  private static String installation;

  @BeforeAll
  static void start() throws Exception {
    SandboxFixtures.requireDocker();
    docker("network", "create", "--internal", NETWORK);
    var jar = HeykenProcesses.itJar();
    heyken = new HeykenProcesses(jar, java.nio.file.Files.createTempDirectory("heyken-services-"))
        .withEnv("DOCKER_HOST", "unix:///var/run/docker.sock")
        .withEnv("HEYKEN_SANDBOX_BACKEND", "docker")
        .withEnv("HEYKEN_SERVICES_NETWORK", NETWORK);
    heyken.startStore();
    heyken.startCore(1);
    // one after the other: on a loaded machine a core-2 that finds no cluster for 10 s starts its own
    heyken.awaitStatus("core 1 active", Duration.ofSeconds(90), st -> st.path("active_core").asInt() == 1);
    heyken.startCore(2);
    heyken.awaitStatus("both cores up", Duration.ofSeconds(90), st -> st.path("healthy").asBoolean());
    var listing = heyken.get(heyken.port("sandbox"), "/api/services");
    assertEquals(200, listing.status(), listing.raw());
    installation = listing.body().path("installation_id").asText();
    assertTrue(installation.length() >= 16, listing.raw());
  }

  @AfterAll
  static void stop() throws Exception {
    try {
      SandboxFixtures.removeContainers(installation);
    } finally {
      if (heyken != null) {
        heyken.close();
      }
      docker("network", "rm", NETWORK);
    }
  }

  private static String body(String name, String extra) {
    return body(name, "test -n \\\"$GREETING\\\"", extra);
  }

  /** A busybox service that greets, then ticks once a second; healthy while {@code healthTest} succeeds. */
  private static String body(String name, String healthTest, String extra) {
    return "{\"name\":\"" + name + "\",\"image\":\"sandbox/busybox:1\",\"env\":{\"GREETING\":\"hello\"},"
        + "\"command\":[\"sh\",\"-c\",\"echo $GREETING from " + name + "; i=0; while true; do i=$((i+1)); "
        + "echo tick $i; sleep 1; done\"],"
        + "\"healthcheck\":{\"test\":[\"CMD\",\"sh\",\"-c\",\"" + healthTest + "\"],\"interval\":\"1s\","
        + "\"timeout\":\"2s\",\"retries\":1}" + extra + "}";
  }

  private static JsonNode awaitService(String name, String what, java.util.function.Predicate<JsonNode> accept) {
    JsonNode[] last = new JsonNode[1];
    int sandbox = heyken.port("sandbox");
    HeykenProcesses.await(name + " " + what, Duration.ofSeconds(60), () -> {
      var r = heyken.get(sandbox, "/api/services/" + name);
      last[0] = r.body();
      return r.status() == 200 && accept.test(r.body());
    });
    return last[0];
  }

  @Test
  void aServiceRunsLabelledSurvivesTheActiveCoresDeathAndLeavesNothingWhenRemoved() throws Exception {
    int sandbox = heyken.port("sandbox");
    var created = heyken.post(sandbox, "/api/services", body("it-web", ""), heyken.token());
    assertEquals(201, created.status(), created.raw());
    assertEquals("running", created.body().path("desired").asText(), created.raw());

    JsonNode running = awaitService("it-web", "running and healthy", s -> s.path("state").asText().equals("running")
        && s.path("health").asText().equals("healthy"));
    String containerId = running.path("container_id").asText();
    assertTrue(containerId.length() >= 12, running.toString());

    // docker ps shows it with its labels
    String ps = docker("ps", "--filter", "label=heyken.installation=" + installation, "--format",
        "{{.ID}} {{.Label \"heyken.service\"}} {{.Names}}");
    assertTrue(ps.contains(containerId.substring(0, 12) + " it-web heyken-it-web-"), ps);
    String startedAt = docker("inspect", "-f", "{{.State.StartedAt}}", containerId).trim();

    var logs = heyken.get(sandbox, "/api/services/it-web/logs?tail=1000");
    assertEquals(200, logs.status(), logs.raw());
    assertTrue(logs.raw().contains("hello from it-web"), logs.raw());
    assertFollowedLogsGrow(sandbox, "it-web");

    // the Component Registry knows it, with the health the Docker healthcheck reports
    int registry = heyken.port("registry");
    HeykenProcesses.await("service-it-web healthy in the registry", Duration.ofSeconds(60), () -> {
      var c = heyken.get(registry, "/api/components/service-it-web");
      return c.status() == 200 && c.body().path("health").asText().equals("up");
    });

    assertError(heyken.post(sandbox, "/api/services", body("it-web", ""), heyken.token()), 409, "service_exists");

    // kill -9 the active core: the survivor adopts the container, does not restart it
    int active = heyken.status().path("active_core").asInt();
    heyken.kill9(active);
    int survivor = active == 1 ? 2 : 1;
    heyken.awaitStatus("core " + survivor + " active", Duration.ofSeconds(60),
        s -> s.path("active_core").asInt() == survivor);
    // a second service reaching "running" proves the new active core's reconciler has made full passes
    var second = heyken.post(sandbox, "/api/services", body("it-second", "false", ""), heyken.token());
    assertEquals(201, second.status(), second.raw());
    awaitService("it-second", "running but unhealthy", s -> s.path("state").asText().equals("running")
        && s.path("health").asText().equals("unhealthy"));
    HeykenProcesses.await("service-it-second down in the registry", Duration.ofSeconds(60), () -> {
      var c = heyken.get(registry, "/api/components/service-it-second");
      return c.status() == 200 && c.body().path("health").asText().equals("down");
    });
    var adopted = awaitService("it-web", "still running", s -> s.path("state").asText().equals("running"));
    assertEquals(containerId, adopted.path("container_id").asText(), "the same container, adopted");
    assertEquals(startedAt, docker("inspect", "-f", "{{.State.StartedAt}}", containerId).trim(), "not restarted");
    assertEquals(1, docker("ps", "-aq", "--filter", "label=heyken.service=it-web", "--filter",
        "label=heyken.installation=" + installation).trim().lines().count(), "no duplicate");

    // a container that dies is started again (same container)
    docker("kill", containerId);
    var back = awaitService("it-web", "started again", s -> s.path("state").asText().equals("running")
        && !startedAt.equals(s.path("started_at").asText()));
    assertEquals(containerId, back.path("container_id").asText());

    // stop keeps the container (and its logs); start runs it again
    var stopped = heyken.post(sandbox, "/api/services/it-web/stop", "", heyken.token());
    assertEquals(200, stopped.status(), stopped.raw());
    awaitService("it-web", "stopped", s -> s.path("state").asText().equals("exited")
        && s.path("desired").asText().equals("stopped"));
    assertEquals(200, heyken.post(sandbox, "/api/services/it-web/start", "", heyken.token()).status());
    awaitService("it-web", "running again", s -> s.path("state").asText().equals("running"));
    assertEquals(200, heyken.post(sandbox, "/api/services/it-web/restart", "", heyken.token()).status());

    // removed: nothing of this installation is left, and the registry forgets it
    for (String name : List.of("it-web", "it-second")) {
      var removed = heyken.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + sandbox
          + "/api/services/" + name)).header("Authorization", "Bearer " + heyken.token()).DELETE());
      assertEquals(200, removed.status(), removed.raw());
      assertError(heyken.get(sandbox, "/api/services/" + name), 404, "unknown_service");
    }
    HeykenProcesses.await("no container of this installation left", Duration.ofSeconds(60), () ->
        docker("ps", "-aq", "--filter", "label=heyken.installation=" + installation).isBlank());
    HeykenProcesses.await("the registry forgot the service", Duration.ofSeconds(30), () ->
        heyken.get(registry, "/api/components/service-it-web").status() == 404);
  }

  @Test
  void theChatAddsListsAndRemovesAServiceEachAfterAYes() throws Exception {
    int monitor = heyken.port("monitor");
    int sandbox = heyken.port("sandbox");
    var ask = say(monitor, "service add it-chat sandbox/busybox:1 sleep 600");
    assertTrue(ask.startsWith("Confirm: add the Docker service it-chat from sandbox/busybox:1 running sleep 600"), ask);
    assertError(heyken.get(sandbox, "/api/services/it-chat"), 404, "unknown_service");
    var added = say(monitor, "yes");
    assertTrue(added.contains("Service it-chat added"), added);
    var running = awaitService("it-chat", "running", s -> s.path("state").asText().equals("running"));
    assertEquals("chat:web:operator", running.path("added_by").asText(), running.toString());
    var listed = say(monitor, "services");
    assertTrue(listed.contains("it-chat — running"), listed);
    assertTrue(say(monitor, "service remove it-chat").startsWith("Confirm: remove the Docker service it-chat"));
    assertTrue(say(monitor, "yes").contains("removed"));
    assertError(heyken.get(sandbox, "/api/services/it-chat"), 404, "unknown_service");
    HeykenProcesses.await("it-chat's container removed", Duration.ofSeconds(60), () ->
        docker("ps", "-aq", "--filter", "label=heyken.service=it-chat", "--filter",
            "label=heyken.installation=" + installation).isBlank());
    var refused = say(monitor, "service stop it-chat");
    assertTrue(refused.startsWith("Confirm:"), refused);
    var unknown = say(monitor, "yes");
    assertTrue(unknown.contains("no service named 'it-chat'"), unknown);
  }

  private static String say(int monitor, String text) {
    var r = heyken.post(monitor, "/api/chat", "{\"session\":\"services-it\",\"text\":\"" + text + "\"}",
        heyken.token());
    assertEquals(200, r.status(), r.raw());
    return r.body().path("answer").asText();
  }

  @Test
  void badInputIsA4xxThatSaysWhatToDo() throws Exception {
    int sandbox = heyken.port("sandbox");
    String token = heyken.token();
    for (String name : List.of("Bad", "-x", "a_b", "x".repeat(41), "../etc")) {
      assertError(heyken.post(sandbox, "/api/services", body(name, ""), token), 400, "invalid_name");
    }
    assertError(heyken.post(sandbox, "/api/services", "{\"name\":", token), 400, "malformed_json");
    assertError(heyken.post(sandbox, "/api/services", "{\"name\":\"x\",\"image\":\"sandbox/busybox:1\","
        + "\"ports\":\"8080:80\"}", token), 400, "malformed_json");
    assertError(heyken.post(sandbox, "/api/services", "{\"name\":\"x\",\"image\":\"sandbox/busybox:1\","
        + "\"unknown\":1}", token), 400, "malformed_json");
    var unknownImage = assertError(heyken.post(sandbox, "/api/services",
        "{\"name\":\"it-noimage\",\"image\":\"nosuch/image:1\"}", token), 400, "unknown_image");
    assertTrue(unknownImage.path("detail").asText().contains("docker load -i"), unknownImage.toString());
    assertTrue(unknownImage.path("detail").asText().contains("docker import"), unknownImage.toString());
    try (var taken = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
      var inUse = assertError(heyken.post(sandbox, "/api/services", body("it-port", ",\"ports\":[\""
          + taken.getLocalPort() + ":80\"]"), token), 409, "port_in_use");
      assertTrue(inUse.path("detail").asText().contains(String.valueOf(taken.getLocalPort())), inUse.toString());
    }
    assertError(heyken.post(sandbox, "/api/services", body("it-port", ",\"ports\":[\"99999:80\"]"), token), 400,
        "invalid_ports");
    assertError(heyken.post(sandbox, "/api/services", body("it-x", ",\"restart\":\"sometimes\""), token), 400,
        "invalid_restart");
    assertError(heyken.get(sandbox, "/api/services/nope"), 404, "unknown_service");
    assertError(heyken.get(sandbox, "/api/services/nope/logs"), 404, "unknown_service");
    assertError(heyken.post(sandbox, "/api/services/nope/stop", "", token), 404, "unknown_service");
    assertError(heyken.post(sandbox, "/api/services/nope/explode", "", token), 404, "not_found");
    assertError(heyken.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + sandbox + "/api/services/nope"))
        .header("Authorization", "Bearer " + token).DELETE()), 404, "unknown_service");
    assertError(heyken.get(sandbox, "/api/services/nope/logs?tail=abc"), 400, "invalid_parameter");
    assertError(heyken.post(sandbox, "/api/services", body("it-auth", ""), null), 401, "unauthorized");
    // none of that created anything
    var listing = heyken.get(sandbox, "/api/services");
    for (var s : listing.body().path("services")) {
      assertNotEquals("it-noimage", s.path("name").asText());
      assertNotEquals("it-port", s.path("name").asText());
    }
    assertNotNull(listing.body().path("installation_id").asText());
  }

  /** {@code follow=true} streams what the service prints after the request: ticks newer than the first one seen. */
  private static void assertFollowedLogsGrow(int port, String name) throws Exception {
    var client = java.net.http.HttpClient.newHttpClient();
    var response = client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/api/services/" + name
        + "/logs?tail=1&follow=true")).GET().build(), java.net.http.HttpResponse.BodyHandlers.ofInputStream());
    assertEquals(200, response.statusCode());
    var seen = new java.util.ArrayList<String>();
    var reader = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
      try (var lines = new java.io.BufferedReader(new java.io.InputStreamReader(response.body(),
          StandardCharsets.UTF_8))) {
        Integer first = null;
        for (String line = lines.readLine(); line != null; line = lines.readLine()) {
          synchronized (seen) {
            seen.add(line);
          }
          if (line.startsWith("tick ")) {
            int n = Integer.parseInt(line.substring(5).trim());
            if (first == null) {
              first = n;
            } else if (n >= first + 2) {
              return true;
            }
          }
        }
        return false;
      } catch (IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
    });
    try {
      assertTrue(reader.get(30, java.util.concurrent.TimeUnit.SECONDS), "the stream ended early: " + seen);
    } finally {
      response.body().close();
    }
  }

  /** The docker CLI (it comes with the engine); its output, or an AssertionError with it. */
  private static String docker(String... args) throws IOException, InterruptedException {
    return SandboxFixtures.docker(args);
  }
}
