package heyken.actors.bot;

import com.typesafe.config.Config;
import java.time.Duration;
import java.util.Arrays;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * The bot's settings (heyken.bot): its user name, how long a yes/no confirmation waits, how long an answer may take,
 * the chat admins besides Rocket.Chat's admin role (user ids, comma-separated in HEYKEN_CHAT_ADMINS), and how a
 * streamed answer shows in the chat (stream-first-post, stream-edit-every; {@link ChatGateway.Streaming#DEFAULT}
 * when a key is missing).
 */
public record BotSettings(String username, Duration confirmationTtl, Duration answerTimeout, Set<String> admins,
    ChatGateway.Streaming streaming) {

  public static BotSettings from(Config config) {
    Config bot = config.getConfig("heyken.bot");
    Set<String> admins = Arrays.stream(bot.getString("admins").split(",")).map(String::trim)
        .filter(a -> !a.isEmpty()).collect(Collectors.toUnmodifiableSet());
    var fallback = ChatGateway.Streaming.DEFAULT;
    var streaming = new ChatGateway.Streaming(
        bot.hasPath("stream-first-post") ? bot.getDuration("stream-first-post") : fallback.firstPost(),
        bot.hasPath("stream-edit-every") ? bot.getDuration("stream-edit-every") : fallback.editEvery());
    return new BotSettings(bot.getString("username"), bot.getDuration("confirmation-ttl"),
        bot.getDuration("answer-timeout"), admins, streaming);
  }
}
