package heyken.actors.bot;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.typesafe.config.ConfigFactory;
import java.time.Duration;
import java.util.Set;
import org.junit.jupiter.api.Test;

class BotSettingsTest {

  private static final String REQUIRED = """
      heyken.bot {
        username = "heyken_bot"
        confirmation-ttl = 2m
        answer-timeout = 150s
        admins = " u1, ,u2 "
      }
      """;

  @Test
  void streamingFallsBackToTheDefaultsWhenItsKeysAreMissing() {
    var settings = BotSettings.from(ConfigFactory.parseString(REQUIRED));
    assertEquals(ChatGateway.Streaming.DEFAULT, settings.streaming());
    assertEquals(Duration.ofSeconds(1), settings.streaming().firstPost());
    assertEquals(Set.of("u1", "u2"), settings.admins());
  }

  @Test
  void streamingKeysAreReadEachOnItsOwn() {
    var settings = BotSettings.from(ConfigFactory.parseString(REQUIRED + """
        heyken.bot.stream-first-post = 3s
        """));
    assertEquals(new ChatGateway.Streaming(Duration.ofSeconds(3), Duration.ofSeconds(1)), settings.streaming());

    settings = BotSettings.from(ConfigFactory.parseString(REQUIRED + """
        heyken.bot.stream-first-post = 500ms
        heyken.bot.stream-edit-every = 250ms
        """));
    assertEquals(new ChatGateway.Streaming(Duration.ofMillis(500), Duration.ofMillis(250)), settings.streaming());
  }
}
