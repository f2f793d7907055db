package heyken.cores;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import heyken.testkit.HeykenProcesses;
import heyken.testkit.ollama.OllamaStandIn;
import heyken.testkit.ollama.ScriptedReply;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * The {@code ./heyken} command line run as a real process against store + two real cores with nothing external
 * configured (bubblewrap sandbox, no Rocket.Chat, Ollama absent until the chat test starts a stand-in): every command,
 * its {@code --json} and its documented exit codes, the README's quick start step by step, and the log tail a new user
 * sees afterwards (no dead letters, no stack traces for expected conditions, every WARN/ERROR says what to do).
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class CliIT {

  private static final Path ROOT = Path.of(System.getProperty("heyken.root", ".."));
  private static final Path CLI = ROOT.resolve("heyken");
  private static HeykenProcesses heyken;
  private static int ollamaPort;
  private static OllamaStandIn ollama;
  private static String greeter;

  record Result(int exit, String out, String err) {
    JsonNode json() {
      try {
        return HeykenProcesses.JSON.readTree(out);
      } catch (IOException e) {
        throw new AssertionError("stdout is not JSON: " + out + "\nstderr: " + err, e);
      }
    }

    String all() {
      return "exit " + exit + "\n--- stdout\n" + out + "\n--- stderr\n" + err;
    }
  }

  @BeforeAll
  static void start() throws Exception {
    assertTrue(Files.isExecutable(CLI), CLI + " is executable");
    ollamaPort = freePort();
    var dir = Files.createTempDirectory("heyken-cli-");
    // bubblewrap runs jobs as uid 65534: the directories above the data directory must let others pass
    Files.setPosixFilePermissions(dir, java.nio.file.attribute.PosixFilePermissions.fromString("rwx--x--x"));
    heyken = new HeykenProcesses(HeykenProcesses.itJar(), dir)
        .withEnv("OLLAMA_URL", "http://127.0.0.1:" + ollamaPort);
    heyken.startBothCores("both cores up and a sandbox", Duration.ofSeconds(180));
  }

  @AfterAll
  static void stop() {
    HeykenProcesses.closeAll(heyken, ollama);
  }

  private static int freePort() throws IOException {
    try (var s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }

  /** The installation as the CLI finds it: the ports and the token in the environment, no .env. */
  private static Map<String, String> env() {
    var env = new HashMap<String, String>();
    env.put("HEYKEN_ENV_FILE", heyken.dir().resolve("no.env").toString());
    env.put("HEYKEN_API_TOKEN", heyken.token());
    env.put("HEYKEN_REGISTRY_PORT", String.valueOf(heyken.port("registry")));
    env.put("HEYKEN_SANDBOX_PORT", String.valueOf(heyken.port("sandbox")));
    env.put("HEYKEN_LOGGER_PORT", String.valueOf(heyken.port("logger")));
    env.put("HEYKEN_MONITOR_PORT", String.valueOf(heyken.port("monitor")));
    env.put("HEYKEN_INSPECTION_PORT_OFFSET", "100");
    return env;
  }

  private static Result cli(String... args) {
    return cli(env(), null, args);
  }

  private static Process launch(Map<String, String> env, String... args) throws IOException {
    var command = new ArrayList<String>();
    command.add(CLI.toString());
    command.addAll(List.of(args));
    var pb = new ProcessBuilder(command).directory(ROOT.toFile());
    pb.environment().remove("HEYKEN_URL");
    pb.environment().putAll(env);
    return pb.start();
  }

  private static Result cli(Map<String, String> env, String stdin, String... args) {
    try {
      Process p = launch(env, args);
      var out = CompletableFuture.supplyAsync(() -> read(p.getInputStream()));
      var err = CompletableFuture.supplyAsync(() -> read(p.getErrorStream()));
      try (var in = p.getOutputStream()) {
        if (stdin != null) {
          in.write(stdin.getBytes(StandardCharsets.UTF_8));
        }
      }
      if (!p.waitFor(180, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        throw new AssertionError("heyken " + String.join(" ", args) + " did not end within 180 s");
      }
      return new Result(p.exitValue(), out.join(), err.join());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }

  private static String read(InputStream in) {
    try {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static void assertExit(int expected, Result r) {
    assertEquals(expected, r.exit(), r.all());
  }

  /** A 4xx from the API: exit 4, the API's error on stderr, and with --json the API's error body on stdout. */
  private static void assertRefused(String error, String... args) {
    var human = cli(args);
    assertExit(4, human);
    assertTrue(human.err().contains(error), human.all());
    assertFalse(human.err().contains("Traceback"), human.all());
    var withJson = new ArrayList<>(List.of(args));
    withJson.add("--json");
    var json = cli(withJson.toArray(String[]::new));
    assertExit(4, json);
    assertEquals(error, json.json().path("error").asText(), json.all());
    assertFalse(json.json().path("detail").asText().isBlank(), json.all());
  }

  // ---------------------------------------------------------------- the quick start

  @Test
  @Order(1)
  void statusIsHealthyAsTableAndJson() {
    var table = cli("status");
    assertExit(0, table);
    assertTrue(table.out().contains("healthy") && table.out().contains("core-1") && table.out().contains("sandbox"),
        table.all());
    var json = cli("status", "--json");
    assertExit(0, json);
    assertTrue(json.json().path("healthy").asBoolean(), json.all());
    assertEquals(0, json.json().path("problems").size(), json.all());
    assertEquals(2, json.json().path("cores").size(), json.all());
    // --url names the System Monitor when the environment does not
    var env = env();
    env.remove("HEYKEN_MONITOR_PORT");
    var byUrl = cli(env, null, "status", "--url", "http://127.0.0.1:" + heyken.port("monitor"), "--json");
    assertExit(0, byUrl);
    assertTrue(byUrl.json().path("healthy").asBoolean(), byUrl.all());
  }

  @Test
  @Order(2)
  void theQuickStartCreatesTestsDeploysAndInvokesTheGreeter() {
    var created = cli("feature", "create", "greeter", "--dir", "examples/greeter");
    assertExit(0, created);
    var m = Pattern.compile("Created feature (\\d+) \\(greeter\\): status ready").matcher(created.out());
    assertTrue(m.find(), created.all());
    greeter = m.group(1);
    assertTrue(created.out().contains("heyken feature test " + greeter + " --follow"), created.all());

    var tested = cli("feature", "test", greeter, "--follow");
    assertExit(0, tested);
    // the run's own output, streamed, then the result
    assertTrue(tested.out().contains("Ran 4 tests") && tested.out().contains("OK"), tested.all());
    assertTrue(tested.out().contains("passed (1 of 1 jobs passed)"), tested.all());
    assertTrue(tested.out().indexOf("Ran 4 tests") < tested.out().indexOf("passed (1 of 1"), tested.all());

    var deployed = cli("feature", "deploy", greeter);
    assertExit(0, deployed);
    assertTrue(deployed.out().contains("!greet answers now"), deployed.all());

    var invoked = cli("feature", "invoke", greeter, "Ada");
    assertExit(0, invoked);
    assertEquals("Hello, Ada!\n", invoked.out(), invoked.all());

    var chat = cli("chat", "--session", "cli-test", "!greet Ada");
    assertExit(0, chat);
    assertEquals("Hello, Ada!", chat.out().strip(), chat.all());
  }

  @Test
  @Order(3)
  void featuresListAndShowAsTableAndJson() {
    var list = cli("features");
    assertExit(0, list);
    assertTrue(list.out().matches("(?s)ID\\s+NAME\\s+STATUS.*\\n" + greeter + "\\s+greeter\\s+deployed\\s+!greet.*"),
        list.all());
    var json = cli("features", "list", "--json");
    assertExit(0, json);
    assertEquals("greeter", json.json().path("features").get(0).path("name").asText(), json.all());

    var show = cli("features", "show", greeter);
    assertExit(0, show);
    assertTrue(show.out().contains("REVISIONS") && show.out().contains("RUNS") && show.out().contains("deployed:"),
        show.all());
    var showJson = cli("--json", "features", "show", greeter);
    assertExit(0, showJson);
    assertEquals("deployed", showJson.json().path("status").asText(), showJson.all());
    assertEquals("passed", showJson.json().path("runs").get(0).path("status").asText(), showJson.all());
  }

  @Test
  @Order(4)
  void failingTestsEndWithExitOneAndTheirOutput(@org.junit.jupiter.api.io.TempDir Path dir) throws IOException {
    Files.writeString(dir.resolve("heyken.yml"), "name: broken\ndescription: fails\ncommand: broken\nrun: true\n");
    Files.writeString(dir.resolve(".gitlab-ci.yml"),
        "stages: [test]\nunit:\n  stage: test\n  script:\n    - echo checking the answer\n    - exit 3\n");
    var created = cli("--json", "feature", "create", "broken", "--dir", dir.toString());
    assertExit(0, created);
    String id = created.json().path("feature_id").asText();
    var tested = cli("feature", "test", id, "--follow");
    assertExit(1, tested);
    assertTrue(tested.out().contains("checking the answer") && tested.out().contains("failed"), tested.all());
    var json = cli("feature", "test", id, "--follow", "--json");
    assertExit(1, json);
    assertEquals("failed", json.json().path("status").asText(), json.all());
    assertEquals(3, json.json().path("jobs").get(0).path("exit_code").asInt(), json.all());
    // not deployable: the API's 409 is exit 4
    assertRefused("not_tested", "feature", "deploy", id);
  }

  @Test
  @Order(5)
  void unknownIdsAndBadInputAreRefusedWithExitFour() {
    assertRefused("unknown_feature", "features", "show", "999");
    assertRefused("unknown_feature", "feature", "test", "999", "--follow");
    assertRefused("unknown_feature", "feature", "deploy", "999");
    assertRefused("unknown_feature", "feature", "rollback", "999");
    assertRefused("unknown_feature", "audit", "--feature", "abc");
    assertRefused("invalid_time", "logs", "--since", "yesterday-ish");
    assertRefused("invalid_parameter", "audit", "--limit", "0");
    var noToken = new HashMap<>(env());
    noToken.put("HEYKEN_API_TOKEN", "wrong");
    var refused = cli(noToken, null, "feature", "deploy", greeter);
    assertExit(4, refused);
    assertTrue(refused.err().contains("401") && refused.err().contains("HEYKEN_API_TOKEN"), refused.all());
  }

  @Test
  @Order(6)
  void usageErrorsAreExitTwoAndEveryCommandHasHelp() {
    assertExit(2, cli("bogus"));
    assertExit(2, cli("feature"));
    assertExit(2, cli("feature", "create", "x"));
    assertExit(2, cli("feature", "create", "x", "--dir", "/nonexistent/dir"));
    assertExit(2, cli("switch", "3"));
    assertExit(2, cli("services", "add", "web"));
    var help = cli("--help");
    assertExit(0, help);
    for (String code : List.of("0 ", "1 ", "2 ", "3 ", "4 ", "5 ")) {
      assertTrue(help.out().contains("\n  " + code), "exit code " + code + "documented: " + help.out());
    }
    for (String[] command : List.of(new String[] {"status"}, new String[] {"features"}, new String[] {"features", "show"},
        new String[] {"feature", "create"}, new String[] {"feature", "test"}, new String[] {"feature", "deploy"},
        new String[] {"feature", "rollback"}, new String[] {"feature", "invoke"}, new String[] {"logs"},
        new String[] {"ask"}, new String[] {"chat"}, new String[] {"services"}, new String[] {"services", "logs"},
        new String[] {"services", "add"}, new String[] {"switch"}, new String[] {"audit"},
        new String[] {"upgrade"}, new String[] {"completion"})) {
      var args = new ArrayList<>(List.of(command));
      args.add("--help");
      var r = cli(args.toArray(String[]::new));
      assertExit(0, r);
      assertTrue(r.out().startsWith("usage: heyken " + String.join(" ", command)), r.all());
      assertTrue(r.out().contains("exit codes"), r.all());
    }
  }

  @Test
  @Order(7)
  void completionScriptsAreValidShell() throws Exception {
    var bash = cli("completion", "bash");
    assertExit(0, bash);
    assertTrue(bash.out().contains("complete -o default -F _heyken heyken"), bash.all());
    assertTrue(bash.out().contains("create") && bash.out().contains("--follow"), bash.all());
    var check = new ProcessBuilder("bash", "-c", "source /dev/stdin; COMP_WORDS=(heyken feature t); COMP_CWORD=2; "
        + "_heyken; echo \"${COMPREPLY[*]}\"").start();
    try (var in = check.getOutputStream()) {
      in.write(bash.out().getBytes(StandardCharsets.UTF_8));
    }
    assertTrue(check.waitFor(10, TimeUnit.SECONDS));
    assertEquals("test", read(check.getInputStream()).strip());
    var zsh = cli("completion", "zsh");
    assertExit(0, zsh);
    assertTrue(zsh.out().contains("bashcompinit"), zsh.all());
  }

  @Test
  @Order(8)
  void logsAskAndAuditAsTableAndJson() throws Exception {
    var logs = cli("logs", "--limit", "5", "--component", "access");
    assertExit(0, logs);
    assertEquals(5, logs.out().strip().lines().count(), logs.all());
    var json = cli("logs", "--limit", "3", "--json");
    assertExit(0, json);
    assertEquals(3, json.json().path("logs").size(), json.all());
    var run = cli("logs", "--feature", greeter, "--contains", "Ran 4 tests", "--json");
    assertExit(0, run);
    assertTrue(run.json().path("logs").size() >= 1, run.all());

    // --follow: the live tail sees a line written after it started
    String marker = "cli-follow-" + System.nanoTime();
    Process follow = launch(env(), "logs", "--follow", "--contains", marker);
    try {
      var out = CompletableFuture.supplyAsync(() -> {
        try {
          var reader = new java.io.BufferedReader(new java.io.InputStreamReader(follow.getInputStream(),
              StandardCharsets.UTF_8));
          return reader.readLine();
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
      });
      HeykenProcesses.await("the followed tail to show the marker", Duration.ofSeconds(60), () -> {
        // the access log stores the path of each request: a GET with the marker in it is a line containing it
        heyken.get(heyken.port("registry"), "/api/components/" + marker);
        return out.isDone() || out.get(1, TimeUnit.SECONDS) != null;
      });
      assertTrue(out.join().contains(marker), out.join());
    } finally {
      follow.destroy();
    }

    var ask = cli("ask", "warnings today");
    assertExit(0, ask);
    assertTrue(ask.out().contains("query (rules)"), ask.all());
    var askJson = cli("ask", "how many errors per component since yesterday", "--json");
    assertExit(0, askJson);
    assertEquals("component", askJson.json().path("query").path("group_by").asText(), askJson.all());
    assertRefused("not_understood", "ask", "purple elephants sing");

    var audit = cli("audit", "--limit", "5");
    assertExit(0, audit);
    assertTrue(audit.out().startsWith("AT") && audit.out().contains("CoreActivated"), audit.all());
    var auditJson = cli("audit", "--feature", greeter, "--json");
    assertExit(0, auditJson);
    assertTrue(auditJson.json().path("entries").toString().contains("Deployed"), auditJson.all());
  }

  /** This installation has no Docker engine (bubblewrap sandboxes): the services API says so, and the CLI too. */
  @Test
  @Order(9)
  void servicesWithoutAnEngineSayHowToStartOne() {
    for (String[] args : List.of(new String[] {"services"}, new String[] {"services", "add", "web", "--image", "sandbox/busybox:1", "--", "httpd", "-f"})) {
      var r = cli(args);
      assertExit(5, r);
      assertTrue(r.err().contains("engine_unavailable") && r.err().contains("scripts/docker-engine.sh"), r.all());
      assertFalse(r.err().contains("between active cores"), "no misleading hint: " + r.all());
    }
    var json = cli("services", "list", "--json");
    assertExit(5, json);
    assertEquals("engine_unavailable", json.json().path("error").asText(), json.all());
    // what the journal answers needs no engine
    assertRefused("unknown_service", "services", "show", "web");
    assertRefused("unknown_service", "services", "stop", "web");
  }

  /** Without a model the author loop stops at once: the CLI follows it, says why, and ends with exit 1. */
  @Test
  @Order(9)
  void aDescribedFeatureFollowsTheAuthorLoopUntilItStops() {
    var r = cli("feature", "create", "weather", "--describe", "tells the weather of a city");
    assertExit(1, r);
    assertTrue(r.out().contains("the language model writes it now") && r.out().contains("The author loop stopped:"),
        r.all());
    var json = cli("--json", "feature", "create", "weather2", "--describe", "tells the weather", "--no-wait");
    assertExit(0, json);
    assertEquals("authoring", json.json().path("status").asText(), json.all());
  }

  /** What a new user reads after the quick start: no dead letters, no stack traces, a hint in every WARN/ERROR. */
  @Test
  @Order(10)
  void theLogTailAfterTheQuickStartIsClean() throws IOException {
    var r = heyken.get(heyken.port("logger"), "/api/logs?limit=200&level=INFO");
    assertEquals(200, r.status(), r.raw());
    var problems = new ArrayList<String>();
    for (JsonNode line : r.body().path("logs")) {
      String logger = line.path("logger").asText();
      String message = line.path("message").asText();
      if (logger.equals("heyken.sandbox.output") || logger.equals("heyken.access")) {
        continue; // a feature's own output (stderr is WARN) and the access log are not Heyken's messages
      }
      if (message.contains("dead letters encountered") || message.contains("was not delivered")) {
        problems.add("dead letter: " + message);
      }
      String level = line.path("level").asText();
      if (level.equals("WARN") || level.equals("ERROR")) {
        if (!line.path("exception").isMissingNode() && !line.path("exception").isNull()) {
          problems.add("stack trace in " + level + " " + logger + ": " + message);
        }
        if (!LogHints.saysWhatToDo(message)) {
          problems.add("no hint in " + level + " " + logger + ": " + message);
        }
      }
    }
    for (String name : List.of("core-1", "core-2", "store")) {
      for (String line : Files.readAllLines(heyken.log(name))) {
        if (line.contains("dead letters encountered") || line.startsWith("\tat ")
            || line.matches(".* (WARN|ERROR) .*") && !LogHints.saysWhatToDo(line)) {
          problems.add(name + ".log: " + line);
        }
      }
    }
    assertTrue(problems.isEmpty(), String.join("\n", problems));
  }

  @Test
  @Order(11)
  void chatStreamsTheModelsAnswerAsItIsWritten() throws Exception {
    ollama = OllamaStandIn.start(ollamaPort);
    ollama.whenPromptContains("tell me a story").reply(ScriptedReply.text(
        "Once upon a time a core failed over and nobody noticed at all, the end.")
        .delayPerToken(Duration.ofMillis(150)));
    HeykenProcesses.await("the model to be seen as up", Duration.ofSeconds(60), () ->
        heyken.status().path("components").toString().contains("\"name\":\"ollama\",\"status\":\"up\""));

    // interactive: lines on stdin, answers on stdout; the first words come while the rest is being written
    Process p = launch(env(), "chat", "--session", "cli-stream");
    var firstBytes = new CompletableFuture<Long>();
    var out = CompletableFuture.supplyAsync(() -> {
      try {
        var all = new java.io.ByteArrayOutputStream();
        byte[] buf = new byte[256];
        int n;
        while ((n = p.getInputStream().read(buf)) > 0) {
          if (!firstBytes.isDone() && new String(all.toByteArray(), StandardCharsets.UTF_8).contains("Once") == false
              && new String(buf, 0, n, StandardCharsets.UTF_8).contains("Once")) {
            firstBytes.complete(System.nanoTime());
          }
          all.write(buf, 0, n);
        }
        return all.toString(StandardCharsets.UTF_8);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    });
    try (var in = p.getOutputStream()) {
      in.write("tell me a story\n".getBytes(StandardCharsets.UTF_8));
      in.flush();
      in.write("!greet Bob\n".getBytes(StandardCharsets.UTF_8));
    }
    assertTrue(p.waitFor(120, TimeUnit.SECONDS), "chat ended after stdin closed");
    long ended = System.nanoTime();
    String text = out.join();
    assertEquals(0, p.exitValue(), text + read(p.getErrorStream()));
    assertTrue(text.contains("Once upon a time a core failed over and nobody noticed at all, the end."), text);
    assertTrue(text.contains("Hello, Bob!"), text);
    assertTrue(firstBytes.isDone(), text);
    // ~15 tokens at 150 ms: the first words were printed well before the whole answer was there
    assertTrue(ended - firstBytes.get() > Duration.ofMillis(800).toNanos(),
        "streamed: first words " + (ended - firstBytes.get()) / 1_000_000 + " ms before the end");
  }

  // ---------------------------------------------------------------- switch, rollback, unreachable

  @Test
  @Order(12)
  void switchHandsOverAndRefusesTheActiveCore() {
    var switched = cli("switch", "2");
    assertExit(0, switched);
    assertTrue(switched.out().matches("(?s)core-2 is active \\(epoch \\d+\\), after [0-9.]+ s\\n"), switched.all());
    assertRefused("already_active", "switch", "2");
    var json = cli("status", "--json");
    assertEquals(2, json.json().path("active_core").asInt(), json.all());
    // the deployment moved with it: the greeter answers on the new active core
    var invoked = cli("feature", "invoke", greeter, "Grace");
    assertExit(0, invoked);
    assertEquals("Hello, Grace!\n", invoked.out(), invoked.all());
  }

  @Test
  @Order(13)
  void rollbackWithoutAnEarlierDeploymentIsRefused() {
    assertRefused("nothing_to_roll_back", "feature", "rollback", greeter);
  }

  @Test
  @Order(14)
  void noCoreAnsweringIsExitThreeWithWhatToDo() throws IOException {
    var env = env();
    int nothing = freePort();
    for (String api : List.of("REGISTRY", "SANDBOX", "LOGGER", "MONITOR")) {
      env.put("HEYKEN_" + api + "_PORT", String.valueOf(nothing));
    }
    env.put("HEYKEN_INSPECTION_PORT_OFFSET", "0");
    for (String[] args : List.of(new String[] {"status"}, new String[] {"features"},
        new String[] {"feature", "test", "1", "--follow"}, new String[] {"logs"}, new String[] {"--json", "status"})) {
      var r = cli(env, null, args);
      assertExit(3, r);
      assertTrue(r.err().contains("./scripts/run_heyken.sh"), r.all());
      assertFalse(r.err().contains("Traceback"), r.all());
    }
  }
}
