package heyken.actors.chat;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.LinkedHashSet;
import java.util.Objects;
import java.util.Set;

/**
 * A message as the server stores it, unfiltered (history, catch-up): what {@link ChatPlatform#messagesSince} returns.
 *
 * @param id the message id
 * @param roomId the room
 * @param text the text ({@code msg})
 * @param ts when it was written
 * @param updatedAt when it last changed (edits, reactions, thread replies bump it)
 * @param userId the author's id
 * @param username the author's handle
 * @param systemType Rocket.Chat's {@code t} for system messages ({@code uj}, {@code au}, …), null for chat
 * @param threadId the thread parent ({@code tmid}) or null
 * @param editedAt when it was edited, or null
 * @param threadReplies how many thread replies it has ({@code tcount}), 0 when it is no thread parent
 * @param hasReactions whether anyone reacted
 * @param mentionedUserIds ids of the users the text mentions (plus {@code all}/{@code here})
 * @param mentionedUsernames their handles
 */
public record ChatMessage(String id, String roomId, String text, Instant ts, Instant updatedAt, String userId,
    String username, String systemType, String threadId, Instant editedAt, int threadReplies, boolean hasReactions,
    Set<String> mentionedUserIds, Set<String> mentionedUsernames) {

  public ChatMessage {
    Objects.requireNonNull(id, "id");
    mentionedUserIds = Set.copyOf(mentionedUserIds);
    mentionedUsernames = Set.copyOf(mentionedUsernames);
  }

  /** Whether someone changed it after it was written: an edit, a reaction, or a thread reply bumping it. */
  public boolean isUpdate() {
    return editedAt != null || hasReactions || threadReplies > 0;
  }

  /**
   * Reads a message document in either encoding the server uses: REST (ISO-8601 dates) or DDP (EJSON
   * {@code {"$date": ms}}). Unknown fields are ignored.
   *
   * @throws IllegalArgumentException when the id, room or timestamp is missing
   */
  static ChatMessage fromJson(JsonNode m) {
    String id = m.path("_id").asText(null);
    String rid = m.path("rid").asText(null);
    Instant ts = instant(m.get("ts"));
    if (id == null || rid == null || ts == null) {
      throw new IllegalArgumentException("not a message document (needs _id, rid, ts): " + abbreviate(m));
    }
    Instant updatedAt = instant(m.get("_updatedAt"));
    Set<String> ids = new LinkedHashSet<>();
    Set<String> names = new LinkedHashSet<>();
    for (JsonNode mention : m.path("mentions")) {
      if (mention.hasNonNull("_id")) {
        ids.add(mention.get("_id").asText());
      }
      if (mention.hasNonNull("username")) {
        names.add(mention.get("username").asText());
      }
    }
    JsonNode reactions = m.path("reactions");
    // a parent carries tlm (last reply time) as soon as it has a reply, even where tcount is not sent
    int replies = Math.max(m.path("tcount").asInt(0), m.hasNonNull("tlm") ? 1 : 0);
    return new ChatMessage(id, rid, m.path("msg").asText(""), ts, updatedAt == null ? ts : updatedAt,
        m.path("u").path("_id").asText(null), m.path("u").path("username").asText(null),
        textOrNull(m, "t"), textOrNull(m, "tmid"), instant(m.get("editedAt")), replies,
        reactions.isObject() && reactions.size() > 0, ids, names);
  }

  private static String textOrNull(JsonNode m, String field) {
    JsonNode v = m.get(field);
    return v == null || v.isNull() || v.asText().isEmpty() ? null : v.asText();
  }

  /** EJSON {@code {"$date": ms}}, an ISO-8601 string, or epoch milliseconds. */
  static Instant instant(JsonNode v) {
    if (v == null || v.isNull() || v.isMissingNode()) {
      return null;
    }
    if (v.isObject() && v.has("$date")) {
      JsonNode d = v.get("$date");
      return d.isNumber() ? Instant.ofEpochMilli(d.asLong()) : instant(d);
    }
    if (v.isNumber()) {
      return Instant.ofEpochMilli(v.asLong());
    }
    if (v.isTextual()) {
      try {
        return Instant.parse(v.asText());
      } catch (DateTimeParseException e) {
        return null;
      }
    }
    return null;
  }

  private static String abbreviate(JsonNode m) {
    String s = String.valueOf(m);
    return s.length() > 200 ? s.substring(0, 200) + "…" : s;
  }
}
