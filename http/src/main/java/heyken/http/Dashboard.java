package heyken.http;

import java.util.List;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpHeader;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;
import org.apache.pekko.http.javadsl.server.Route;

import static org.apache.pekko.http.javadsl.server.Directives.*;

/**
 * The System Monitor's web dashboard, served by the core itself from the jar: {@code GET /} is the page,
 * {@code /static/...} its script and style sheet. Nothing is loaded from anywhere else (the Content-Security-Policy
 * says so to the browser), and no build step produces it: plain HTML, CSS and JavaScript.
 */
final class Dashboard {

  static final String RESOURCES = "heyken/monitor";

  private static final List<HttpHeader> HEADERS = List.of(
      RawHeader.create("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; "
          + "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"),
      RawHeader.create("X-Content-Type-Options", "nosniff"),
      RawHeader.create("Referrer-Policy", "no-referrer"),
      RawHeader.create("Cache-Control", "no-cache"));

  private Dashboard() {}

  static Route route() {
    return get(() -> respondWithHeaders(HEADERS, () -> concat(
        pathSingleSlash(() -> getFromResource(RESOURCES + "/index.html", ContentTypes.TEXT_HTML_UTF8)),
        path("chat", () -> getFromResource(RESOURCES + "/index.html", ContentTypes.TEXT_HTML_UTF8)),
        pathPrefix("static", () -> getFromResourceDirectory(RESOURCES)))));
  }
}
