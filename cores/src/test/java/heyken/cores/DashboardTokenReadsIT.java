package heyken.cores;

import static org.junit.jupiter.api.Assertions.assertEquals;

import heyken.testkit.HeykenProcesses;
import heyken.testkit.browser.HeadlessChromium;
import heyken.testkit.ollama.OllamaStandIn;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The dashboard of a core that wants the token on reads, as on a network address ({@code HEYKEN_AUTH_READS=token}
 * gives loopback the same rules): the page asks for the token once, then reads its live stream with fetch and the
 * token (an EventSource cannot send one), keeps doing so across a reload, and its calls still answer while the stream
 * is open: the chat console, creating a feature, the overview following it live. A real core and a real Chromium.
 */
class DashboardTokenReadsIT {

  private static final Path ARTEFACTS = Path.of("target", "dashboard");
  private static final String DESCRIBE = "JSON.stringify({hash: location.hash,"
      + " connection: document.getElementById('connection').dataset.state, states: window.heykenMonitor.states,"
      + " events: window.heykenMonitor.events, dialog: document.getElementById('token-dialog').open,"
      + " message: document.getElementById('token-message').textContent,"
      + " readsNeedToken: window.heyken.readsNeedToken(), notice: document.getElementById('notice').textContent,"
      + " chat: document.getElementById('chat-log').innerText.slice(-300)})";
  private static HeykenProcesses heyken;
  private static HeadlessChromium browser;
  private static OllamaStandIn ollama;
  private static DashboardPage page;

  @BeforeAll
  static void start() throws Exception {
    Files.createDirectories(ARTEFACTS);
    Path chromium = DashboardPage.chromium();
    ollama = OllamaStandIn.start();
    heyken = new HeykenProcesses(HeykenProcesses.itJar(), Files.createTempDirectory("heyken-dashboard-reads-"))
        .withEnv("OLLAMA_URL", ollama.url())
        .withEnv("HEYKEN_AUTH_READS", "token");
    heyken.startStore();
    heyken.startCore(1);
    heyken.awaitStatus("core 1 active", Duration.ofSeconds(90), s -> s.path("active_core").asInt() == 1);
    browser = HeadlessChromium.open(chromium, "http://127.0.0.1:" + heyken.port("monitor") + "/",
        ARTEFACTS.resolve("chromium-reads.log"));
    page = new DashboardPage(browser, Duration.ofSeconds(30), DESCRIBE);
    page.awaitScripts();
  }

  @AfterAll
  static void stop() {
    if (browser != null) {
      browser.close();
    }
    if (heyken != null) {
      heyken.close();
    }
    if (ollama != null) {
      ollama.close();
    }
  }

  @Test
  void thePageAsksForTheTokenOnceAndThenReadsItsStreamAndAnswersWithIt() throws Exception {
    // without the token the stream is refused: the page asks for it, says why, and is not live
    page.await("the token asked for the live overview", "document.getElementById('token-dialog').open"
        + " && document.getElementById('token-message').textContent.includes('API token')");
    assertEquals("false", browser.evaluate("String(document.getElementById('connection').dataset.state === 'live')")
        .asText());
    page.type("#token-input", heyken.token());
    page.submit("#token-form");
    page.await("live with the token", "document.getElementById('connection').dataset.state === 'live'"
        + " && document.getElementById('active-core').dataset.core === '1' && window.heyken.readsNeedToken()"
        + " && !document.getElementById('token-dialog').open");
    // the page's calls answer while the stream is open
    page.say("help");
    page.await("the help answer", "document.getElementById('chat-log').innerText"
        + ".includes('feature create <name>: <description>')");
    // a reload keeps the token and the way to read: live again without asking
    browser.evaluate("location.reload(); true");
    page.awaitScripts();
    page.await("live again after the reload, not asked again", "document.getElementById('connection').dataset.state"
        + " === 'live' && window.heykenMonitor.events > 0 && !document.getElementById('token-dialog').open");
    browser.screenshot(ARTEFACTS.resolve("dashboard-token-reads.png"));
    // a read refused for a token the user has replaced meanwhile keeps the new one and is sent again with it (it
    // used to clear the new token and open the dialog again, and a form waiting for its call never answered)
    String token = DashboardPage.js(heyken.token());
    assertEquals("answered, token kept: true, asked again: false", browser.evaluate("(async () => {"
        + " window.heyken.setToken('not-the-token'); const read = window.heyken.api('GET', '/api/metrics/history');"
        + " window.heyken.setToken(" + token + ");"
        + " const answer = await Promise.race([read.then(() => 'answered', (e) => 'refused: ' + e.message),"
        + " window.heyken.sleep(10000).then(() => 'no answer in 10 s')]);"
        + " return answer + ', token kept: ' + (window.heyken.token() === " + token + ") + ', asked again: '"
        + " + document.getElementById('token-dialog').open; })()").asText());
    // the dialog answered, and asked again at once (a refused token answers fast): the first answer's close event,
    // which comes later as a task of its own, does not cancel the second question (it cancelled the upload)
    assertEquals("second ask answered, open before its answer: true", browser.evaluate("(async () => {"
        + " const first = window.heyken.askToken(); document.getElementById('token-input').value = " + token + ";"
        + " document.getElementById('token-form').requestSubmit(); await first; let second = 'pending';"
        + " window.heyken.askToken('again').then(() => second = 'answered', () => second = 'cancelled');"
        + " await window.heyken.sleep(300); const open = document.getElementById('token-dialog').open;"
        + " document.getElementById('token-input').value = " + token + ";"
        + " document.getElementById('token-form').requestSubmit(); await window.heyken.sleep(100);"
        + " return 'second ask ' + second + ', open before its answer: ' + open; })()").asText());
    // a change through the page, and the overview shows it from the stream
    page.go("#/new");
    page.type("#describe-name", "reader");
    page.type("#describe-text", "answers !reader with the news");
    page.submit("#describe-form");
    page.await("the new feature's page", "location.hash.startsWith('#/features/')"
        + " && document.getElementById('feature-title').textContent.startsWith('reader')");
    page.go("#/");
    page.await("the feature on the live overview", "[...document.querySelectorAll('#features tbody tr')]"
        + ".some(r => r.innerText.includes('reader'))");
    assertEquals("[]", browser.problems().toString(), "the page had script errors");
  }
}
