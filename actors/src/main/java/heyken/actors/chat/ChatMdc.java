package heyken.actors.chat;

import org.slf4j.MDC;

/**
 * Puts the room and message ids into the MDC for the lines logged inside it, so the Logger API can find every line
 * about one room or message ({@code try (var mdc = ChatMdc.of(room, id)) { log... }}).
 */
public final class ChatMdc implements AutoCloseable {

  private final boolean room;
  private final boolean message;

  private ChatMdc(String roomId, String messageId) {
    this.room = roomId != null;
    this.message = messageId != null;
    if (room) {
      MDC.put("room", roomId);
    }
    if (message) {
      MDC.put("messageId", messageId);
    }
  }

  public static ChatMdc of(String roomId, String messageId) {
    return new ChatMdc(roomId, messageId);
  }

  @Override
  public void close() {
    if (room) {
      MDC.remove("room");
    }
    if (message) {
      MDC.remove("messageId");
    }
  }
}
