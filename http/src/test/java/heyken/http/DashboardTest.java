package heyken.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.ServerBinding;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The dashboard's files come from the jar, with a policy that lets the browser load nothing from elsewhere. */
class DashboardTest {

  private static ActorSystem<Void> system;
  private static ServerBinding binding;
  private static final HttpClient http = HttpClient.newHttpClient();

  @BeforeAll
  static void start() throws Exception {
    system = ActorSystem.create(Behaviors.empty(), "dashboard-test", ConfigFactory.load());
    binding = Http.get(system).newServerAt("127.0.0.1", 0).bind(ApiErrors.handled(Dashboard.route()))
        .toCompletableFuture().get();
  }

  @AfterAll
  static void stop() {
    binding.unbind();
    system.terminate();
  }

  private static HttpResponse<String> get(String path) throws Exception {
    return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + binding.localAddress().getPort() + path))
        .build(), HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void thePageItsScriptAndStyleAreServedWithoutAnythingFromElsewhere() throws Exception {
    var page = get("/");
    assertEquals(200, page.statusCode());
    assertTrue(page.headers().firstValue("Content-Type").orElse("").startsWith("text/html"));
    assertTrue(page.body().contains("Heyken System Monitor"));
    assertFalse(page.body().matches("(?s).*(src|href)=\"(https?:)?//.*"), "no external resource in the page");
    String csp = page.headers().firstValue("Content-Security-Policy").orElse("");
    assertTrue(csp.contains("default-src 'self'") && csp.contains("connect-src 'self'"), csp);
    assertEquals("nosniff", page.headers().firstValue("X-Content-Type-Options").orElse(""));
    var script = get("/static/dashboard.js");
    assertEquals(200, script.statusCode());
    assertTrue(script.headers().firstValue("Content-Type").orElse("").contains("javascript"));
    assertTrue(script.body().contains("heyken.events('/api/events"));
    assertTrue(get("/static/common.js").body().contains("new EventSource(path)"));
    assertFalse(script.body().contains("innerHTML"), "shown data is never parsed as HTML");
    var style = get("/static/dashboard.css");
    assertEquals(200, style.statusCode());
    assertTrue(style.headers().firstValue("Content-Type").orElse("").startsWith("text/css"));
    assertEquals(200, get("/chat").statusCode());
  }

  @Test
  void everyPagesScriptIsServedAndKeepsToTheStrictPolicy() throws Exception {
    String page = get("/").body();
    // no inline script, no inline style, no handler attributes: the policy would block them
    assertFalse(page.matches("(?s).*<script(?![^>]*\\bsrc=)[^>]*>.*"), "no inline script");
    assertFalse(page.matches("(?s).*(<style|\\sstyle=|\\son[a-z]+=).*"), "no inline style or handler");
    for (String file : new String[] {"common.js", "dashboard.js", "feature.js", "services.js", "plots.js",
        "upgrade.js"}) {
      assertTrue(page.contains("<script src=\"/static/" + file + "\" defer></script>"), file + " is loaded");
      var script = get("/static/" + file);
      assertEquals(200, script.statusCode(), file);
      String body = script.body();
      for (String forbidden : new String[] {"innerHTML", "outerHTML", "insertAdjacentHTML", "eval(", "new Function",
          "document.write", "setAttribute('style'", "fetch('http", "EventSource('http"}) {
        assertFalse(body.contains(forbidden), file + " uses " + forbidden);
      }
    }
    for (String id : new String[] {"page-overview", "page-feature", "page-new", "page-services", "page-plots",
        "token-dialog", "upload-files", "run-log", "plot-requests", "plot-jobs", "plot-logs", "plot-failover"}) {
      assertTrue(page.contains("id=\"" + id + "\""), id);
    }
  }

  @Test
  void nothingOutsideTheDashboardsFilesIsServed() throws Exception {
    for (String path : new String[] {"/static/nope.js", "/static/../http/Json.class", "/static/%2e%2e/http/Json.class",
        "/static/", "/index.html", "/static/..%2f..%2fapplication.conf"}) {
      var r = get(path);
      assertTrue(r.statusCode() == 404 || r.statusCode() == 400, path + " -> " + r.statusCode() + " " + r.body());
      assertTrue(r.body().startsWith("{\"error\""), path + " -> " + r.body());
    }
  }
}
