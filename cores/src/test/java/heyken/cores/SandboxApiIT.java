package heyken.cores;

import static heyken.cores.SandboxFixtures.awaitRun;
import static heyken.cores.SandboxFixtures.createBody;
import static heyken.cores.SandboxFixtures.hello;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import heyken.testkit.HeykenProcesses;
import heyken.testkit.HeykenProcesses.Response;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The Sandbox Manager (:5010) over real HTTP against store + two cores, with the Docker backend: the seed's curl
 * examples, a feature's whole life, every kind of bad input, and hostile feature code that must stay contained.
 */
class SandboxApiIT {

  private static HeykenProcesses heyken;
  private static int sandbox;

  @BeforeAll
  static void start() throws Exception {
    heyken = SandboxFixtures.startWithDocker("heyken-sandbox-");
    sandbox = heyken.port("sandbox");
  }

  @AfterAll
  static void stop() {
    if (heyken != null) {
      heyken.close();
    }
  }

  private Response post(String path, String json) {
    return heyken.post(sandbox, path, json, heyken.token());
  }

  private static JsonNode assertError(Response r, int status, String error) {
    return ApiAssertions.assertError(r, status, error);
  }

  private String create(String name, Map<String, String> files) {
    var created = post("/api/features/create", createBody(name, files));
    assertEquals(201, created.status(), created.raw());
    return created.body().get("feature_id").asText();
  }

  private JsonNode testAndWait(String id) {
    var accepted = post("/api/features/test", "{\"feature_id\":\"" + id + "\"}");
    assertEquals(202, accepted.status(), accepted.raw());
    return awaitRun(heyken, sandbox, id, accepted.body().get("run_id").asText(), Duration.ofSeconds(90));
  }

  @Test
  void theSeedExamplesWorkAsWritten() {
    var created = post("/api/features/create", "{\"name\":\"nowa_funkcja\",\"description\":\"Opis nowej funkcji\"}");
    assertEquals(201, created.status(), created.raw());
    // a name and a description only: the language model writes it (self-development); none answers here, so the
    // author loop stops at once and says why, and the feature keeps its skeleton
    assertEquals("authoring", created.body().get("status").asText());
    String id = created.body().get("feature_id").asText();
    assertTrue(id.matches("[0-9]+"), id);
    HeykenProcesses.await("the author loop to stop", Duration.ofSeconds(60), () -> {
      var f = heyken.get(sandbox, "/api/features/" + id);
      return f.status() == 200 && f.body().path("authoring").path("state").asText().equals("failed");
    });
    var stopped = heyken.get(sandbox, "/api/features/" + id).body();
    assertEquals("failed", stopped.get("status").asText(), stopped.toString());
    assertTrue(stopped.at("/authoring/reason").asText().contains("not available"), stopped.toString());
    // a draft has a skeleton repository but no pipeline yet: testing it says so, deploying it is refused
    assertError(post("/api/features/test", "{\"feature_id\":\"" + id + "\"}"), 409, "not_testable");
    assertError(post("/api/features/deploy", "{\"feature_id\":\"" + id + "\",\"target_core\":1}"), 409,
        "not_tested");
    var view = heyken.get(sandbox, "/api/features/" + id);
    assertEquals(200, view.status(), view.raw());
    assertEquals("Opis nowej funkcji", view.body().get("description").asText());
    assertEquals(1, view.body().get("revisions").size());
  }

  @Test
  void aFeatureIsTestedDeployedInvokedRolledBackAndDeleted() throws Exception {
    String id = create("greeter", hello("greeter", "greet"));
    JsonNode run = testAndWait(id);
    assertEquals("passed", run.get("status").asText(), run.toString());
    JsonNode job = run.get("jobs").get(0);
    assertEquals("unit", job.get("name").asText());
    assertEquals("docker", job.get("backend").asText());
    assertEquals("sandbox/python:1", job.get("image").asText());
    assertEquals(0, job.get("exit_code").asInt());
    assertTrue(job.get("log_tail").asText().contains("hello test passed"), job.toString());

    var log = heyken.get(sandbox, "/api/features/" + id + "/runs/" + run.get("run_id").asText() + "/log");
    assertEquals(200, log.status());
    assertTrue(log.raw().contains("$ python3 test_main.py") && log.raw().contains("hello test passed"), log.raw());
    // the same output is in the log store, line by line, found by feature and run
    int logger = heyken.port("logger");
    String runLines = "/api/logs?feature=" + id + "&run=" + run.get("run_id").asText() + "&limit=200";
    HeykenProcesses.await("the run's output in the Logger API", Duration.ofSeconds(20), () ->
        heyken.get(logger, runLines).raw().contains("\"message\":\"hello test passed\""));
    heyken.get(logger, runLines).body().get("logs").forEach(l -> {
      assertEquals(id, l.get("mdc").get("feature").asText(), l.toString());
      assertEquals(run.get("run_id").asText(), l.get("mdc").get("run").asText(), l.toString());
    });

    // deploy goes to the active core only
    int active = heyken.status().get("active_core").asInt();
    int standby = active == 1 ? 2 : 1;
    assertError(post("/api/features/deploy", "{\"feature_id\":\"" + id + "\",\"target_core\":" + standby + "}"),
        409, "target_not_active");
    var deployed = post("/api/features/deploy", "{\"feature_id\":\"" + id + "\",\"target_core\":" + active + "}");
    assertEquals(200, deployed.status(), deployed.raw());
    String first = deployed.body().get("revision").asText();
    assertEquals(run.get("revision").asText(), first);
    assertEquals("greet", deployed.body().get("command").asText());

    var answer = post("/api/features/" + id + "/invoke", "{\"args\":\"Paris\"}");
    assertEquals(200, answer.status(), answer.raw());
    assertTrue(answer.body().get("ok").asBoolean(), answer.raw());
    assertEquals("Hello, Paris!\n", answer.body().get("output").asText());
    assertEquals(active, answer.body().get("core").asInt());
    // the standby does not execute deployed features
    assertError(heyken.post(heyken.inspectionPort("sandbox", standby), "/api/features/" + id + "/invoke",
        "{\"args\":\"x\"}", heyken.token()), 409, "not_active");

    assertError(post("/api/features/" + id + "/rollback", "{}"), 409, "nothing_to_roll_back");
    // a second revision: tested, deployed, then rolled back to the first
    var revised = post("/api/features/" + id + "/revisions", "{\"files\":{\"main.py\":"
        + HeykenProcesses.JSON.writeValueAsString(SandboxFixtures.HELLO_MAIN.replace("Hello", "Hello again")
            .replace("str(request", "str(request")) + ",\"test_main.py\":" + HeykenProcesses.JSON.writeValueAsString(
            SandboxFixtures.HELLO_TEST.replace("Hello, Paris", "Hello again, Paris")) + "},\"message\":\"again\"}");
    assertEquals(201, revised.status(), revised.raw());
    assertEquals("ready", revised.body().get("status").asText());
    assertError(post("/api/features/deploy", "{\"feature_id\":\"" + id + "\"}"), 409, "not_tested");
    assertEquals("passed", testAndWait(id).get("status").asText());
    assertEquals(200, post("/api/features/deploy", "{\"feature_id\":\"" + id + "\"}").status());
    assertEquals("Hello again, Paris!\n", post("/api/features/" + id + "/invoke", "{\"args\":\"Paris\"}").body()
        .get("output").asText());
    var back = post("/api/features/" + id + "/rollback", "{}");
    assertEquals(200, back.status(), back.raw());
    assertEquals(first, back.body().get("revision").asText());
    assertEquals("Hello, Paris!\n", post("/api/features/" + id + "/invoke", "{\"args\":\"Paris\"}").body()
        .get("output").asText());

    assertEquals(200, post("/api/features/" + id + "/undeploy", "{}").status());
    assertError(post("/api/features/" + id + "/invoke", "{\"args\":\"Paris\"}"), 409, "not_deployed");
    var deleted = heyken.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + sandbox + "/api/features/" + id))
        .header("Authorization", "Bearer " + heyken.token()).DELETE());
    assertEquals(200, deleted.status(), deleted.raw());
    assertError(heyken.get(sandbox, "/api/features/" + id), 404, "unknown_feature");
    // the name is free again
    create("greeter", hello("greeter", "greet"));
  }

  @Test
  void aFeatureCanComeFromAGitRepository(@org.junit.jupiter.api.io.TempDir Path source) throws Exception {
    // outside the installation's data directory: imports from there are refused (see below)
    try (var git = org.eclipse.jgit.api.Git.init().setDirectory(source.toFile()).setInitialBranch("trunk").call()) {
      for (var file : hello("imported", "imported").entrySet()) {
        Files.writeString(source.resolve(file.getKey()), file.getValue());
      }
      git.add().addFilepattern(".").call();
      git.commit().setMessage("hello from upstream").setAuthor("upstream", "upstream@example.org")
          .setCommitter("upstream", "upstream@example.org").setSign(false).call();
    }
    var created = post("/api/features/create", "{\"name\":\"imported\",\"description\":\"from git\",\"git_url\":"
        + HeykenProcesses.JSON.writeValueAsString(source.toUri().toString()) + "}");
    assertEquals(201, created.status(), created.raw());
    assertEquals("ready", created.body().get("status").asText());
    String id = created.body().get("feature_id").asText();
    var view = heyken.get(sandbox, "/api/features/" + id).body();
    assertEquals("hello from upstream", view.get("revisions").get(0).get("message").asText());
    assertEquals("passed", testAndWait(id).get("status").asText());

    String otherFeature = heyken.dir().resolve("git").resolve(id + ".git").toUri().toString();
    for (String url : new String[] {"ssh://git@example.org/x.git", "/etc", "ext::sh -c touch% /tmp/pwned",
        "file:///nonexistent/repo.git", otherFeature}) {
      var refused = post("/api/features/create", "{\"name\":\"imp" + Math.abs(url.hashCode())
          + "\",\"description\":\"d\",\"git_url\":" + HeykenProcesses.JSON.writeValueAsString(url) + "}");
      assertError(refused, 400, "git_import_failed");
    }
  }

  @Test
  void theRunLogIsStreamedWhileTheRunGoes() throws Exception {
    String ci = """
        stages: [test]
        slow:
          stage: test
          image: busybox
          script:
            - echo first-line
            - sleep 3
            - echo last-line
        """;
    String id = create("slowlog", Map.of(".gitlab-ci.yml", ci, "heyken.yml", "name: slowlog\nrun: echo hi\n"));
    var accepted = post("/api/features/test", "{\"feature_id\":\"" + id + "\"}");
    String runId = accepted.body().get("run_id").asText();
    var client = HttpClient.newHttpClient();
    var request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + sandbox + "/api/features/" + id + "/runs/"
        + runId + "/log")).timeout(Duration.ofSeconds(60)).build();
    long started = System.nanoTime();
    var response = client.send(request, HttpResponse.BodyHandlers.ofLines());
    assertEquals(200, response.statusCode());
    long firstLineAt = -1;
    var text = new StringBuilder();
    for (var it = response.body().iterator(); it.hasNext(); ) {
      String line = it.next();
      text.append(line).append('\n');
      if (line.contains("first-line") && firstLineAt < 0 && !line.contains("echo")) {
        firstLineAt = System.nanoTime();
      }
    }
    long endedAt = System.nanoTime();
    assertTrue(text.toString().contains("last-line"), text.toString());
    assertTrue(firstLineAt > 0, text.toString());
    // the first line arrived while the job was still sleeping, not with the rest at the end
    assertTrue(endedAt - firstLineAt > Duration.ofMillis(1500).toNanos(),
        "first line " + (firstLineAt - started) / 1_000_000 + " ms, end " + (endedAt - started) / 1_000_000 + " ms");
  }

  @Test
  void badInputGetsAClearError() throws Exception {
    for (String name : new String[] {"../etc", "a/b", "x;rm -rf /", "$(reboot)", "a b", "x".repeat(300), ""}) {
      var r = post("/api/features/create", "{\"name\":" + HeykenProcesses.JSON.writeValueAsString(name)
          + ",\"description\":\"d\"}");
      assertError(r, 400, "invalid_name");
    }
    create("unique_name", null);
    assertError(post("/api/features/create", "{\"name\":\"unique_name\",\"description\":\"d\"}"), 409,
        "duplicate_name");
    assertError(post("/api/features/create", "{\"name\":\"UNIQUE_NAME\",\"description\":\"d\"}"), 409,
        "duplicate_name");

    for (String path : new String[] {"/api/features/999999", "/api/features/999999/runs/999999-1",
        "/api/features/..%2F..%2Fetc", "/api/features/abc"}) {
      assertError(heyken.get(sandbox, path), 404, "unknown_feature");
    }
    assertError(post("/api/features/test", "{\"feature_id\":\"999999\"}"), 404, "unknown_feature");
    assertError(post("/api/features/deploy", "{\"feature_id\":\"999999\"}"), 404, "unknown_feature");
    assertError(post("/api/features/999999/invoke", "{}"), 404, "unknown_feature");
    assertError(post("/api/features/test", "{}"), 400, "missing_field");
    assertError(post("/api/features/test", "{\"feature_id\":123}"), 400, "malformed_json");
    assertError(post("/api/features/test", "{\"feature_id\":"), 400, "malformed_json");
    assertError(post("/api/features/deploy", "{\"feature_id\":\"1\",\"target_core\":3}"), 400, "invalid_target");

    // hostile paths and sizes in the code
    for (String path : new String[] {"../evil.py", "/etc/passwd", "a/../../b", ".git/config", "a\\\\b"}) {
      var r = post("/api/features/create", createBody("paths" + Math.abs(path.hashCode()), Map.of(path, "x")));
      assertError(r, 400, "invalid_files");
    }
    var big = post("/api/features/create", createBody("bigfile", Map.of("big.txt", "x".repeat(2 << 20))));
    assertError(big, 400, "invalid_files");
    var tooBig = post("/api/features/create", createBody("hugefile", Map.of("big.txt", "x".repeat(10 << 20))));
    assertError(tooBig, 413, "payload_too_large");

    // invalid YAML names the line
    var yaml = post("/api/features/create", createBody("badyaml", Map.of(".gitlab-ci.yml",
        "stages: [test]\nunit:\n  script: [\"echo\"\n  stage: test\n")));
    JsonNode error = assertError(yaml, 400, "invalid_yaml");
    assertTrue(error.get("detail").asText().contains("line"), error.toString());
    var manifest = post("/api/features/create", createBody("badmanifest", Map.of("heyken.yml", "run: [unclosed\n")));
    assertTrue(assertError(manifest, 400, "invalid_yaml").get("detail").asText().contains("line"));
    // nothing of a refused create is kept: the name is free
    create("badyaml", hello("badyaml", "badyaml"));

    // deploying a failed revision
    String failing = create("failing", Map.of("heyken.yml", "name: failing\nrun: echo hi\n", ".gitlab-ci.yml",
        "unit:\n  image: busybox\n  script:\n    - exit 3\n"));
    JsonNode run = testAndWait(failing);
    assertEquals("failed", run.get("status").asText());
    assertEquals(3, run.get("jobs").get(0).get("exit_code").asInt());
    assertError(post("/api/features/deploy", "{\"feature_id\":\"" + failing + "\"}"), 409, "not_tested");
    assertError(post("/api/features/test", "{\"feature_id\":\"" + failing + "\",\"revision\":\"zz\"}"), 400,
        "invalid_revision");
    assertError(post("/api/features/test", "{\"feature_id\":\"" + failing + "\",\"revision\":\"abcdef1\"}"), 404,
        "unknown_revision");
    assertError(heyken.post(sandbox, "/api/features/test", "{\"feature_id\":\"" + failing + "\"}", "wrong"), 401,
        "unauthorized");
  }

  @Test
  void hostileCodeIsContainedAndTheCoresKeepAnswering() throws Exception {
    Path secret = heyken.dir().resolve(".env");
    Files.writeString(secret, "HEYKEN_API_TOKEN=secret-" + heyken.token() + "\n");
    int monitor = heyken.port("monitor");
    String ci = """
        stages: [test]
        fork_bomb:
          image: busybox
          timeout: 10s
          script:
            - 'bomb() { bomb | bomb & }; bomb; sleep 30'
        endless_loop:
          image: busybox
          timeout: 3s
          script:
            - while true; do :; done
        two_gigabytes:
          image: python:3.11
          script:
            - python3 -c "b = b'x' * (2 * 1024 ** 3); print(len(b))"
        write_outside:
          image: busybox
          script:
            - echo pwned > /etc/heyken-pwned
        open_socket:
          image: python:3.11
          script:
            - python3 -c "import socket; socket.create_connection(('127.0.0.1', %d), 2); print('CONNECTED')"
        read_shadow:
          image: busybox
          script:
            - cat /etc/shadow
        read_env:
          image: busybox
          script:
            - cat %s
        """.formatted(monitor, secret);
    String id = create("hostile", Map.of(".gitlab-ci.yml", ci, "heyken.yml", "name: hostile\nrun: echo hi\n"));
    var accepted = post("/api/features/test", "{\"feature_id\":\"" + id + "\"}");
    assertEquals(202, accepted.status(), accepted.raw());
    String runId = accepted.body().get("run_id").asText();
    // while the hostile jobs run, both cores keep answering
    HeykenProcesses.await("the run to finish while the cores answer", Duration.ofSeconds(120), () -> {
      assertNotNull(heyken.status(), "the active core's monitor answers");
      assertNotNull(heyken.statusFrom(1));
      assertNotNull(heyken.statusFrom(2));
      var r = heyken.get(sandbox, "/api/features/" + id + "/runs/" + runId);
      return r.status() == 200 && !r.body().path("finished_at").isNull();
    });
    JsonNode run = heyken.get(sandbox, "/api/features/" + id + "/runs/" + runId).body();
    assertEquals("failed", run.get("status").asText(), run.toString());
    Map<String, JsonNode> jobs = new HashMap<>();
    run.get("jobs").forEach(j -> jobs.put(j.get("name").asText(), j));
    jobs.values().forEach(j -> assertEquals("failed", j.get("status").asText(), j.toString()));
    assertTrue(java.util.Set.of("pids", "timeout", "exit").contains(jobs.get("fork_bomb").get("reason").asText()),
        jobs.get("fork_bomb").toString());
    assertEquals("timeout", jobs.get("endless_loop").get("reason").asText(), jobs.get("endless_loop").toString());
    assertEquals("oom", jobs.get("two_gigabytes").get("reason").asText(), jobs.get("two_gigabytes").toString());
    for (String name : new String[] {"write_outside", "open_socket", "read_shadow", "read_env"}) {
      assertEquals("exit", jobs.get(name).get("reason").asText(), jobs.get(name).toString());
    }
    // the log echoes each script line ("$ python3 -c ...print('CONNECTED')"): only the program's own output counts
    String socketLog = jobs.get("open_socket").get("log_tail").asText();
    assertTrue(socketLog.lines().noneMatch("CONNECTED"::equals), socketLog);
    assertTrue(socketLog.contains("ConnectionRefusedError") || socketLog.contains("Network is unreachable")
        || socketLog.contains("OSError"), socketLog);
    String envLog = jobs.get("read_env").get("log_tail").asText();
    assertFalse(envLog.contains("secret-"), envLog);
    assertFalse(Files.exists(Path.of("/etc/heyken-pwned")));
    assertTrue(heyken.status().path("healthy").asBoolean(), heyken.status().toString());
  }
}
