package heyken.http;

import heyken.actors.metrics.Metrics;
import java.util.Set;
import org.apache.pekko.http.javadsl.model.AttributeKeys;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.RemoteAddress;
import org.apache.pekko.http.javadsl.server.Route;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

import static org.apache.pekko.http.javadsl.server.Directives.extractRequest;
import static org.apache.pekko.http.javadsl.server.Directives.mapResponse;

/**
 * The access log and the HTTP metrics of every port: one line per request on the logger {@code heyken.access}
 * (method, path, status, duration, caller's address and whether a token was presented — never the token), with the
 * same facts in the MDC so that the Logger API can filter them, and the request counted and timed by route in
 * {@code GET :5021/metrics}. Applied where the ports are bound (PortBinder), around each port's routes.
 *
 * <p>Logging never waits for the log store: the store's appender only offers the line to a bounded buffer.
 * A streamed response (the dashboard's events, a run's live log) is logged when its headers go out.
 */
public final class AccessLog {

  static final Logger log = LoggerFactory.getLogger("heyken.access");
  private static final int MAX_SEGMENTS = 6;
  private static final int MAX_PATH = 300;
  /** Path segments that name an endpoint; any other segment is an id and appears as {id} in the route label. */
  private static final Set<String> WORDS = Set.of("api", "status", "cores", "switch", "chat", "logs", "stream",
      "query", "audit", "features", "runs", "run", "log", "revisions", "deploy", "rollback", "undeploy", "test",
      "invoke", "components", "heartbeat", "health", "events", "metrics", "static", "services", "dashboard",
      "index.html", "dashboard.js", "dashboard.css", "favicon.ico", "replay", "history", "members", "upgrade");

  private AccessLog() {}

  /** {@code inner} with every request logged and measured as part of {@code api} (a short name: monitor, logger…). */
  public static Route logged(String api, Route inner) {
    return extractRequest(request -> {
      long start = System.nanoTime();
      return mapResponse(response -> {
        record(api, request, response, System.nanoTime() - start);
        return response;
      }, () -> ApiErrors.handled(inner));
    });
  }

  private static void record(String api, HttpRequest request, HttpResponse response, long nanos) {
    String method = request.method().value();
    String path = request.getUri().path();
    int status = response.status().intValue();
    String route = route(path);
    Metrics.httpRequest(api, method, route, status, nanos);
    String caller = caller(request);
    String token = request.getHeader("Authorization").isPresent() ? "presented" : "none";
    long micros = nanos / 1000;
    String shownPath = printable(path);
    MDC.put("component", "access");
    MDC.put("api", api);
    MDC.put("http_method", method);
    MDC.put("http_path", shownPath);
    MDC.put("http_route", route);
    MDC.put("http_status", Integer.toString(status));
    MDC.put("duration_ms", String.format(java.util.Locale.ROOT, "%.3f", micros / 1000.0));
    MDC.put("remote", caller);
    MDC.put("token", token);
    try {
      if (status >= 500) {
        log.warn("{} {} {} {} ms from {} token={}", method, shownPath, status, micros / 1000.0, caller, token);
      } else {
        log.info("{} {} {} {} ms from {} token={}", method, shownPath, status, micros / 1000.0, caller, token);
      }
    } finally {
      for (String key : new String[] {"component", "api", "http_method", "http_path", "http_route", "http_status",
          "duration_ms", "remote", "token"}) {
        MDC.remove(key);
      }
    }
  }

  /** The metrics' name of an API: "System Monitor" → system_monitor. */
  public static String label(String apiName) {
    return apiName.trim().toLowerCase(java.util.Locale.ROOT).replaceAll("[^a-z0-9]+", "_");
  }

  /** The socket's address of the caller (X-Forwarded-For and the like are not believed). */
  private static String caller(HttpRequest request) {
    var remote = request.getAttribute(AttributeKeys.remoteAddress);
    if (remote.isEmpty() || remote.get().isUnknown()) {
      return "unknown";
    }
    RemoteAddress r = remote.get();
    String host = r.getAddress().map(java.net.InetAddress::getHostAddress).orElse("unknown");
    return r.getPort() > 0 ? host + ":" + r.getPort() : host;
  }

  /**
   * The route a path belongs to, for the metrics' labels: endpoint words kept, ids replaced by {@code {id}}, at most
   * six segments — so that neither ids nor a scanner's random paths can make the number of series grow.
   */
  static String route(String path) {
    if (path == null || path.isEmpty() || path.equals("/")) {
      return "/";
    }
    var b = new StringBuilder();
    String[] segments = path.split("/", -1);
    int shown = 0;
    for (int i = 1; i < segments.length; i++) {
      String s = segments[i];
      if (s.isEmpty() && i == segments.length - 1) {
        b.append('/');
        break;
      }
      if (shown == MAX_SEGMENTS) {
        b.append("/…");
        break;
      }
      b.append('/').append(WORDS.contains(s) ? s : "{id}");
      shown++;
    }
    return b.toString();
  }

  /** The path as it may appear in a log line: bounded, without control characters. */
  private static String printable(String path) {
    String p = path.length() > MAX_PATH ? path.substring(0, MAX_PATH) + "…" : path;
    return p.replaceAll("\\p{Cntrl}", "?");
  }
}
