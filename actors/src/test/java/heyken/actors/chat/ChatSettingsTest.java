package heyken.actors.chat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** {@code heyken.chat.*} is read with defaults, validated with messages that name the key and the env variable. */
class ChatSettingsTest {

  @Test
  void withoutAChatBlockChatIsDisabledAndEverythingHasADefault() {
    ChatSettings s = ChatSettings.from(ConfigFactory.empty());
    assertFalse(s.enabled());
    assertFalse(s.canProvision());
    assertEquals("heyken_bot", s.botUsername());
    assertEquals("user", s.humanUsername());
    assertEquals("heyken-sandbox", s.sandboxGroup());
    assertEquals(Duration.ofSeconds(20), s.pingInterval());
    assertEquals(Duration.ofSeconds(45), s.silenceTimeout());
  }

  @Test
  void aUrlNeedsTheBotPassword() {
    var e = assertThrows(IllegalArgumentException.class,
        () -> ChatSettings.from(ConfigFactory.parseMap(Map.of("heyken.chat.url", "http://chat:3000"))));
    assertTrue(e.getMessage().contains("ROCKETCHAT_BOT_PASSWORD"), e.getMessage());
  }

  @Test
  void theUrlMustBeHttp() {
    var e = assertThrows(IllegalArgumentException.class, () -> ChatSettings.from(ConfigFactory.parseMap(
        Map.of("heyken.chat.url", "chat:3000", "heyken.chat.bot-password", "pw"))));
    assertTrue(e.getMessage().contains("ROCKETCHAT_URL"), e.getMessage());
  }

  @Test
  void theSilenceTimeoutMustExceedThePingInterval() {
    var e = assertThrows(IllegalArgumentException.class, () -> ChatSettings.from(ConfigFactory.parseMap(
        Map.of("heyken.chat.ping-interval", "30s", "heyken.chat.silence-timeout", "10s"))));
    assertTrue(e.getMessage().contains("silence-timeout"), e.getMessage());
  }

  @Test
  void passwordsNeverShowInToString() {
    ChatSettings s = ChatSettings.from(ConfigFactory.parseMap(Map.of("heyken.chat.url", "http://chat:3000/",
        "heyken.chat.admin-username", "admin", "heyken.chat.admin-password", "s3cret-admin",
        "heyken.chat.bot-password", "s3cret-bot", "heyken.chat.human-password", "s3cret-human")));
    assertEquals("http://chat:3000", s.url(), "a trailing slash is dropped");
    assertTrue(s.canProvision());
    assertFalse(s.toString().contains("s3cret"), s.toString());
  }
}
