package heyken.actors.chat;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.time.Instant;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Rocket.Chat's REST API as Heyken uses it (shared/protocols/rocketchat.md §1): JSON over {@code java.net.http}, the
 * {@code X-User-Id}/{@code X-Auth-Token} headers, one fresh login and retry when a token is refused (401), waiting out
 * 429 until {@code X-RateLimit-Reset}, and refusals turned into {@link ChatException}s that say what to do. Every call
 * blocks.
 */
final class RocketChatRest {

  private static final Logger log = LoggerFactory.getLogger(RocketChatRest.class);
  private static final Pattern WAIT_SECONDS = Pattern.compile("wait (\\d+) seconds");
  private static final Duration RESET_MARGIN = Duration.ofMillis(50);

  /** The result of a login: what goes into the auth headers (and DDP's resume login). */
  record Credentials(String userId, String authToken) {}

  /**
   * One account's REST login, made on first use and replaced when the server refuses the token. Thread-safe: a token
   * refused by several calls at once causes one new login, not one per call.
   */
  final class Session {
    final String username;
    private final String password;
    private final String passwordKey;
    private Credentials credentials;

    private Session(String username, String password, String passwordKey) {
      this.username = username;
      this.password = password;
      this.passwordKey = passwordKey;
    }

    synchronized Credentials credentials() {
      if (credentials == null) {
        credentials = login(username, password, passwordKey);
      }
      return credentials;
    }

    /** A new login unless another thread already replaced {@code stale}. */
    synchronized Credentials relogin(Credentials stale) {
      if (credentials == null || credentials.equals(stale)) {
        credentials = null;
        credentials = login(username, password, passwordKey);
      }
      return credentials;
    }

    /** The current credentials without logging in, or null. */
    synchronized Credentials current() {
      return credentials;
    }

    /** Logs out on the server (best effort) and forgets the token. */
    void logout() {
      Credentials c;
      synchronized (this) {
        c = credentials;
        credentials = null;
      }
      if (c != null) {
        try {
          exchange("POST", "logout", null, json.createObjectNode(), c, Map.of());
        } catch (ChatException | TokenRefused e) {
          // the token is gone either way; nothing else to do
          log.debug("logout of {} failed: {}", username, e.getMessage());
        }
      }
    }

    /** The lowercase hex SHA-256 of the password: the {@code X-2fa-Code} of the password fallback. */
    String passwordDigest() {
      return sha256Hex(password);
    }
  }

  private final ChatSettings settings;
  private final URI base;
  private final HttpClient http;
  final ObjectMapper json;
  private volatile Duration serverClockOffset = Duration.ZERO;

  RocketChatRest(ChatSettings settings, HttpClient http) {
    this.settings = settings;
    this.base = URI.create(settings.url() + "/");
    this.http = http;
    this.json = new ObjectMapper().configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false);
  }

  Session session(String username, String password, String passwordKey) {
    return new Session(username, password, passwordKey);
  }

  URI base() {
    return base;
  }

  /** Server time minus local time, from the last response's {@code Date} header (second resolution). */
  Duration serverClockOffset() {
    return serverClockOffset;
  }

  // ---------------------------------------------------------------- calls

  JsonNode get(Session session, String endpoint, Map<String, String> query) {
    return call(session, "GET", endpoint, query, null, Map.of());
  }

  JsonNode post(Session session, String endpoint, JsonNode body) {
    return call(session, "POST", endpoint, null, body, Map.of());
  }

  JsonNode post(Session session, String endpoint, JsonNode body, Map<String, String> headers) {
    return call(session, "POST", endpoint, null, body, headers);
  }

  ObjectNode object() {
    return json.createObjectNode();
  }

  /**
   * One authenticated call: a refused token (401) gets one fresh login and one retry; 429 is waited out until the
   * server's reset, up to {@code max-rate-limit-wait} in total. Other refusals throw at once.
   */
  private JsonNode call(Session session, String method, String endpoint, Map<String, String> query, JsonNode body,
      Map<String, String> headers) {
    Credentials credentials = session.credentials();
    boolean reloggedIn = false;
    while (true) {
      try {
        return exchange(method, endpoint, query, body, credentials, headers);
      } catch (TokenRefused refused) {
        if (reloggedIn) {
          throw new ChatException("Rocket.Chat refused " + method + " " + endpoint + " for " + session.username
              + " (401) right after a fresh login: the account may be deactivated, or (older servers answer 401 for "
              + "this too) lack the permission the call needs", 401, refused.body.path("errorType").asText(null), null);
        }
        log.info("Rocket.Chat refused the token of {} on {} {}: logging in again", session.username, method,
            endpoint);
        credentials = session.relogin(credentials);
        reloggedIn = true;
      }
    }
  }

  /** A login with a password; never retried on refusal (repeated failures lock the account or IP). */
  Credentials login(String username, String password, String passwordKey) {
    ObjectNode body = object().put("user", username).put("password", password);
    JsonNode answer;
    try {
      answer = exchange("POST", "login", null, body, null, Map.of());
    } catch (TokenRefused refused) {
      throw loginRefused(username, passwordKey, refused.status, refused.body);
    }
    JsonNode data = answer.path("data");
    String userId = data.path("userId").asText(null);
    String token = data.path("authToken").asText(null);
    if (userId == null || token == null) {
      throw new ChatException("Rocket.Chat answered the login of " + username + " without userId/authToken: "
          + abbreviate(answer), 200, null, null);
    }
    log.info("logged in to Rocket.Chat at {} as {} ({})", settings.url(), username, userId);
    return new Credentials(userId, token);
  }

  private ChatException loginRefused(String username, String passwordKey, int status, JsonNode body) {
    String error = body.path("error").asText("");
    String method = body.path("details").path("method").asText("");
    String message;
    if (error.equals("totp-required") && method.equals("email")) {
      message = "Rocket.Chat asks " + username + " for an emailed two-factor code: the account has a verified email "
          + "and email 2FA (Accounts_TwoFactorAuthentication_By_Email_Auto_Opt_In). Mark its email unverified or "
          + "turn off its email 2FA in Administration > Users (provisioning creates accounts with verified:false)";
    } else if (error.contains("totp")) {
      message = "Rocket.Chat asks " + username + " for a two-factor code (" + error + "): a bot account must log in "
          + "without 2FA; disable it for this account";
    } else if (error.contains("blocked")) {
      message = "Rocket.Chat blocked logins of " + username + " after failed attempts (" + error + "): fix "
          + passwordKey + ", then wait for the block to expire (Block_Multiple_Failed_Logins_*)";
    } else {
      message = "Rocket.Chat at " + settings.url() + " refused the password of " + username + " (" + status + " "
          + error + "): check " + passwordKey + " (not retried, to stay clear of the brute-force lock)";
    }
    return new ChatException.LoginRefused(message, status, error.isEmpty() ? null : error);
  }

  /** A 401 on a call: the token (or the password, for {@code login}) was refused. */
  private static final class TokenRefused extends RuntimeException {
    final int status;
    final JsonNode body;

    TokenRefused(int status, JsonNode body) {
      super(null, null, false, false);
      this.status = status;
      this.body = body;
    }
  }

  /** Sends one request, waiting out 429s; 401 → {@link TokenRefused}; other failures → {@link ChatException}. */
  private JsonNode exchange(String method, String endpoint, Map<String, String> query, JsonNode body,
      Credentials credentials, Map<String, String> headers) {
    URI uri = base.resolve("api/v1/" + endpoint + queryString(query));
    long waitedNanos = 0;
    while (true) {
      HttpRequest.Builder request = HttpRequest.newBuilder(uri).timeout(settings.requestTimeout())
          .header("Accept", "application/json");
      if (credentials != null) {
        request.header("X-User-Id", credentials.userId()).header("X-Auth-Token", credentials.authToken());
      }
      headers.forEach(request::header);
      if (method.equals("GET")) {
        request.GET();
      } else {
        request.header("Content-Type", "application/json")
            .method(method, HttpRequest.BodyPublishers.ofString(write(body)));
      }
      HttpResponse<String> response = send(request.build(), method, endpoint);
      noteServerClock(response);
      int status = response.statusCode();
      JsonNode answer = parse(response.body());
      if (status == 429) {
        Duration wait = untilReset(response, answer);
        Duration budget = settings.maxRateLimitWait().minusNanos(waitedNanos);
        if (wait.compareTo(budget) > 0) {
          throw new ChatException.RateLimited("Rocket.Chat rate-limited " + method + " " + endpoint + " for longer "
              + "than heyken.chat.max-rate-limit-wait (" + settings.maxRateLimitWait() + "); the server asked to wait "
              + wait.toMillis() + " ms more. Give the account the role bot (exempt from the limiter) or raise "
              + "API_Enable_Rate_Limiter_Limit_Calls_Default");
        }
        log.warn("Rocket.Chat rate-limited {} {}: waiting {} ms until X-RateLimit-Reset", method, endpoint,
            wait.toMillis());
        pause(wait);
        waitedNanos += wait.toNanos();
        continue;
      }
      if (status == 401) {
        throw new TokenRefused(status, answer);
      }
      if (status / 100 == 2 && answer.path("success").asBoolean(true)) {
        return answer;
      }
      throw refusal(method, endpoint, status, answer);
    }
  }

  private HttpResponse<String> send(HttpRequest request, String method, String endpoint) {
    try {
      return http.send(request, HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
    } catch (IOException e) {
      throw new ChatException("Rocket.Chat at " + settings.url() + " did not answer " + method + " " + endpoint + " ("
          + e + "): check heyken.chat.url (ROCKETCHAT_URL) and that the server is up", 0, null, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new ChatException("interrupted while calling Rocket.Chat " + method + " " + endpoint, 0, null, e);
    }
  }

  private ChatException refusal(String method, String endpoint, int status, JsonNode answer) {
    String error = answer.path("error").asText(answer.path("message").asText(""));
    String errorType = answer.path("errorType").asText(null);
    StringBuilder message = new StringBuilder("Rocket.Chat refused ").append(method).append(' ').append(endpoint)
        .append(": ").append(status);
    if (errorType != null) {
      message.append(' ').append(errorType);
    }
    if (!error.isEmpty()) {
      message.append(" — ").append(error);
    }
    if (status == 403) {
      message.append(" (the account lacks a permission this call needs)");
    } else if (status == 404) {
      message.append(" (unknown endpoint: is ").append(settings.url()).append(" a Rocket.Chat 6.x or newer?)");
    } else if (status >= 500) {
      message.append(" (server error: see the Rocket.Chat server log)");
    }
    return new ChatException(message.toString(), status, errorType, null);
  }

  /** Until the server's {@code X-RateLimit-Reset} (epoch ms); else the "wait N seconds" of the body; else 1 s. */
  private Duration untilReset(HttpResponse<String> response, JsonNode answer) {
    var reset = response.headers().firstValue("X-RateLimit-Reset");
    if (reset.isPresent()) {
      try {
        long resetMs = Long.parseLong(reset.get().trim());
        // the reset is in server time; shift it into ours
        long localResetMs = resetMs - serverClockOffset.toMillis();
        long wait = localResetMs - System.currentTimeMillis();
        return Duration.ofMillis(Math.max(0, wait)).plus(RESET_MARGIN);
      } catch (NumberFormatException e) {
        log.debug("unparseable X-RateLimit-Reset {}", reset.get());
      }
    }
    Matcher m = WAIT_SECONDS.matcher(answer.path("error").asText(""));
    if (m.find()) {
      return Duration.ofSeconds(Long.parseLong(m.group(1))).plus(RESET_MARGIN);
    }
    return Duration.ofSeconds(1);
  }

  private static void pause(Duration wait) {
    try {
      Thread.sleep(wait.toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new ChatException("interrupted while waiting out a Rocket.Chat rate limit", 429, null, e);
    }
  }

  private void noteServerClock(HttpResponse<String> response) {
    response.headers().firstValue("Date").ifPresent(date -> {
      try {
        Instant server = ZonedDateTime.parse(date, DateTimeFormatter.RFC_1123_DATE_TIME).toInstant();
        // the header has second resolution: only an offset beyond that rounding is worth keeping
        Duration offset = Duration.between(Instant.now(), server);
        serverClockOffset = offset.abs().compareTo(Duration.ofSeconds(2)) > 0 ? offset : Duration.ZERO;
      } catch (DateTimeParseException e) {
        log.debug("unparseable Date header {}", date);
      }
    });
  }

  // ---------------------------------------------------------------- JSON and encoding

  private JsonNode parse(String body) {
    if (body == null || body.isBlank()) {
      return json.createObjectNode();
    }
    try {
      return json.readTree(body);
    } catch (JsonProcessingException e) {
      // a proxy's HTML error page, typically
      return json.createObjectNode().put("success", false).put("error", "not JSON: " + abbreviate(body));
    }
  }

  private String write(JsonNode body) {
    try {
      return json.writeValueAsString(body == null ? json.createObjectNode() : body);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("cannot render a request body", e);
    }
  }

  static Map<String, String> query(String... keyValues) {
    Map<String, String> q = new LinkedHashMap<>();
    for (int i = 0; i + 1 < keyValues.length; i += 2) {
      q.put(keyValues[i], Objects.requireNonNull(keyValues[i + 1], keyValues[i]));
    }
    return q;
  }

  private static String queryString(Map<String, String> query) {
    if (query == null || query.isEmpty()) {
      return "";
    }
    StringBuilder sb = new StringBuilder("?");
    query.forEach((k, v) -> {
      if (sb.length() > 1) {
        sb.append('&');
      }
      sb.append(URLEncoder.encode(k, StandardCharsets.UTF_8)).append('=')
          .append(URLEncoder.encode(v, StandardCharsets.UTF_8));
    });
    return sb.toString();
  }

  static String sha256Hex(String text) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
          .digest(text.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("the JDK has no SHA-256", e);
    }
  }

  static String abbreviate(Object o) {
    String s = String.valueOf(o);
    return s.length() > 300 ? s.substring(0, 300) + "…" : s;
  }
}
