package heyken.actors.chat;

import com.typesafe.config.ConfigFactory;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.condition.EnabledIfEnvironmentVariable;

/**
 * The contract against a real Rocket.Chat, when {@code ROCKETCHAT_URL} is set (with {@code ROCKETCHAT_ADMIN_USERNAME},
 * {@code ROCKETCHAT_ADMIN_PASSWORD}, {@code ROCKETCHAT_BOT_PASSWORD}, {@code ROCKETCHAT_HUMAN_PASSWORD}; optionally
 * {@code ROCKETCHAT_BOT_USERNAME}, {@code ROCKETCHAT_HUMAN_USERNAME}). It provisions that server, posts test messages
 * in its Heyken rooms, creates and deletes {@code heyken-contract-*} channels, and logs the bot out everywhere once
 * (the revoked-token scenario): point it at a test server. Socket drops, silence and forced 429s cannot be caused on
 * a real server from here; those scenarios are skipped, not faked.
 */
@EnabledIfEnvironmentVariable(named = "ROCKETCHAT_URL", matches = ".+")
class RocketChatPlatformRealServerTest extends ChatPlatformContract {

  private static final Map<String, String> ENV_KEYS = Map.of(
      "ROCKETCHAT_URL", "heyken.chat.url",
      "ROCKETCHAT_ADMIN_USERNAME", "heyken.chat.admin-username",
      "ROCKETCHAT_ADMIN_PASSWORD", "heyken.chat.admin-password",
      "ROCKETCHAT_BOT_USERNAME", "heyken.chat.bot-username",
      "ROCKETCHAT_BOT_PASSWORD", "heyken.chat.bot-password",
      "ROCKETCHAT_HUMAN_USERNAME", "heyken.chat.human-username",
      "ROCKETCHAT_HUMAN_PASSWORD", "heyken.chat.human-password");

  @Override
  protected ChatSettings settings() {
    // the same env names application.conf maps onto heyken.chat.* (the test does not load application.conf)
    Map<String, Object> keys = new HashMap<>();
    ENV_KEYS.forEach((env, key) -> {
      String value = System.getenv(env);
      if (value != null && !value.isEmpty()) {
        keys.put(key, value);
      }
    });
    keys.put("heyken.chat.ping-interval", "5s");
    keys.put("heyken.chat.silence-timeout", "15s");
    ChatSettings s = ChatSettings.from(ConfigFactory.parseMap(keys));
    Assumptions.assumeTrue(s.canProvision() && !s.humanPassword().isEmpty(),
        "set ROCKETCHAT_ADMIN_USERNAME, ROCKETCHAT_ADMIN_PASSWORD, ROCKETCHAT_BOT_PASSWORD and "
            + "ROCKETCHAT_HUMAN_PASSWORD for the real-server contract");
    return s;
  }

  @Override
  protected ServerFaults faults() {
    return new ServerFaults() {
      @Override
      public AutoCloseable realtimeOutage() {
        return Assumptions.abort("a real server's sockets cannot be dropped on demand; the stand-in covers this");
      }

      @Override
      public void silenceRealtime() {
        Assumptions.abort("a real server cannot be silenced on demand; the stand-in covers this");
      }

      @Override
      public Instant rateLimit(String endpoint, Duration window) {
        return Assumptions.abort("a real server exempts bots from its rate limiter; the stand-in forces a 429");
      }
    };
  }
}
