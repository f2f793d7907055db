package heyken.actors.chat;

import com.fasterxml.jackson.databind.JsonNode;
import org.apache.pekko.serialization.jackson.JacksonMigration;

/**
 * {@link ChatNews.Item} was {@code heyken.actors.bot.ChatNews$Item} before the chat client left the bot's package: a
 * core of that version publishes news under the old name during a rolling upgrade, and this reads it as the new one
 * (bound in {@code pekko.serialization.jackson.migrations}). The fields are the same.
 */
public final class ChatNewsMoved extends JacksonMigration {

  static final String OLD_NAME = "heyken.actors.bot.ChatNews$Item";

  @Override
  public int currentVersion() {
    return 2;
  }

  @Override
  public String transformClassName(int fromVersion, String className) {
    return OLD_NAME.equals(className) ? ChatNews.Item.class.getName() : className;
  }

  @Override
  public JsonNode transform(int fromVersion, JsonNode json) {
    return json;
  }
}
