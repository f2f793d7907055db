package heyken.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import com.typesafe.config.ConfigFactory;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.ServerBinding;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.server.PathMatchers;
import org.apache.pekko.http.javadsl.server.Route;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

import static org.apache.pekko.http.javadsl.server.Directives.*;

/** The access log and GET /metrics over real HTTP on loopback: what an operator reads after real requests. */
class AccessLogTest {

  private static ActorSystem<Void> system;
  private static ServerBinding binding;
  private static final HttpClient http = HttpClient.newHttpClient();
  private final ListAppender<ILoggingEvent> lines = new ListAppender<>();

  @BeforeAll
  static void start() throws Exception {
    system = ActorSystem.create(Behaviors.empty(), "access-log-test", ConfigFactory.parseString(
        "pekko.http.server.remote-address-attribute = on").withFallback(ConfigFactory.load()));
    Route routes = concat(
        path(PathMatchers.segment("api").slash("status"), () -> get(() -> complete("fine"))),
        path(PathMatchers.segment("api").slash("features").slash(PathMatchers.segment()), id ->
            get(() -> complete("feature " + id))),
        path("boom", () -> get(() -> {
          throw new IllegalStateException("a bug");
        })),
        MonitorRoutes.metrics());
    binding = Http.get(system).newServerAt("127.0.0.1", 0).bind(AccessLog.logged("access_test", routes))
        .toCompletableFuture().get();
  }

  @AfterAll
  static void stop() {
    binding.unbind();
    system.terminate();
  }

  @BeforeEach
  void capture() {
    lines.start();
    ((Logger) LoggerFactory.getLogger("heyken.access")).addAppender(lines);
  }

  @AfterEach
  void release() {
    ((Logger) LoggerFactory.getLogger("heyken.access")).detachAppender(lines);
  }

  private static HttpResponse<String> fetch(String path, String bearer) throws Exception {
    var b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + binding.localAddress().getPort() + path));
    if (bearer != null) {
      b.header("Authorization", "Bearer " + bearer);
    }
    return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  private static long sample(String exposition, String series) {
    Matcher m = Pattern.compile("(?m)^" + Pattern.quote(series) + " (\\d+)$").matcher(exposition);
    return m.find() ? Long.parseLong(m.group(1)) : 0;
  }

  private ILoggingEvent lineFor(String path) {
    // the line is written when the response leaves; the client may see the response a moment earlier
    long deadline = System.nanoTime() + 5_000_000_000L;
    while (System.nanoTime() < deadline) {
      for (ILoggingEvent e : List.copyOf(lines.list)) {
        if (path.equals(e.getMDCPropertyMap().get("http_path"))) {
          return e;
        }
      }
      pause();
    }
    throw new AssertionError("no access line for " + path + " in " + lines.list);
  }

  /** Polling the captured lines with a deadline. */
  private static void pause() {
    try {
      Thread.sleep(10);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }

  @Test
  void requestsAreCountedAndTimedByRouteWithIdsFolded() throws Exception {
    String before = fetch("/metrics", null).body();
    for (int i = 0; i < 3; i++) {
      assertEquals(200, fetch("/api/status", null).statusCode());
    }
    fetch("/api/features/17", null);
    fetch("/api/features/42", null);
    assertEquals(404, fetch("/no/such/thing", null).statusCode());
    var scrape = fetch("/metrics", null);
    assertEquals(200, scrape.statusCode());
    assertEquals("text/plain; version=0.0.4; charset=utf-8",
        scrape.headers().firstValue("Content-Type").orElse("").toLowerCase(java.util.Locale.ROOT));
    String after = scrape.body();
    String status = "heyken_http_requests_total{api=\"access_test\",method=\"GET\",route=\"/api/status\",status=\"200\"}";
    assertEquals(3, sample(after, status) - sample(before, status), after);
    String features =
        "heyken_http_requests_total{api=\"access_test\",method=\"GET\",route=\"/api/features/{id}\",status=\"200\"}";
    assertEquals(2, sample(after, features) - sample(before, features), "ids are folded into one route");
    assertEquals(1, sample(after, "heyken_http_requests_total{api=\"access_test\",method=\"GET\","
        + "route=\"/{id}/{id}/{id}\",status=\"404\"}") - sample(before, "heyken_http_requests_total{api=\"access_test\","
        + "method=\"GET\",route=\"/{id}/{id}/{id}\",status=\"404\"}"));
    String count = "heyken_http_request_duration_seconds_count{api=\"access_test\",method=\"GET\",route=\"/api/status\"}";
    assertEquals(3, sample(after, count) - sample(before, count));
    assertEquals(sample(after, count), sample(after, "heyken_http_request_duration_seconds_bucket{api=\"access_test\","
        + "method=\"GET\",route=\"/api/status\",le=\"+Inf\"}"));
    assertTrue(after.contains("# TYPE heyken_http_requests_total counter"), after);
    assertTrue(after.contains("# TYPE heyken_http_request_duration_seconds histogram"), after);
    // every family the issue asks for is exposed
    for (String family : new String[] {"heyken_log_lines_written_total", "heyken_log_lines_dropped_total",
        "heyken_journal_events_total", "heyken_sandbox_jobs_total", "heyken_llm_calls_total",
        "heyken_llm_call_duration_seconds", "heyken_core_activations_total", "heyken_pipeline_runs_total"}) {
      assertTrue(after.contains("# TYPE " + family + " "), family + " missing from\n" + after);
    }
    // the scrape itself is counted by the next one
    String metrics = "heyken_http_requests_total{api=\"access_test\",method=\"GET\",route=\"/metrics\",status=\"200\"}";
    assertTrue(sample(fetch("/metrics", null).body(), metrics) >= 2);
  }

  @Test
  void anAccessLineNamesMethodPathStatusDurationAndCallerButNeverTheToken() throws Exception {
    fetch("/api/features/7", "s3cr3t-token-value");
    ILoggingEvent line = lineFor("/api/features/7");
    var mdc = line.getMDCPropertyMap();
    assertEquals(Level.INFO, line.getLevel());
    assertEquals("heyken.access", line.getLoggerName());
    assertTrue(line.getFormattedMessage().startsWith("GET /api/features/7 200 "), line.getFormattedMessage());
    assertEquals("GET", mdc.get("http_method"));
    assertEquals("200", mdc.get("http_status"));
    assertEquals("/api/features/{id}", mdc.get("http_route"));
    assertEquals("access_test", mdc.get("api"));
    assertEquals("access", mdc.get("component"));
    assertTrue(Double.parseDouble(mdc.get("duration_ms")) >= 0, mdc.toString());
    assertTrue(mdc.get("remote").startsWith("127.0.0.1:"), mdc.toString());
    assertEquals("presented", mdc.get("token"));
    assertFalse(line.getFormattedMessage().contains("s3cr3t"), line.getFormattedMessage());
    assertFalse(mdc.toString().contains("s3cr3t"), mdc.toString());

    fetch("/api/status", null);
    assertEquals("none", lineFor("/api/status").getMDCPropertyMap().get("token"));
  }

  @Test
  void aServerErrorIsLoggedAsAWarningWithItsStatus() throws Exception {
    var r = fetch("/boom", null);
    assertEquals(500, r.statusCode());
    assertFalse(r.body().contains("IllegalStateException: a bug"), "no stack trace to the caller");
    ILoggingEvent line = lineFor("/boom");
    assertEquals(Level.WARN, line.getLevel());
    assertEquals("500", line.getMDCPropertyMap().get("http_status"));
  }

  @Test
  void hostilePathsAreLoggedWithoutControlCharactersAndBounded() throws Exception {
    fetch("/api/%0Afake%20line", null);
    ILoggingEvent line = null;
    long deadline = System.nanoTime() + 5_000_000_000L;
    while (line == null && System.nanoTime() < deadline) {
      line = List.copyOf(lines.list).stream()
          .filter(e -> e.getMDCPropertyMap().getOrDefault("http_path", "").contains("fake")).findFirst().orElse(null);
      if (line == null) {
        pause();
      }
    }
    assertTrue(line != null, "no line for the hostile path");
    assertFalse(line.getFormattedMessage().contains("\n"), line.getFormattedMessage());
    assertEquals("404", line.getMDCPropertyMap().get("http_status"));
  }

  @Test
  void routeLabelsKeepEndpointWordsAndFoldEverythingElse() {
    assertEquals("/", AccessLog.route("/"));
    assertEquals("/api/status", AccessLog.route("/api/status"));
    assertEquals("/api/features/{id}/runs/{id}", AccessLog.route("/api/features/12/runs/12-1"));
    assertEquals("/api/chat/{id}", AccessLog.route("/api/chat/web-3f2a"));
    assertEquals("/{id}/{id}/{id}/{id}/{id}/{id}/…", AccessLog.route("/a/b/c/d/e/f/g/h/i"));
    assertEquals("/api/logs/", AccessLog.route("/api/logs/"));
    assertEquals("system_monitor", AccessLog.label("System Monitor"));
    assertEquals(StatusCodes.OK.intValue(), 200);
  }
}
