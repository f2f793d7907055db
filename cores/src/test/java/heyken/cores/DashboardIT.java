package heyken.cores;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import heyken.testkit.HeykenProcesses;
import heyken.testkit.browser.HeadlessChromium;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * The System Monitor's dashboard in headless Chromium against a real installation (store + two core JVMs): it loads,
 * shows the active core, the console talks to heyken_bot, and after a planned switch the page reconnects by itself
 * and shows the other core. Screenshots are kept under cores/target/dashboard/. Also the metrics and the access log
 * of the real cores.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class DashboardIT {

  private static final Path ARTEFACTS = Path.of("target", "dashboard");
  private static final Duration PAGE = Duration.ofSeconds(30);
  private static HeykenProcesses heyken;
  private static HeadlessChromium browser;

  @BeforeAll
  static void start() throws Exception {
    Files.createDirectories(ARTEFACTS);
    var chromium = HeadlessChromium.find();
    if (chromium.isEmpty()) {
      if ("true".equals(System.getenv("HEYKEN_REQUIRE_BROWSER"))) {
        fail("HEYKEN_REQUIRE_BROWSER=true but no chromium was found: run scripts/browser.sh (apt-get install chromium)");
      }
      Assumptions.assumeTrue(false, "no chromium on this machine (scripts/browser.sh installs it)");
    }
    Path jar = Path.of(System.getProperty("heyken.jar", "target/heyken-core.jar"));
    // the sandbox (bubblewrap, uid 65534) must be able to reach the job directories under the data dir
    heyken = new HeykenProcesses(jar, Files.createTempDirectory("heyken-dashboard-",
        PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwxr-xr-x"))));
    heyken.startStore();
    // core 1 first: on a loaded machine two cores started at once can each form a cluster before they meet
    heyken.startCore(1);
    heyken.awaitStatus("core 1 active", Duration.ofSeconds(90), s -> s.path("active_core").asInt() == 1);
    heyken.startCore(2);
    heyken.awaitStatus("both cores up", Duration.ofSeconds(90), s -> s.path("healthy").asBoolean());
    browser = HeadlessChromium.open(chromium.get(), "http://127.0.0.1:" + heyken.port("monitor") + "/",
        ARTEFACTS.resolve("chromium.log"));
  }

  @AfterAll
  static void stop() {
    if (browser != null) {
      browser.close();
    }
    if (heyken != null) {
      heyken.close();
    }
  }

  private static final String DESCRIBE = "JSON.stringify({core: document.getElementById('active-core').dataset.core,"
      + " connection: document.getElementById('connection').dataset.state, states: window.heykenMonitor.states,"
      + " servedBy: window.heykenMonitor.servedBy, events: window.heykenMonitor.events,"
      + " cores: document.querySelectorAll('#cores tbody tr').length,"
      + " chat: document.getElementById('chat-log').innerText.slice(-600)})";

  private static void awaitPage(String what, String expression) {
    browser.awaitTrue(what, PAGE, expression, DESCRIBE);
  }

  private static String text(String selector) {
    return browser.evaluate("document.querySelector(\"" + selector + "\").innerText").asText();
  }

  private static void say(String text) {
    browser.evaluate("document.getElementById('chat-input').value = " + HeykenProcesses.JSON.valueToTree(text)
        + "; document.getElementById('chat-form').requestSubmit(); true");
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
    awaitPage("the language model's offline answer", "document.getElementById('chat-log').innerText"
        + ".includes('the language model is offline')");
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

  @Test
  @Order(4)
  void afterAPlannedSwitchThePageReconnectsAndShowsTheOtherCore() throws Exception {
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
  @Order(5)
  void whenTheActiveCoreIsKilledThePageFollowsTheFailover() throws Exception {
    awaitPage("core 2 active, live", "document.getElementById('active-core').dataset.core === '2'"
        + " && document.getElementById('connection').dataset.state === 'live'");
    browser.evaluate("window.heykenMonitor.states = ['live']; true");
    heyken.kill9(2);
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
  @Order(6)
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
