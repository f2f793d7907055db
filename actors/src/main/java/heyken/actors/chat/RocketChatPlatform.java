package heyken.actors.chat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.net.http.HttpClient;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@link ChatPlatform} on Rocket.Chat 6.x/7.x: REST ({@code /api/v1}) for every write and lookup, the Realtime API
 * (DDP over WebSocket) for what people write. See shared/protocols/rocketchat.md for the protocol and its traps.
 * Blocking methods are documented on {@link ChatPlatform}; run them on a blocking dispatcher.
 */
public final class RocketChatPlatform implements ChatPlatform {

  private static final Logger log = LoggerFactory.getLogger(RocketChatPlatform.class);

  private final ChatSettings settings;
  private final HttpClient http;
  private final RocketChatRest rest;
  private final RocketChatRest.Session bot;
  private final List<RocketChatRealtime> sessions = new CopyOnWriteArrayList<>();

  public RocketChatPlatform(ChatSettings settings) {
    this.settings = Objects.requireNonNull(settings, "settings");
    if (!settings.enabled()) {
      throw new IllegalArgumentException("Rocket.Chat is not configured: set heyken.chat.url (ROCKETCHAT_URL)");
    }
    this.http = HttpClient.newBuilder().connectTimeout(settings.connectTimeout())
        .followRedirects(HttpClient.Redirect.NORMAL).build();
    this.rest = new RocketChatRest(settings, http);
    this.bot = rest.session(settings.botUsername(), settings.botPassword(), "ROCKETCHAT_BOT_PASSWORD");
  }

  public ChatSettings settings() {
    return settings;
  }

  @Override
  public ProvisioningReport provision() {
    return new RocketChatProvisioner(settings, rest).run();
  }

  @Override
  public ChatUser botUser() {
    return toUser(rest.get(bot, "me", Map.of()), true);
  }

  @Override
  public PostedMessage post(String roomId, String text) {
    return postMessage(roomId, null, text);
  }

  @Override
  public PostedMessage replyInThread(String roomId, String threadId, String text) {
    return postMessage(roomId, Objects.requireNonNull(threadId, "threadId"), text);
  }

  /**
   * {@code chat.postMessage} with {@code roomId}: the only variant that accepts {@code tmid} ({@code channel} +
   * {@code tmid} is refused by the server's schema). Not retried after a timeout or 5xx: the message may have been
   * stored, and a second post would show twice.
   */
  private PostedMessage postMessage(String roomId, String threadId, String text) {
    Objects.requireNonNull(roomId, "roomId");
    Objects.requireNonNull(text, "text");
    if (text.length() > settings.maxMessageLength()) {
      throw new IllegalArgumentException("a chat message may hold " + settings.maxMessageLength() + " characters "
          + "(heyken.chat.max-message-length, the server's Message_MaxAllowedSize); this one has " + text.length()
          + ": split or shorten it");
    }
    ObjectNode body = rest.object().put("roomId", roomId).put("text", text);
    if (threadId != null) {
      body.put("tmid", threadId);
    }
    JsonNode message = rest.post(bot, "chat.postMessage", body).path("message");
    PostedMessage posted = new PostedMessage(message.path("_id").asText(), message.path("rid").asText(roomId),
        message.path("tmid").asText(null), Optional.ofNullable(ChatMessage.instant(message.get("ts")))
            .orElseGet(Instant::now));
    try (var mdc = ChatMdc.of(roomId, posted.id())) {
      log.debug("posted message {} in room {}{}", posted.id(), roomId,
          threadId == null ? "" : " (thread " + threadId + ")");
    }
    return posted;
  }

  /** How often one {@code postOnce} sends while each send failed without an answer and the message is not there. */
  static final int SEND_ATTEMPTS = 3;

  /**
   * {@code chat.sendMessage} under the caller's id. Rocket.Chat gives a taken id no error of its own: its
   * {@code sendMessage} function returns nothing for an {@code _id} that exists (no insert, no update), and the route
   * then fails on that nothing with a 400 whose text is a TypeError's (the source read is named in docs/rocketchat.md).
   * A send that timed out or got a 5xx may have been stored too. So after any failed send the
   * message is looked up ({@code chat.getMessage}): there, it is the caller's to update (false); not there after an
   * answer that said nothing (no answer, 5xx), it is sent again; else the refusal is thrown.
   */
  @Override
  public boolean postOnce(String roomId, String threadId, String messageId, String text) {
    Objects.requireNonNull(roomId, "roomId");
    Objects.requireNonNull(messageId, "messageId");
    checkLength(text);
    ObjectNode message = rest.object().put("_id", messageId).put("rid", roomId).put("msg", text);
    if (threadId != null) {
      message.put("tmid", threadId);
    }
    ObjectNode body = rest.object();
    body.set("message", message);
    for (int attempt = 1; ; attempt++) {
      try {
        rest.post(bot, "chat.sendMessage", body);
        try (var mdc = ChatMdc.of(roomId, messageId)) {
          log.debug("posted message {} in room {}{}", messageId, roomId, threadId == null ? "" : " (thread "
              + threadId + ")");
        }
        return true;
      } catch (ChatException.RateLimited | ChatException.LoginRefused e) {
        throw e;
      } catch (ChatException e) {
        if (exists(messageId, e)) {
          try (var mdc = ChatMdc.of(roomId, messageId)) {
            log.info("message {} is in room {} already (an earlier send got through: {}): not posted again",
                messageId, roomId, e.getMessage());
          }
          return false;
        }
        if (!unanswered(e) || attempt == SEND_ATTEMPTS) {
          throw e;
        }
        try (var mdc = ChatMdc.of(roomId, messageId)) {
          log.info("message {} did not reach room {} ({}): sending it again", messageId, roomId, e.getMessage());
        }
      }
    }
  }

  /** Whether the server holds a message with this id; a failed look-up rethrows the send's failure with it. */
  private boolean exists(String messageId, ChatException sendFailure) {
    try {
      rest.get(bot, "chat.getMessage", Map.of("msgId", messageId));
      return true;
    } catch (ChatException lookup) {
      if (lookup.status() == 400 && lookup.errorType() == null) {
        return false; // getSingleMessage found nothing: API.v1.failure() without a text
      }
      sendFailure.addSuppressed(lookup);
      throw sendFailure;
    }
  }

  /** The server did not say what it did: no answer at all, or a server error (a proxy's timeout, for instance). */
  private static boolean unanswered(ChatException e) {
    return e.status() == 0 || e.status() >= 500;
  }

  /** {@code chat.update}; sent once more when the first one got no answer (the same text twice changes nothing). */
  @Override
  public void update(String roomId, String messageId, String text) {
    checkLength(text);
    ObjectNode body = rest.object().put("roomId", roomId).put("msgId", messageId).put("text", text);
    try {
      rest.post(bot, "chat.update", body);
    } catch (ChatException e) {
      if (!unanswered(e) || e instanceof ChatException.RateLimited) {
        throw e;
      }
      try (var mdc = ChatMdc.of(roomId, messageId)) {
        log.info("the edit of message {} in room {} got no answer ({}): sending it again", messageId, roomId,
            e.getMessage());
      }
      rest.post(bot, "chat.update", body);
    }
  }

  private void checkLength(String text) {
    Objects.requireNonNull(text, "text");
    if (text.length() > settings.maxMessageLength()) {
      throw new IllegalArgumentException("a chat message may hold " + settings.maxMessageLength() + " characters "
          + "(heyken.chat.max-message-length, the server's Message_MaxAllowedSize); this one has " + text.length()
          + ": split or shorten it");
    }
  }

  @Override
  public List<ChatMessage> messagesSince(String roomId, Instant since) {
    JsonNode result = rest.get(bot, "chat.syncMessages",
        RocketChatRest.query("roomId", roomId, "lastUpdate", since.toString())).path("result");
    List<ChatMessage> messages = new ArrayList<>();
    for (JsonNode m : result.path("updated")) {
      try {
        messages.add(ChatMessage.fromJson(m));
      } catch (IllegalArgumentException e) {
        log.warn("chat.syncMessages of room {} returned an unreadable message: {}", roomId, e.getMessage());
      }
    }
    // the server sorts by ts descending; callers want the order things were said in
    messages.sort((a, b) -> a.ts().compareTo(b.ts()));
    return messages;
  }

  @Override
  public List<ChatRoom> joinedRooms() {
    JsonNode update = rest.get(bot, "subscriptions.get", Map.of()).path("update");
    List<ChatRoom> rooms = new ArrayList<>();
    for (JsonNode s : update) {
      String rid = s.path("rid").asText(null);
      if (rid != null) {
        rooms.add(new ChatRoom(rid, s.path("name").asText(null), RoomType.fromCode(s.path("t").asText(null))));
      }
    }
    return rooms;
  }

  @Override
  public Optional<ChatRoom> findRoom(String name) {
    for (String kind : List.of("channel", "group")) {
      try {
        JsonNode room = rest.get(bot, kind + "s.info", RocketChatRest.query("roomName", name)).path(kind);
        return Optional.of(new ChatRoom(room.path("_id").asText(), room.path("name").asText(name),
            RoomType.fromCode(room.path("t").asText(null))));
      } catch (ChatException e) {
        if (!"error-room-not-found".equals(e.errorType())) {
          throw e;
        }
      }
    }
    return Optional.empty();
  }

  @Override
  public ChatRoom openDirectRoom(String username) {
    JsonNode room = rest.post(bot, "im.create", rest.object().put("username", username)).path("room");
    String rid = room.path("rid").asText(room.path("_id").asText(null));
    if (rid == null) {
      throw new ChatException("Rocket.Chat answered im.create for " + username + " without a room id");
    }
    return new ChatRoom(rid, username, RoomType.DIRECT);
  }

  @Override
  public Optional<ChatUser> user(String userId) {
    try {
      JsonNode user = rest.get(bot, "users.info", RocketChatRest.query("userId", userId)).path("user");
      return Optional.of(toUser(user, user.has("roles")));
    } catch (ChatException e) {
      if (e.status() == 400) {
        return Optional.empty(); // "User not found."
      }
      throw e;
    }
  }

  @Override
  public boolean isAdmin(String userId) {
    ChatUser user = user(userId).orElseThrow(() -> new ChatException("Rocket.Chat knows no user with id " + userId,
        400, null, null));
    try {
      return user.isAdmin();
    } catch (IllegalStateException e) {
      throw new ChatException(e.getMessage(), 200, null, e);
    }
  }

  private static ChatUser toUser(JsonNode u, boolean rolesVisible) {
    Set<String> roles = new LinkedHashSet<>();
    u.path("roles").forEach(r -> roles.add(r.asText()));
    return new ChatUser(u.path("_id").asText(), u.path("username").asText(null), u.path("name").asText(null),
        u.path("active").asBoolean(true), roles, rolesVisible);
  }

  @Override
  public RealtimeSession listen(Map<String, Instant> highWaterMarks, MessageListener listener) {
    Objects.requireNonNull(listener, "listener");
    RocketChatRealtime session = new RocketChatRealtime(settings, this, bot, http, rest.json,
        Map.copyOf(highWaterMarks), listener);
    sessions.removeIf(s -> s.status() == RealtimeSession.Status.STOPPED);
    sessions.add(session);
    session.start();
    return session;
  }

  /** Server time minus local time, as far as the responses' {@code Date} headers tell. */
  Duration serverClockOffset() {
    return rest.serverClockOffset();
  }

  @Override
  public void close() {
    for (RocketChatRealtime s : sessions) {
      s.close();
    }
    sessions.clear();
  }
}
