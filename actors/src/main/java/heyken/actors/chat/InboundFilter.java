package heyken.actors.chat;

import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Decides which message events reach the listener (shared/protocols/rocketchat.md §2.4): the same {@code _id} comes
 * back on edits, reactions, URL previews and thread replies bumping their parent, the bot's own posts come back, and
 * public rooms arrive even where the bot is no member. Remembers the last {@code capacity} delivered ids (LRU) to drop
 * duplicates between live events and catch-up. Not thread-safe: used on the realtime thread only.
 */
final class InboundFilter {

  /** Why a message was or was not delivered (logged at debug). */
  enum Verdict {
    DELIVER,
    OWN,
    SYSTEM,
    EDIT,
    REACTION,
    THREAD_BUMP,
    NOT_JOINED,
    ALREADY_HANDLED,
    DUPLICATE
  }

  private final String botUsername;
  private final Map<String, Boolean> recent;
  private String botUserId;

  InboundFilter(String botUsername, int capacity) {
    this.botUsername = botUsername;
    this.recent = new LinkedHashMap<>(capacity * 4 / 3 + 1, 0.75f, true) {
      @Override
      protected boolean removeEldestEntry(Map.Entry<String, Boolean> eldest) {
        return size() > capacity;
      }
    };
  }

  void botUserId(String id) {
    this.botUserId = id;
  }

  /**
   * @param roomParticipant the event's {@code roomParticipant} (null in catch-up, which reads joined rooms only)
   * @param live true for a realtime event, false for catch-up. A live event that carries {@code editedAt},
   *     reactions or thread counters is an update of a message already seen (or caught up), never a new one; in
   *     catch-up such a message may be one nobody has answered yet, so only its id and age decide.
   * @param cutoff messages written at or before it count as handled (null: no such bound)
   */
  Verdict judge(ChatMessage m, Boolean roomParticipant, boolean live, Instant cutoff) {
    if (botUserId != null && botUserId.equals(m.userId())) {
      return Verdict.OWN;
    }
    if (m.systemType() != null) {
      return Verdict.SYSTEM;
    }
    if (live && m.editedAt() != null) {
      return Verdict.EDIT;
    }
    if (live && m.hasReactions()) {
      return Verdict.REACTION;
    }
    if (live && m.threadReplies() > 0) {
      return Verdict.THREAD_BUMP;
    }
    if (Boolean.FALSE.equals(roomParticipant) && !mentionsBot(m)) {
      return Verdict.NOT_JOINED;
    }
    if (cutoff != null && !m.ts().isAfter(cutoff)) {
      return Verdict.ALREADY_HANDLED;
    }
    if (recent.containsKey(m.id())) {
      return Verdict.DUPLICATE;
    }
    return Verdict.DELIVER;
  }

  void remember(String messageId) {
    recent.put(messageId, Boolean.TRUE);
  }

  boolean mentionsBot(ChatMessage m) {
    return (botUserId != null && m.mentionedUserIds().contains(botUserId))
        || m.mentionedUsernames().contains(botUsername);
  }
}
