package heyken.actors.chat;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.net.URI;
import java.time.Duration;
import java.util.Locale;
import java.util.Objects;

/**
 * The typed {@code heyken.chat} configuration: where Rocket.Chat is, the accounts Heyken provisions and uses, the rooms
 * it creates, and the timings of the realtime connection. Read once by {@link #from(Config)}; every key has a default
 * here, so a configuration without a {@code heyken.chat} block still works (chat is then disabled: no URL).
 *
 * @param url base URL of the server, e.g. {@code http://rocketchat:3000} ({@code ROCKETCHAT_URL}); blank = disabled
 * @param adminUsername the admin used only for provisioning ({@code ROCKETCHAT_ADMIN_USERNAME})
 * @param adminPassword its password ({@code ROCKETCHAT_ADMIN_PASSWORD})
 * @param botUsername the bot account ({@code ROCKETCHAT_BOT_USERNAME}, default {@code heyken_bot})
 * @param botPassword its password ({@code ROCKETCHAT_BOT_PASSWORD})
 * @param humanUsername the person provisioning creates ({@code ROCKETCHAT_HUMAN_USERNAME}, default {@code user})
 * @param humanPassword their password ({@code ROCKETCHAT_HUMAN_PASSWORD}); blank = no such user is created
 * @param botDisplayName the bot's display name
 * @param emailDomain domain of the (unverified) addresses given to created users
 * @param systemChannel public room for status posts
 * @param logsChannel public room for log posts
 * @param sandboxGroup private group for sandbox talk
 * @param generalChannel the server's default room (exists from the first start)
 * @param requestTimeout upper bound of one REST request
 * @param connectTimeout upper bound of opening a connection (REST or WebSocket)
 * @param pingInterval how often the client pings the server over DDP
 * @param silenceTimeout no frame for this long → the connection is presumed dead and replaced
 * @param reconnectMinBackoff first reconnect delay, doubled per failed attempt
 * @param reconnectMaxBackoff cap of the reconnect delay
 * @param loginRetryInterval delay before retrying after the server refused the bot's password (brute-force guard)
 * @param catchUpOverlap how far before a room's high-water mark catch-up starts reading
 * @param maxRateLimitWait longest wait for a 429's {@code X-RateLimit-Reset} before giving up
 * @param dedupeCapacity how many recent message ids are remembered to drop duplicates
 * @param maxMessageLength longest text one message may carry (the server's {@code Message_MaxAllowedSize})
 */
public record ChatSettings(
    String url,
    String adminUsername,
    String adminPassword,
    String botUsername,
    String botPassword,
    String humanUsername,
    String humanPassword,
    String botDisplayName,
    String emailDomain,
    String systemChannel,
    String logsChannel,
    String sandboxGroup,
    String generalChannel,
    Duration requestTimeout,
    Duration connectTimeout,
    Duration pingInterval,
    Duration silenceTimeout,
    Duration reconnectMinBackoff,
    Duration reconnectMaxBackoff,
    Duration loginRetryInterval,
    Duration catchUpOverlap,
    Duration maxRateLimitWait,
    int dedupeCapacity,
    int maxMessageLength) {

  /** The defaults, as {@code reference}-style HOCON; {@code application.conf} overrides them with env variables. */
  static final String DEFAULTS = String.join("\n",
      "url = \"\"",
      "admin-username = \"\"",
      "admin-password = \"\"",
      "bot-username = \"heyken_bot\"",
      "bot-password = \"\"",
      "human-username = \"user\"",
      "human-password = \"\"",
      "bot-display-name = \"Heyken\"",
      "email-domain = \"heyken.invalid\"",
      "rooms.system = \"heyken-system\"",
      "rooms.logs = \"heyken-logs\"",
      "rooms.sandbox = \"heyken-sandbox\"",
      "rooms.general = \"general\"",
      "request-timeout = 10s",
      "connect-timeout = 5s",
      "ping-interval = 20s",
      "silence-timeout = 45s",
      "reconnect-min-backoff = 500ms",
      "reconnect-max-backoff = 30s",
      "login-retry-interval = 5m",
      "catch-up-overlap = 5s",
      "max-rate-limit-wait = 2m",
      "dedupe-capacity = 10000",
      "max-message-length = 5000");

  public ChatSettings {
    url = url == null ? "" : url.trim().replaceAll("/+$", "");
    Objects.requireNonNull(botUsername, "botUsername");
    if (!url.isEmpty()) {
      URI parsed;
      try {
        parsed = URI.create(url);
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException("heyken.chat.url (ROCKETCHAT_URL) is not a URL: \"" + url + "\"", e);
      }
      String scheme = parsed.getScheme() == null ? "" : parsed.getScheme().toLowerCase(Locale.ROOT);
      if (!scheme.equals("http") && !scheme.equals("https") || parsed.getHost() == null) {
        throw new IllegalArgumentException("heyken.chat.url (ROCKETCHAT_URL) must be http(s)://host[:port], got \""
            + url + "\"");
      }
      if (botPassword == null || botPassword.isEmpty()) {
        throw new IllegalArgumentException("heyken.chat.bot-password (ROCKETCHAT_BOT_PASSWORD) is empty: set it "
            + "when ROCKETCHAT_URL is set (scripts/init.sh generates one into .env)");
      }
    }
    if (botUsername.isBlank()) {
      throw new IllegalArgumentException("heyken.chat.bot-username (ROCKETCHAT_BOT_USERNAME) must not be blank");
    }
    requirePositive("ping-interval", pingInterval);
    requirePositive("silence-timeout", silenceTimeout);
    if (silenceTimeout.compareTo(pingInterval) <= 0) {
      throw new IllegalArgumentException("heyken.chat.silence-timeout (" + silenceTimeout + ") must be longer than "
          + "heyken.chat.ping-interval (" + pingInterval + "), or a healthy connection would be dropped");
    }
    requirePositive("reconnect-min-backoff", reconnectMinBackoff);
    if (reconnectMaxBackoff.compareTo(reconnectMinBackoff) < 0) {
      throw new IllegalArgumentException("heyken.chat.reconnect-max-backoff must be at least reconnect-min-backoff");
    }
    if (catchUpOverlap == null || catchUpOverlap.isNegative()) {
      throw new IllegalArgumentException("heyken.chat.catch-up-overlap must not be negative, got " + catchUpOverlap);
    }
    requirePositive("request-timeout", requestTimeout);
    requirePositive("connect-timeout", connectTimeout);
    if (dedupeCapacity < 100) {
      throw new IllegalArgumentException("heyken.chat.dedupe-capacity must be at least 100, got " + dedupeCapacity);
    }
    if (maxMessageLength < 1) {
      throw new IllegalArgumentException("heyken.chat.max-message-length must be positive");
    }
  }

  private static void requirePositive(String key, Duration d) {
    if (d == null || d.isNegative() || d.isZero()) {
      throw new IllegalArgumentException("heyken.chat." + key + " must be a positive duration, got " + d);
    }
  }

  /** Reads {@code heyken.chat} from the root configuration, with the defaults above for missing keys. */
  public static ChatSettings from(Config config) {
    Config c = (config.hasPath("heyken.chat") ? config.getConfig("heyken.chat") : ConfigFactory.empty())
        .withFallback(ConfigFactory.parseString(DEFAULTS));
    return new ChatSettings(
        c.getString("url"),
        c.getString("admin-username"),
        c.getString("admin-password"),
        c.getString("bot-username"),
        c.getString("bot-password"),
        c.getString("human-username"),
        c.getString("human-password"),
        c.getString("bot-display-name"),
        c.getString("email-domain"),
        c.getString("rooms.system"),
        c.getString("rooms.logs"),
        c.getString("rooms.sandbox"),
        c.getString("rooms.general"),
        c.getDuration("request-timeout"),
        c.getDuration("connect-timeout"),
        c.getDuration("ping-interval"),
        c.getDuration("silence-timeout"),
        c.getDuration("reconnect-min-backoff"),
        c.getDuration("reconnect-max-backoff"),
        c.getDuration("login-retry-interval"),
        c.getDuration("catch-up-overlap"),
        c.getDuration("max-rate-limit-wait"),
        c.getInt("dedupe-capacity"),
        c.getInt("max-message-length"));
  }

  /** Whether a server is configured at all. */
  public boolean enabled() {
    return !url.isEmpty();
  }

  /** Whether provisioning can run (it needs the admin account). */
  public boolean canProvision() {
    return enabled() && !adminUsername.isBlank() && !adminPassword.isEmpty();
  }

  /** A copy pointing at another server (tests, the stand-in). */
  public ChatSettings withUrl(String newUrl) {
    return new ChatSettings(newUrl, adminUsername, adminPassword, botUsername, botPassword, humanUsername,
        humanPassword, botDisplayName, emailDomain, systemChannel, logsChannel, sandboxGroup, generalChannel,
        requestTimeout, connectTimeout, pingInterval, silenceTimeout, reconnectMinBackoff, reconnectMaxBackoff,
        loginRetryInterval, catchUpOverlap, maxRateLimitWait, dedupeCapacity, maxMessageLength);
  }

  /** Never prints passwords (settings end up in logs and status pages). */
  @Override
  public String toString() {
    return "ChatSettings[url=" + url + ", admin=" + adminUsername + (adminPassword.isEmpty() ? "" : " (password set)")
        + ", bot=" + botUsername + (botPassword.isEmpty() ? "" : " (password set)") + ", human=" + humanUsername
        + (humanPassword.isEmpty() ? "" : " (password set)") + ", rooms=" + systemChannel + "," + logsChannel + ","
        + sandboxGroup + "," + generalChannel + ", ping=" + pingInterval + ", silence=" + silenceTimeout
        + ", backoff=" + reconnectMinBackoff + ".." + reconnectMaxBackoff + "]";
  }
}
