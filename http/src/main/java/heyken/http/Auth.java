package heyken.http;

import com.typesafe.config.Config;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Locale;
import java.util.Optional;
import java.util.function.Predicate;
import java.util.function.Supplier;
import org.apache.pekko.http.javadsl.model.HttpMethod;
import org.apache.pekko.http.javadsl.model.HttpMethods;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.server.Route;

import static org.apache.pekko.http.javadsl.server.Directives.extractRequest;

/**
 * Bearer-token check of every request that needs it, compared in constant time. Mutating requests (POST, PUT,
 * PATCH, DELETE) always need the token. Reads (GET, HEAD) of a chat room's history ({@code /api/chat/<session>}: its
 * turns hold admin answers) need it too. The other reads are open while the APIs are bound to loopback; bound to any
 * other address ({@code HEYKEN_BIND_HOST}), they need the token as well, except the health view
 * ({@code /api/status}, a reduced view without the token) and the dashboard's own files ({@code heyken.auth.reads}:
 * {@code auto}, {@code open} or {@code token}). docs/security.md has the table per route.
 */
public final class Auth {

  private final boolean enabled;
  private final byte[] token;
  private final boolean readsNeedToken;

  public Auth(boolean enabled, String token) {
    this(enabled, token, false);
  }

  public Auth(boolean enabled, String token, boolean readsNeedToken) {
    this.enabled = enabled;
    this.token = token.getBytes(StandardCharsets.UTF_8);
    this.readsNeedToken = readsNeedToken;
  }

  public static Auth from(Config config) {
    String mode = config.getString("heyken.auth.mode").trim().toLowerCase(Locale.ROOT);
    return new Auth(!mode.equals("off") && !mode.equals("false"), config.getString("heyken.auth.api-token").trim(),
        readsNeedToken(config));
  }

  /** {@code heyken.auth.reads}: {@code open}, {@code token}, or {@code auto} (token unless bound to loopback). */
  static boolean readsNeedToken(Config config) {
    String reads = config.hasPath("heyken.auth.reads")
        ? config.getString("heyken.auth.reads").trim().toLowerCase(Locale.ROOT) : "auto";
    return switch (reads) {
      case "open" -> false;
      case "token" -> true;
      case "auto" -> !loopback(config.hasPath("heyken.bind-host") ? config.getString("heyken.bind-host") : "127.0.0.1");
      default -> throw new IllegalArgumentException("heyken.auth.reads (HEYKEN_AUTH_READS) is auto, open or token, not '"
          + reads + "'");
    };
  }

  static boolean loopback(String host) {
    return host.equals("127.0.0.1") || host.equals("localhost") || host.equals("::1") || host.startsWith("127.");
  }

  /**
   * Refuses to start a core that would expose its APIs to the network without a token: the four APIs, their reads,
   * and the management ports' cluster writes all use this one token. Returns the reason, or empty when the
   * configuration is acceptable.
   */
  public static Optional<String> startupProblem(Config config) {
    String host = config.getString("heyken.bind-host");
    var auth = from(config);
    if (!loopback(host) && (!auth.enabled || auth.token.length == 0)) {
      return Optional.of("refusing to bind " + host + " (not loopback) without an API token: the APIs (5002, 5010, "
          + "5020, 5021 and the inspection ports) and the cluster management ports would take changes from anyone. "
          + "Set HEYKEN_API_TOKEN (scripts/init.sh generates one into .env) and keep HEYKEN_AUTH=on, or bind 127.0.0.1");
    }
    if (!loopback(host) && !auth.readsNeedToken) {
      return Optional.of("refusing to bind " + host + " (not loopback) with HEYKEN_AUTH_READS=open: logs, audit, run "
          + "output and metrics would be readable by anyone on the network. Remove HEYKEN_AUTH_READS (auto asks for "
          + "the token on every read but /api/status), or bind 127.0.0.1");
    }
    return Optional.empty();
  }

  /**
   * What a core on a non-loopback address also exposes without any token, for its start-up log: the cluster port
   * (Artery has no authentication) and the reads that stay open.
   */
  public static Optional<String> exposureWarning(Config config) {
    String host = config.getString("heyken.bind-host");
    if (loopback(host)) {
      return Optional.empty();
    }
    return Optional.of("bound to " + host + ": the cluster ports (HEYKEN_CORE1_PORT/HEYKEN_CORE2_PORT, Pekko Artery) "
        + "have no authentication and must be reachable only by the other core (firewall them); the management ports "
        + "answer /ready, /alive and GET /cluster/members without a token, and GET /api/status answers its reduced "
        + "view; everything else needs HEYKEN_API_TOKEN (docs/security.md)");
  }

  public boolean enabled() {
    return enabled;
  }

  public boolean readsNeedToken() {
    return readsNeedToken;
  }

  /** This check without the one on reads: the management ports keep their reads open on any address. */
  public Auth writesOnly() {
    return new Auth(enabled, new String(token, StandardCharsets.UTF_8), false);
  }

  /**
   * Lets a request through when it may pass: a mutating one with the token, a read that is open (see the class),
   * else 401 JSON. The name is historical: it guards reads too.
   */
  public Route mutating(Supplier<Route> inner) {
    return extractRequest(request -> {
      if (!enabled || !needsToken(request.method(), request.getUri().path())) {
        return inner.get();
      }
      if (token.length == 0) {
        return unauthorized("no API token is configured on this core: run scripts/init.sh (it writes "
            + "HEYKEN_API_TOKEN into .env) and restart, or set HEYKEN_AUTH=off for local experiments");
      }
      var header = request.getHeader("Authorization");
      if (header.isEmpty()) {
        return unauthorized(isRead(request.method())
            ? "this read needs 'Authorization: Bearer <HEYKEN_API_TOKEN>' (the token is in .env): "
                + (PROTECTED_READ.test(request.getUri().path()) ? "a chat room's history holds admin answers"
                    : "this core is bound to a non-loopback address, where only /api/status is open")
            : "this request changes something: send 'Authorization: Bearer <HEYKEN_API_TOKEN>' (the token is in .env)");
      }
      if (!matches(header.get().value())) {
        return unauthorized("the bearer token is not this installation's HEYKEN_API_TOKEN (see .env)");
      }
      return inner.get();
    });
  }

  /** Whether the request carries this installation's token (or auth is off): the full views are for such callers. */
  public boolean presented(HttpRequest request) {
    if (!enabled) {
      return true;
    }
    var header = request.getHeader("Authorization");
    return token.length > 0 && header.isPresent() && matches(header.get().value());
  }

  /** Whether a request with this method and path needs the token. */
  boolean needsToken(HttpMethod method, String path) {
    if (!isRead(method)) {
      return !method.equals(HttpMethods.OPTIONS);
    }
    if (PROTECTED_READ.test(path)) {
      return true;
    }
    return readsNeedToken && !OPEN_READ.test(path);
  }

  private static boolean isRead(HttpMethod method) {
    return method.equals(HttpMethods.GET) || method.equals(HttpMethods.HEAD);
  }

  /** Reads that need the token on any address: a chat room's history (the console's and Rocket.Chat's rooms). */
  private static final Predicate<String> PROTECTED_READ = path -> path.startsWith("/api/chat/");

  /** Reads open on any address: the health view (reduced without the token) and the dashboard's page and files. */
  private static final Predicate<String> OPEN_READ = path -> path.equals("/api/status") || path.equals("/")
      || path.equals("/chat") || path.startsWith("/static/");

  private boolean matches(String authorization) {
    String value = authorization.trim();
    return value.regionMatches(true, 0, "Bearer ", 0, 7)
        && MessageDigest.isEqual(value.substring(7).trim().getBytes(StandardCharsets.UTF_8), token);
  }

  private static Route unauthorized(String detail) {
    return org.apache.pekko.http.javadsl.server.Directives.complete(
        ApiErrors.response(StatusCodes.UNAUTHORIZED, "unauthorized", detail)
            .addHeader(ApiErrors.bearerChallenge()));
  }
}
