package heyken.cores;

import static org.junit.jupiter.api.Assertions.fail;

import heyken.testkit.HeykenProcesses;
import heyken.testkit.browser.HeadlessChromium;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Assumptions;

/**
 * What a user does on the dashboard, for the browser tests: go to a page, click, type, submit a form, say something in
 * the chat console, and wait for what the page shows ({@code describe} is what a failed wait reports of the page).
 */
record DashboardPage(HeadlessChromium browser, Duration patience, String describe) {

  /**
   * This machine's Chromium. Without one the browser tests are skipped, unless {@code HEYKEN_REQUIRE_BROWSER=true}
   * (CI), where that is a failure.
   */
  static Path chromium() {
    var chromium = HeadlessChromium.find();
    if (chromium.isEmpty()) {
      if ("true".equals(System.getenv("HEYKEN_REQUIRE_BROWSER"))) {
        fail("HEYKEN_REQUIRE_BROWSER=true but no chromium was found: run scripts/browser.sh (apt-get install chromium)");
      }
      Assumptions.assumeTrue(false, "no chromium on this machine (scripts/browser.sh installs it)");
    }
    return chromium.get();
  }

  void await(String what, String expression) {
    browser.awaitTrue(what, patience, expression, describe);
  }

  static String js(String value) {
    return HeykenProcesses.JSON.valueToTree(value).toString();
  }

  void go(String hash) {
    browser.evaluate("location.hash = " + js(hash) + "; true");
    await("the page " + hash, "window.heykenMonitor.page !== undefined && location.hash === " + js(hash));
  }

  void click(String selector) {
    browser.evaluate("document.querySelector(" + js(selector) + ").click(); true");
  }

  void type(String selector, String value) {
    browser.evaluate("document.querySelector(" + js(selector) + ").value = " + js(value) + "; true");
  }

  void submit(String selector) {
    browser.evaluate("document.querySelector(" + js(selector) + ").requestSubmit(); true");
  }

  String text(String selector) {
    return browser.evaluate("document.querySelector(" + js(selector) + ").innerText").asText();
  }

  void say(String text) {
    type("#chat-input", text);
    submit("#chat-form");
  }

  /** Waits for the page's scripts; on a loaded machine the first load can meet the port between two bindings. */
  void awaitScripts() {
    for (int attempt = 1; ; attempt++) {
      try {
        browser.awaitTrue("the page's scripts", patience, "!!window.heyken && !!window.heykenMonitor.page"
            + " && window.heykenMonitor.states.length > 0", "location.href");
        return;
      } catch (AssertionError notLoaded) {
        if (attempt == 3) {
          throw notLoaded;
        }
        browser.evaluate("location.reload(); true"); // as a user would
      }
    }
  }
}
