package heyken.cores;

import heyken.testkit.HeykenProcesses;
import heyken.testkit.browser.HeadlessChromium;
import java.time.Duration;

/**
 * What a user does on the dashboard, for the browser tests: go to a page, click, type, submit a form, say something in
 * the chat console, and wait for what the page shows ({@code describe} is what a failed wait reports of the page).
 */
record DashboardPage(HeadlessChromium browser, Duration patience, String describe) {

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
