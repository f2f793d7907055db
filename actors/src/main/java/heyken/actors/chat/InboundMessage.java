package heyken.actors.chat;

import java.time.Instant;
import java.util.Objects;

/**
 * A message someone wrote that the bot should consider: not its own, not a system message, not an edit, reaction or
 * thread bump of something already seen, and from a room the bot is in (or mentioning it). Delivered once per id
 * within a {@link RealtimeSession}.
 *
 * @param id the message id (use it to dedupe across restarts and as the idempotency key of the answer)
 * @param roomId the room
 * @param roomType the room's kind
 * @param threadId the thread parent ({@code tmid}) when the message is a thread reply, else null
 * @param userId the author's id (for admin checks, see {@link ChatPlatform#isAdmin})
 * @param username the author's handle
 * @param text the message text as written
 * @param ts the server's timestamp; the room's high-water mark once processed
 * @param mentionsBot whether the text mentions the bot by name
 * @param isDirect whether it came in a direct conversation with the bot
 */
public record InboundMessage(String id, String roomId, RoomType roomType, String threadId, String userId,
    String username, String text, Instant ts, boolean mentionsBot, boolean isDirect) {

  public InboundMessage {
    Objects.requireNonNull(id, "id");
    Objects.requireNonNull(roomId, "roomId");
    Objects.requireNonNull(ts, "ts");
    text = text == null ? "" : text;
  }
}
