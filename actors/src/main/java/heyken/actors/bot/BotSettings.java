package heyken.actors.bot;

import com.typesafe.config.Config;
import java.time.Duration;
import java.util.Arrays;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * The bot's settings (heyken.bot): its user name, how long a yes/no confirmation waits, how long an answer may take,
 * and the chat admins besides Rocket.Chat's admin role (user ids, comma-separated in HEYKEN_CHAT_ADMINS).
 */
public record BotSettings(String username, Duration confirmationTtl, Duration answerTimeout, Set<String> admins) {

  public static BotSettings from(Config config) {
    Config bot = config.getConfig("heyken.bot");
    Set<String> admins = Arrays.stream(bot.getString("admins").split(",")).map(String::trim)
        .filter(a -> !a.isEmpty()).collect(Collectors.toUnmodifiableSet());
    return new BotSettings(bot.getString("username"), bot.getDuration("confirmation-ttl"),
        bot.getDuration("answer-timeout"), admins);
  }
}
