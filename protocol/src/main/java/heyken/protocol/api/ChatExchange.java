package heyken.protocol.api;

import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * The web console's chat ({@code :5021/api/chat}): a message to heyken_bot in the console session's room, and the
 * bot's answer. {@code message_id} makes a retried request safe: the same id is answered once.
 */
public final class ChatExchange {

  private ChatExchange() {}

  public record Request(String session, String text, @JsonProperty("message_id") String messageId) {}

  public record Response(String room, @JsonProperty("message_id") String messageId, String answer,
      boolean duplicate) {}
}
