package heyken.cores;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import heyken.testkit.HeykenProcesses;
import heyken.testkit.browser.HeadlessChromium;
import heyken.testkit.ollama.OllamaStandIn;
import heyken.testkit.ollama.ScriptedReply;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * The System Monitor's dashboard in headless Chromium against a real installation (store + two core JVMs, the Ollama
 * stand-in as the model, the Docker engine for the services): it loads, shows the active core, the console talks to
 * heyken_bot; a feature made from an uploaded folder is tested, deployed and rolled back with the feature page's
 * buttons (the token asked in the dialog, a wrong one refused) while the run's output streams; a feature made from a
 * description is written by the author loop; a service is added, followed and stopped on the services page; after a
 * planned switch the page reconnects by itself; a kill -9 of the active core while a run's output streams is
 * followed to the run's result; the plots are drawn from the real metrics. Screenshots go to cores/target/dashboard/.
 * Also the metrics and the access log of the real cores.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class DashboardIT {

  private static final Path ARTEFACTS = Path.of("target", "dashboard");
  private static final Duration PAGE = Duration.ofSeconds(30);
  private static final Duration RUN = Duration.ofSeconds(120);
  private static final String NETWORK = "heyken-dashboard-it-" + ProcessHandle.current().pid();
  private static final boolean DOCKER = Files.exists(Path.of("/var/run/docker.sock"));
  private static HeykenProcesses heyken;
  private static HeadlessChromium browser;
  private static DashboardPage page;
  private static OllamaStandIn ollama;
  private static String installation;

  @BeforeAll
  static void start() throws Exception {
    Files.createDirectories(ARTEFACTS);
    Path chromium = DashboardPage.chromium();
    ollama = OllamaStandIn.start();
    // the author loop's code model: one plan that passes its tests
    ollama.whenLastMessage("user", "Feature name: echoer").reply(ScriptedReply.json(SelfDevelopmentIT.plan(
        "An echo command", SelfDevelopmentIT.files("heyken.yml", SelfDevelopmentIT.manifest("echoer"),
            "main.py", "import json, sys\nprint('echo ' + (json.load(sys.stdin).get('args') or ''))\n",
            "test_main.py", "import subprocess\nout = subprocess.run(['python3', 'main.py'], input=b'{\"args\": \"hi\"}',"
                + " capture_output=True).stdout\nassert out == b'echo hi\\n', out\nprint('echoer test passed')\n"),
        "python3 test_main.py")));
    Path jar = HeykenProcesses.itJar();
    // the sandbox (bubblewrap, uid 65534) must be able to reach the job directories under the data dir
    heyken = new HeykenProcesses(jar, Files.createTempDirectory("heyken-dashboard-",
        PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwxr-xr-x"))))
        .withEnv("OLLAMA_URL", ollama.url())
        .withEnv("HEYKEN_METRICS_HISTORY_INTERVAL", "5s");
    if (DOCKER) {
      docker("network", "create", "--internal", NETWORK);
      heyken.withEnv("DOCKER_HOST", "unix:///var/run/docker.sock").withEnv("HEYKEN_SERVICES_NETWORK", NETWORK);
    }
    heyken.startStore();
    // core 1 first: on a loaded machine two cores started at once can each form a cluster before they meet
    heyken.startCore(1);
    heyken.awaitStatus("core 1 active", Duration.ofSeconds(90), s -> s.path("active_core").asInt() == 1);
    heyken.startCore(2);
    heyken.awaitStatus("both cores up", Duration.ofSeconds(90), s -> s.path("healthy").asBoolean());
    installation = heyken.get(heyken.port("sandbox"), "/api/services").body().path("installation_id").asText();
    browser = HeadlessChromium.open(chromium, "http://127.0.0.1:" + heyken.port("monitor") + "/",
        ARTEFACTS.resolve("chromium.log"));
    page = new DashboardPage(browser, PAGE, DESCRIBE);
    page.awaitScripts();
  }

  @AfterAll
  static void stop() throws Exception {
    if (browser != null) {
      browser.close();
    }
    try {
      if (DOCKER) {
        SandboxFixtures.removeContainers(installation);
      }
    } finally {
      if (heyken != null) {
        heyken.close();
      }
      if (ollama != null) {
        ollama.close();
      }
      if (DOCKER) {
        docker("network", "rm", NETWORK);
      }
    }
  }

  private static String docker(String... args) throws IOException, InterruptedException {
    return SandboxFixtures.docker(args);
  }

  private static final String DESCRIBE = "JSON.stringify({hash: location.hash,"
      + " dialog: document.getElementById('token-dialog').open, asked: document.getElementById('token-message')"
      + ".textContent, notice: document.getElementById('notice').textContent, hasToken: !!window.heyken.token(),"
      + " core: document.getElementById('active-core').dataset.core,"
      + " connection: document.getElementById('connection').dataset.state, states: window.heykenMonitor.states,"
      + " servedBy: window.heykenMonitor.servedBy, events: window.heykenMonitor.events,"
      + " cores: document.querySelectorAll('#cores tbody tr').length,"
      + " chat: document.getElementById('chat-log').innerText.slice(-600)})";

  private static void awaitPage(String what, String expression) {
    page.await(what, expression);
  }

  private static String js(String value) {
    return DashboardPage.js(value);
  }

  private static void go(String hash) {
    page.go(hash);
  }

  private static void click(String selector) {
    page.click(selector);
  }

  private static void type(String selector, String value) {
    page.type(selector, value);
  }

  private static void submit(String selector) {
    page.submit(selector);
  }

  private static String text(String selector) {
    return page.text(selector);
  }

  private static void say(String text) {
    page.say(text);
  }

  @Test
  @Order(1)
  void theDashboardShowsTheActiveCoreTheClusterAndTheLogs() throws Exception {
    awaitPage("core 1 active, live", "document.getElementById('active-core').dataset.core === '1'"
        + " && document.getElementById('connection').dataset.state === 'live'");
    awaitPage("both cores and both members", "document.querySelectorAll('#cores tbody tr').length === 2"
        + " && document.querySelectorAll('#members tbody tr').length === 2");
    awaitPage("the store up among the components", "[...document.querySelectorAll('#components tbody tr')]"
        + ".some(r => r.cells[0].innerText === 'store' && r.cells[1].innerText === 'up')");
    awaitPage("the epoch history", "document.querySelectorAll('#activations tbody tr').length >= 1");
    JsonNode status = heyken.status();
    assertEquals(String.valueOf(status.get("epoch").asLong()), text("#epoch"));
    assertTrue(text("#activations tbody tr").contains("core 1"), text("#activations tbody tr"));
    assertTrue(text("#components").contains("ollama"), text("#components"));
    awaitPage("log lines in the tail", "document.querySelectorAll('#log-tail .line').length > 0");
    assertEquals(1, browser.evaluate("window.heykenMonitor.servedBy").asInt());
    // the upgrade panel is there when the core answers GET /api/upgrade, and hidden when it does not
    int upgrade = heyken.get(heyken.port("monitor"), "/api/upgrade").status();
    awaitPage("the upgrade panel " + (upgrade == 200 ? "shown" : "hidden") + " (GET /api/upgrade " + upgrade + ")",
        upgrade == 200 ? "!document.getElementById('upgrade-card').hidden"
            + " && document.getElementById('upgrade-card').dataset.state !== ''"
            : "document.getElementById('upgrade-card').hidden");
    browser.screenshot(ARTEFACTS.resolve("dashboard-core1.png"));
    assertEquals("[]", browser.problems().toString(), "the page had script errors");
  }

  @Test
  @Order(2)
  void theChatConsoleTalksToTheBotWithTheApiToken() throws Exception {
    awaitPage("the chat form", "!!document.getElementById('chat-form')");
    // without the token the console says what is missing
    browser.evaluate("document.getElementById('token').value = ''; true");
    say("status");
    awaitPage("the token is asked for", "document.getElementById('chat-log').innerText.includes('needs the API token')");
    browser.evaluate("document.getElementById('token').value = '" + heyken.token() + "'; true");
    say("help");
    awaitPage("the help answer", "document.getElementById('chat-log').innerText"
        + ".includes('feature create <name>: <description>')");
    say("how are you?");
    awaitPage("the language model's answer", "document.getElementById('chat-log').innerText"
        + ".includes(" + js(OllamaStandIn.DEFAULT_REPLY) + ")");
    // the room's history survives a reload: the session is kept in sessionStorage
    String session = browser.evaluate("sessionStorage.getItem('heyken.chat.session')").asText();
    var history = heyken.get(heyken.port("monitor"), "/api/chat/" + session);
    assertEquals(200, history.status(), history.raw());
    assertEquals(2, history.body().get("turns").size(), history.raw());
    browser.evaluate("location.reload(); true");
    awaitPage("the history after a reload", "document.querySelectorAll('#chat-log .turn.bot').length === 2"
        + " && document.getElementById('connection').dataset.state === 'live'");
    browser.screenshot(ARTEFACTS.resolve("dashboard-chat.png"));
    assertEquals("[]", browser.problems().toString(), "the page had script errors");
  }

  @Test
  @Order(3)
  void aTestedAndDeployedFeatureAppearsWithItsLastRunAndDeployedRevision() throws Exception {
    int sandbox = heyken.port("sandbox");
    var created = heyken.post(sandbox, "/api/features/create",
        SandboxFixtures.createBody("greeter", SandboxFixtures.hello("greeter", "greet")), heyken.token());
    assertEquals(201, created.status(), created.raw());
    String id = created.body().get("feature_id").asText();
    awaitPage("the new feature", "[...document.querySelectorAll('#features tbody tr')]"
        + ".some(r => r.cells[1].innerText === 'greeter' && r.cells[5].innerText.includes('never tested'))");
    var accepted = heyken.post(sandbox, "/api/features/test", "{\"feature_id\":\"" + id + "\"}", heyken.token());
    assertEquals(202, accepted.status(), accepted.raw());
    String runId = accepted.body().get("run_id").asText();
    JsonNode run = SandboxFixtures.awaitRun(heyken, sandbox, id, runId, Duration.ofSeconds(90));
    assertEquals("passed", run.get("status").asText(), run.toString());
    var deployed = heyken.post(sandbox, "/api/features/deploy", "{\"feature_id\":\"" + id + "\"}", heyken.token());
    assertEquals(200, deployed.status(), deployed.raw());
    String revision = deployed.body().get("revision").asText();
    awaitPage("the feature deployed with its passed run", "[...document.querySelectorAll('#features tbody tr')]"
        + ".some(r => r.cells[1].innerText === 'greeter' && r.cells[2].innerText === 'deployed'"
        + " && r.cells[3].innerText === '!greet' && r.cells[4].innerText.startsWith('" + revision.substring(0, 10) + "')"
        + " && r.cells[5].innerText.includes('passed') && r.cells[5].innerText.includes('" + runId + "'))");
    browser.screenshot(ARTEFACTS.resolve("dashboard-features.png"));
    // the run's sandbox job and its result are counted by the core that ran it
    double jobs = 0;
    double passed = 0;
    for (int core = 1; core <= 2; core++) {
      String m = heyken.get(heyken.inspectionPort("monitor", core), "/metrics").raw();
      jobs += Math.max(0, value(m, "heyken_sandbox_jobs_total{backend=\"" + run.get("jobs").get(0).get("backend").asText()
          + "\",result=\"ok\"}"));
      passed += Math.max(0, value(m, "heyken_pipeline_runs_total{status=\"passed\"}"));
    }
    assertTrue(jobs >= 1, "sandbox jobs counted");
    assertEquals(1, passed, "one passed run counted");
    assertEquals("[]", browser.problems().toString(), "the page had script errors");
  }

  /** A feature whose test prints "step 0" … "step n-1", half a second apart, then "NAME test passed". */
  static Map<String, String> slowFeature(String name, String command, int steps) {
    return Map.of("heyken.yml", SandboxFixtures.manifest(name, command), "main.py", SandboxFixtures.HELLO_MAIN,
        "test_main.py", "import time\nfor i in range(" + steps + "):\n    print('step', i, flush=True)\n"
            + "    time.sleep(0.5)\nprint('" + name + " test passed')\n",
        ".gitlab-ci.yml", SandboxFixtures.HELLO_CI);
  }

  private static final String DESCRIBE_RUN = "JSON.stringify({run: window.heykenMonitor.run,"
      + " result: document.getElementById('run-result').dataset.status,"
      + " stream: document.getElementById('run-stream').textContent,"
      + " status: document.getElementById('feature-status').dataset.status,"
      + " notice: document.getElementById('notice').textContent,"
      + " log: document.getElementById('run-log').textContent.slice(-400)})";

  private static final String DESCRIBE_PLOTS = "JSON.stringify({history: window.heykenMonitor.history,"
      + " requests: document.getElementById('plot-requests').innerText.slice(0, 400)})";

  private static void awaitRun(String what, String expression) {
    browser.awaitTrue(what, RUN, expression, DESCRIBE_RUN);
  }

  private static String deployedRevision(String id) {
    return heyken.get(heyken.port("sandbox"), "/api/features/" + id).body().path("deployment").path("revision")
        .asText();
  }

  @Test
  @Order(4)
  void aFolderUploadBecomesAFeatureThatThePageTestsDeploysAndRollsBackWithTheToken(
      @org.junit.jupiter.api.io.TempDir Path uploads) throws Exception {
    Path folder = uploads.resolve("shouter");
    for (var file : slowFeature("shouter", "shout", 8).entrySet()) {
      Files.createDirectories(folder.resolve(file.getKey()).getParent());
      Files.writeString(folder.resolve(file.getKey()), file.getValue());
    }
    Files.createDirectories(folder.resolve(".git"));
    Files.writeString(folder.resolve(".git/HEAD"), "ref: refs/heads/main\n");
    go("#/new");
    browser.setFileInputFiles("#upload-files", List.of(folder));
    awaitPage("the folder's files listed", "document.getElementById('upload-name').value === 'shouter'"
        + " && document.getElementById('upload-list').textContent.startsWith('4 files')");
    // no token in this tab yet: the dialog asks; a wrong one is refused and asked again
    click("#token-forget");
    submit("#upload-form");
    awaitPage("the token dialog", "document.getElementById('token-dialog').open");
    type("#token-input", "not-the-token");
    submit("#token-form");
    awaitPage("the wrong token refused, asked again", "document.getElementById('token-dialog').open"
        + " && document.getElementById('token-message').textContent.includes('The token was refused')");
    browser.screenshot(ARTEFACTS.resolve("token-refused.png"));
    type("#token-input", heyken.token());
    submit("#token-form");
    awaitPage("the new feature's page", "location.hash.startsWith('#/features/')"
        + " && document.getElementById('feature-status').dataset.status === 'ready'");
    String id = browser.evaluate("location.hash.substring('#/features/'.length)").asText();
    assertEquals("shouter", heyken.get(heyken.port("sandbox"), "/api/features/" + id).body().path("name").asText());
    // the revision's diff: the folder's files without .git
    click("#feature-revisions tbody tr");
    awaitPage("the first revision's diff", "document.getElementById('diff').textContent.includes('+++ b/heyken.yml')");
    String diff = text("#diff");
    assertTrue(diff.contains("+++ b/test_main.py") && diff.contains("+command: shout"), diff);
    assertFalse(diff.contains(".git/HEAD"), diff);
    int monitor = heyken.port("monitor");
    String head = heyken.get(monitor, "/api/features/" + id).body().path("head_revision").asText();
    var plain = heyken.get(monitor, "/api/features/" + id + "/revisions/" + head.substring(0, 8) + "/diff");
    assertEquals(200, plain.status(), plain.raw());
    assertEquals(plain.raw().strip(), browser.evaluate("document.getElementById('diff').textContent").asText().strip());
    ApiAssertions.assertError(heyken.get(monitor, "/api/features/" + id + "/revisions/abcdef12/diff"), 404,
        "unknown_revision");
    ApiAssertions.assertError(heyken.get(heyken.port("sandbox"), "/api/features/999/revisions/" + head + "/diff"), 404,
        "unknown_feature");

    // Test: the output appears while the run is still going, then the result
    click("#feature-test");
    awaitRun("the run's output while it streams", "document.getElementById('run-log').textContent.includes('step 1')"
        + " && document.getElementById('run-result').dataset.status === ''");
    browser.screenshot(ARTEFACTS.resolve("feature-streaming.png"));
    awaitRun("the run passed", "document.getElementById('run-result').dataset.status === 'passed'"
        + " && document.getElementById('run-log').textContent.includes('shouter test passed')");
    String first = text("#run-log");
    assertTrue(first.indexOf("step 0") < first.indexOf("step 7"), first);
    awaitRun("the passed status", "document.getElementById('feature-status').dataset.status === 'passed'");
    click("#feature-deploy");
    awaitRun("deployed", "document.getElementById('feature-status').dataset.status === 'deployed'"
        + " && document.getElementById('notice').textContent.includes('!shout answers in chat')");
    String revision1 = deployedRevision(id);

    // a second revision: deploying it untested is refused with the API's reason; tested, it deploys
    var changed = heyken.post(heyken.port("sandbox"), "/api/features/" + id + "/revisions",
        "{\"files\":{\"main.py\":\"print('HELLO')\\n\"},\"message\":\"louder\"}", heyken.token());
    assertEquals(201, changed.status(), changed.raw());
    awaitRun("the second revision", "document.querySelectorAll('#feature-revisions tbody tr').length === 2");
    click("#feature-deploy");
    awaitRun("the untested deploy refused", "document.getElementById('notice').className.includes('problem')"
        + " && document.getElementById('notice').textContent.includes('the deploy refused (4')");
    click("#feature-test");
    awaitRun("the second run passed", "document.getElementById('run-result').dataset.status === 'passed'"
        + " && document.querySelectorAll('#feature-runs tbody tr').length === 2");
    awaitRun("the second revision passed", "document.getElementById('feature-status').dataset.status === 'passed'");
    click("#feature-deploy");
    awaitRun("the second revision deployed", "document.getElementById('feature-status').dataset.status === 'deployed'"
        + " && !document.getElementById('feature-rollback').disabled");
    String revision2 = deployedRevision(id);
    assertFalse(revision1.equals(revision2), revision1);
    click("#feature-rollback");
    awaitRun("rolled back", "document.getElementById('notice').textContent.includes('Rolled back to revision "
        + revision1.substring(0, 10) + "')");
    assertEquals(revision1, deployedRevision(id));
    awaitRun("the deployment history", "document.querySelector('#feature-deployments tbody tr').innerText.includes('"
        + revision1.substring(0, 10) + "')");
    browser.screenshot(ARTEFACTS.resolve("feature.png"));
    assertEquals("[]", browser.problems().toString(), "the page had script errors");
  }

  @Test
  @Order(5)
  void aFeatureDescribedOnThePageIsWrittenByTheAuthorLoop() throws Exception {
    go("#/new");
    // the API's refusal is shown as it is
    type("#describe-name", "shouter");
    type("#describe-text", "shouts");
    submit("#describe-form");
    awaitPage("the duplicate name refused", "document.getElementById('new-problem').textContent"
        + ".includes('refused (409 duplicate_name)')");
    type("#describe-name", "echoer");
    type("#describe-text", "answers !echoer TEXT with echo TEXT");
    submit("#describe-form");
    awaitPage("the new feature's page", "location.hash.startsWith('#/features/')"
        + " && document.getElementById('feature-title').textContent.startsWith('echoer')");
    awaitRun("the author loop's passing attempt", "[...document.querySelectorAll('#feature-attempts tbody tr')]"
        + ".some(r => r.innerText.includes('An echo command') && r.innerText.includes('passed'))"
        + " && document.getElementById('feature-authoring').textContent.includes('awaiting approval')");
    browser.screenshot(ARTEFACTS.resolve("feature-authored.png"));
    assertEquals("[]", browser.problems().toString(), "the page had script errors");
  }

  @Test
  @Order(6)
  void theServicesPageAddsFollowsStopsAndRemovesAService() throws Exception {
    SandboxFixtures.requireDocker();
    go("#/services");
    awaitPage("the empty list", "document.getElementById('services').innerText.includes('No services yet')");
    type("#service-name", "it-ticker");
    type("#service-image", "sandbox/busybox:1");
    type("#service-command", "echo hello from it-ticker; i=0; while true; do i=$((i+1)); echo tick $i; sleep 1; done");
    submit("#service-form");
    String row = "document.querySelector('#services tr[data-service=it-ticker]')";
    browser.awaitTrue("the service running", Duration.ofSeconds(60), "!!" + row + " && " + row
        + ".cells[3].innerText.includes('running')", "document.getElementById('services').innerText");
    browser.evaluate(row + ".querySelector('button').click(); true");
    awaitPage("its log followed live", "document.getElementById('service-log').textContent.includes('hello from it-ticker')"
        + " && document.getElementById('service-log').textContent.includes('tick 3')");
    browser.screenshot(ARTEFACTS.resolve("services.png"));
    browser.evaluate("[..." + row + ".querySelectorAll('button')].find(b => b.innerText === 'stop').click(); true");
    browser.awaitTrue("the service stopped", Duration.ofSeconds(60), row + ".cells[2].innerText === 'stopped'"
        + " && !" + row + ".cells[3].innerText.includes('running')", "document.getElementById('services').innerText");
    browser.evaluate("window.confirm = () => true; [..." + row + ".querySelectorAll('button')]"
        + ".find(b => b.innerText === 'remove').click(); true");
    browser.awaitTrue("the service removed", Duration.ofSeconds(60), "!" + row,
        "document.getElementById('services').innerText");
    HeykenProcesses.await("no container of the service left", Duration.ofSeconds(60), () ->
        docker("ps", "-aq", "--filter", "label=heyken.installation=" + installation).isBlank());
    assertEquals("[]", browser.problems().toString(), "the page had script errors");
  }

  @Test
  @Order(7)
  void afterAPlannedSwitchThePageReconnectsAndShowsTheOtherCore() throws Exception {
    go("#/");
    awaitPage("core 1 active, live", "document.getElementById('active-core').dataset.core === '1'"
        + " && document.getElementById('connection').dataset.state === 'live'");
    browser.evaluate("window.heykenMonitor.states = ['live']; true");
    var accepted = heyken.post(heyken.port("monitor"), "/api/cores/switch", "{\"target_core\":2}", heyken.token());
    assertEquals(202, accepted.status(), accepted.raw());
    browser.awaitTrue("core 2 active, served by core 2, live again", Duration.ofSeconds(60),
        "document.getElementById('active-core').dataset.core === '2' && window.heykenMonitor.servedBy === 2"
            + " && document.getElementById('connection').dataset.state === 'live'", DESCRIBE);
    var states = browser.evaluate("window.heykenMonitor.states").toString();
    assertTrue(states.contains("reconnecting"), "the page showed the hand-over: " + states);
    awaitPage("the switch in the epoch history", "document.querySelector('#activations tbody tr')"
        + ".innerText.includes('planned switch from core 1')");
    // the console goes on with the new active core
    browser.evaluate("document.getElementById('token').value = '" + heyken.token() + "'; true");
    say("status");
    awaitPage("the new active core in the bot's status", "document.getElementById('chat-log').innerText"
        + ".includes('Core 2 is active')");
    browser.screenshot(ARTEFACTS.resolve("dashboard-core2.png"));
    assertEquals("[]", browser.problems().toString(), "the page had script errors");
  }

  @Test
  @Order(8)
  void whenTheActiveCoreIsKilledWhileARunsOutputStreamsThePageFollowsTheFailoverToTheRunsResult() throws Exception {
    awaitPage("core 2 active, live", "document.getElementById('active-core').dataset.core === '2'"
        + " && document.getElementById('connection').dataset.state === 'live'");
    int sandbox = heyken.port("sandbox");
    var created = heyken.post(sandbox, "/api/features/create",
        SandboxFixtures.createBody("slowpoke", slowFeature("slowpoke", "slowpoke", 40)), heyken.token());
    assertEquals(201, created.status(), created.raw());
    String id = created.body().get("feature_id").asText();
    go("#/features/" + id);
    awaitPage("the feature page", "document.getElementById('feature-status').dataset.status === 'ready'");
    click("#feature-test");
    awaitPage("the run's output streaming", "document.getElementById('run-log').textContent.includes('step 3')"
        + " && document.getElementById('run-result').dataset.status === ''");
    browser.evaluate("window.heykenMonitor.states = ['live']; true");
    heyken.kill9(2);
    browser.awaitTrue("the run passed after the failover, its output complete", RUN,
        "document.getElementById('run-result').dataset.status === 'passed'"
            + " && document.getElementById('run-log').textContent.includes('slowpoke test passed')", DESCRIBE_RUN);
    assertTrue(browser.evaluate("window.heykenMonitor.run.reconnects").asInt() >= 1,
        "the page reconnected the stream: " + browser.evaluate("JSON.stringify(window.heykenMonitor.run)"));
    // across the broken stream the page shows the run's whole output once: nothing lost, nothing twice
    String runPath = "/api/features/" + id + "/runs/" + browser.evaluate("window.heykenMonitor.run.id").asText();
    String shown = browser.evaluate("document.getElementById('run-log').textContent").asText();
    String stored = heyken.get(heyken.port("sandbox"), runPath + "/log").raw();
    // the same end as the stored log (when two attempts overlapped, the live stream can leave out the older
    // attempt's late lines, which a later read shows in their place: the server's stream, not the page)
    String last = stored.strip().substring(stored.strip().lastIndexOf('\n') + 1);
    assertTrue(shown.strip().endsWith(last), "the page ends like the stored log (" + last + "): " + shown);
    assertEquals(1, shown.split(java.util.regex.Pattern.quote(last), -1).length - 1, "the end once: " + shown);
    if (heyken.get(heyken.port("sandbox"), runPath).body().path("attempts").asInt() > 1) {
      assertTrue(shown.contains("the run continues as attempt"), shown);
    }
    browser.screenshot(ARTEFACTS.resolve("feature-failover.png"));
    go("#/");
    browser.awaitTrue("core 1 active after the failover, live again", Duration.ofSeconds(90),
        "document.getElementById('active-core').dataset.core === '1' && window.heykenMonitor.servedBy === 1"
            + " && document.getElementById('connection').dataset.state === 'live'", DESCRIBE);
    assertTrue(browser.evaluate("window.heykenMonitor.states").toString().contains("reconnecting"));
    awaitPage("the failover in the epoch history", "document.querySelector('#activations tbody tr')"
        + ".innerText.includes('failover')");
    browser.screenshot(ARTEFACTS.resolve("dashboard-failover.png"));
    assertEquals("[]", browser.problems().toString(), "the page had script errors");
  }

  @Test
  @Order(9)
  void thePlotsAreDrawnFromTheRealMetricsAndTheJournal() throws Exception {
    // a few requests and errors of the Logger API, so that its plot has both
    int logger = heyken.port("logger");
    for (int i = 0; i < 5; i++) {
      heyken.get(logger, "/api/logs?limit=1");
    }
    assertEquals(400, heyken.get(logger, "/api/logs?limit=nope").status());
    go("#/plots");
    awaitPage("requests per API", "document.querySelectorAll('#plot-requests figure').length >= 1"
        + " && document.querySelectorAll('#plot-requests rect.bar.req').length > 0");
    browser.awaitTrue("the Logger API's requests and errors", Duration.ofSeconds(30),
        "(() => { const f = document.querySelector('#plot-requests figure[data-api=logger_api]');"
            + " return !!f && f.querySelectorAll('rect.bar.err').length > 0; })()", DESCRIBE_PLOTS);
    awaitPage("sandbox job durations", "document.querySelectorAll('#plot-jobs circle.job').length > 0");
    awaitPage("log lines per level", "document.querySelectorAll('#plot-logs rect.bar.level-INFO').length > 0");
    awaitPage("the failover timeline", "document.querySelectorAll('#plot-failover g.activation.failover').length >= 1"
        + " && document.querySelectorAll('#plot-failover g.activation.planned_switch').length >= 1"
        + " && document.querySelectorAll('#plot-failover rect.held.core-2').length >= 1");
    String timeline = text("#plot-failover table");
    assertTrue(timeline.contains("failover") && timeline.contains("planned switch"), timeline);
    // what the plots show is what the core counted
    var history = heyken.get(heyken.port("monitor"), "/api/metrics/history");
    assertEquals(200, history.status(), history.raw());
    assertEquals(1, history.body().get("core").asInt(), history.raw());
    long logged = 0;
    for (JsonNode sample : history.body().get("samples")) {
      logged += sample.path("client_errors").path("logger_api").asLong();
    }
    assertTrue(logged >= 1, "the 400 is in the history: " + history.raw());
    browser.screenshot(ARTEFACTS.resolve("plots.png"));
    assertEquals("[]", browser.problems().toString(), "the page had script errors");
  }

  @Test
  @Order(10)
  void theActiveCoreExposesMetricsAndEveryRequestIsInTheAccessLog() {
    int monitor = heyken.port("monitor");
    heyken.get(monitor, "/api/status");
    var scrape = heyken.get(monitor, "/metrics");
    assertEquals(200, scrape.status(), scrape.raw());
    String m = scrape.raw();
    assertTrue(value(m, "heyken_http_requests_total{api=\"system_monitor\",method=\"GET\",route=\"/api/status\","
        + "status=\"200\"}") >= 1, m);
    assertTrue(value(m, "heyken_journal_events_total{entity=\"CoreManager\",event=\"CoreActivated\"}") >= 1, m);
    assertTrue(m.contains("heyken_core_activations_total{kind=\""), m);
    assertTrue(m.contains("heyken_http_request_duration_seconds_bucket{api=\"system_monitor\""), m);
    HeykenProcesses.await("log lines written to the store", Duration.ofSeconds(20), () ->
        value(heyken.get(monitor, "/metrics").raw(), "heyken_log_lines_written_total") > 0);
    // the access log reaches the Logger API with the request's facts, never the token
    heyken.post(monitor, "/api/chat", "{\"session\":\"it-access\",\"text\":\"help\"}", heyken.token());
    HeykenProcesses.await("the console's POST in the access log", Duration.ofSeconds(30), () -> {
      var logs = heyken.get(heyken.port("logger"), "/api/logs?component=access&limit=200");
      if (logs.status() != 200) {
        return false;
      }
      assertFalse(logs.raw().contains(heyken.token()), "the token is never logged");
      for (JsonNode line : logs.body().get("logs")) {
        JsonNode mdc = line.path("mdc");
        if (mdc.path("http_method").asText().equals("POST") && mdc.path("http_path").asText().equals("/api/chat")) {
          assertEquals("200", mdc.path("http_status").asText(), line.toString());
          assertEquals("presented", mdc.path("token").asText(), line.toString());
          assertTrue(mdc.path("remote").asText().startsWith("127.0.0.1"), line.toString());
          assertTrue(mdc.has("duration_ms"), line.toString());
          return true;
        }
      }
      return false;
    });
  }

  private static double value(String exposition, String series) {
    Matcher matcher = Pattern.compile("(?m)^" + Pattern.quote(series) + " ([0-9.eE+-]+)$").matcher(exposition);
    return matcher.find() ? Double.parseDouble(matcher.group(1)) : -1;
  }
}
