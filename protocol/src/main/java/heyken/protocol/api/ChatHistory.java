package heyken.protocol.api;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * {@code GET :5021/api/chat/{session}}: the console room's answered turns (oldest first), the admin command waiting
 * for a yes or no ({@code pending}, null when none; {@code command} as the chat command's own JSON), and the answer
 * being written now ({@code partial}, null when none).
 */
public record ChatHistory(String room, List<Turn> turns, Pending pending, Partial partial) {

  public record Turn(@JsonProperty("user_id") String userId, String username, String question, String answer,
      Instant at) {}

  public record Pending(String token, @JsonProperty("user_id") String userId, Map<String, Object> command,
      @JsonProperty("expires_at") Instant expiresAt) {}

  /** The text so far, or its place in the language model's queue ({@code queue_position} 0 = being written). */
  public record Partial(@JsonProperty("message_id") String messageId, String question, String text,
      @JsonProperty("queue_position") int queuePosition) {}
}
