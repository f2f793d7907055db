package heyken.http;

import com.typesafe.config.Config;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Optional;
import java.util.function.Supplier;
import org.apache.pekko.http.javadsl.model.HttpMethods;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.server.Route;

import static org.apache.pekko.http.javadsl.server.Directives.extractRequest;

/**
 * Bearer-token check of every mutating request (POST, PUT, PATCH, DELETE). Reads are open: the APIs are
 * bound to loopback unless a token is configured.
 */
public final class Auth {

  private final boolean enabled;
  private final byte[] token;

  public Auth(boolean enabled, String token) {
    this.enabled = enabled;
    this.token = token.getBytes(StandardCharsets.UTF_8);
  }

  public static Auth from(Config config) {
    String mode = config.getString("heyken.auth.mode").trim().toLowerCase(java.util.Locale.ROOT);
    return new Auth(!mode.equals("off") && !mode.equals("false"), config.getString("heyken.auth.api-token").trim());
  }

  /**
   * Refuses to start a core that would expose mutating APIs to the network without a token.
   * Returns the reason, or empty when the configuration is acceptable.
   */
  public static Optional<String> startupProblem(Config config) {
    String host = config.getString("heyken.bind-host");
    boolean loopback = host.equals("127.0.0.1") || host.equals("localhost") || host.equals("::1");
    var auth = from(config);
    if (!loopback && (!auth.enabled || auth.token.length == 0)) {
      return Optional.of("refusing to bind " + host + " (not loopback) without an API token: set HEYKEN_API_TOKEN "
          + "(scripts/init.sh generates one into .env) and keep HEYKEN_AUTH=on, or bind 127.0.0.1");
    }
    return Optional.empty();
  }

  public boolean enabled() {
    return enabled;
  }

  public Route mutating(Supplier<Route> inner) {
    return extractRequest(request -> {
      var method = request.method();
      if (!enabled || method.equals(HttpMethods.GET) || method.equals(HttpMethods.HEAD)
          || method.equals(HttpMethods.OPTIONS)) {
        return inner.get();
      }
      if (token.length == 0) {
        return unauthorized("no API token is configured on this core: run scripts/init.sh (it writes "
            + "HEYKEN_API_TOKEN into .env) and restart, or set HEYKEN_AUTH=off for local experiments");
      }
      var header = request.getHeader("Authorization");
      if (header.isEmpty()) {
        return unauthorized("this request changes something: send 'Authorization: Bearer <HEYKEN_API_TOKEN>' "
            + "(the token is in .env)");
      }
      String value = header.get().value().trim();
      if (!value.regionMatches(true, 0, "Bearer ", 0, 7)
          || !MessageDigest.isEqual(value.substring(7).trim().getBytes(StandardCharsets.UTF_8), token)) {
        return unauthorized("the bearer token is not this installation's HEYKEN_API_TOKEN (see .env)");
      }
      return inner.get();
    });
  }

  private static Route unauthorized(String detail) {
    return org.apache.pekko.http.javadsl.server.Directives.complete(
        ApiErrors.response(StatusCodes.UNAUTHORIZED, "unauthorized", detail)
            .addHeader(ApiErrors.bearerChallenge()));
  }
}
