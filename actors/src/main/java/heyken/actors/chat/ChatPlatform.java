package heyken.actors.chat;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The chat server Heyken talks to people through: set it up, post answers, read what people write, and learn who is
 * an admin. One implementation, {@link RocketChatPlatform}; the test stand-in is in {@code heyken-testkit}.
 *
 * <p>Every method except {@link #listen} <b>blocks</b> on network I/O (and, on 429, waits for the server's reset, up
 * to {@code heyken.chat.max-rate-limit-wait}): call them on a blocking dispatcher, never on the default one. All
 * methods are thread-safe. Failures are {@link ChatException}s whose message says what the server answered and what
 * to do.
 */
public interface ChatPlatform extends AutoCloseable {

  /**
   * Brings the server into the shape Heyken needs, idempotently (shared/protocols/rocketchat.md §1.3): bot and human
   * accounts (unverified email, so password logins are not caught by email 2FA), the bot's permission to see user
   * roles, the channels {@code heyken-system} and {@code heyken-logs}, the private group {@code heyken-sandbox}
   * (members at creation), missing members of those and of the existing {@code general}, and the setup wizard
   * marked completed. A second run changes nothing and its report says so. Needs the admin account. Blocking.
   */
  ProvisioningReport provision();

  /** The bot's own account (logs in if needed). Blocking. */
  ChatUser botUser();

  /** Posts {@code text} to a room. Blocking. */
  PostedMessage post(String roomId, String text);

  /**
   * Posts {@code text} as a reply in the thread of {@code threadId} (sent with {@code tmid} and {@code roomId}).
   * Blocking.
   */
  PostedMessage replyInThread(String roomId, String threadId, String text);

  /**
   * Posts {@code text} under a message id the caller chose ({@code chat.sendMessage} with {@code _id}), as a reply in
   * the thread of {@code threadId} when that is not null. Idempotent: when the server already holds a message with
   * this id (an earlier attempt got through, perhaps from a core that died before it could record it, or this call's
   * own send whose answer was lost), nothing is posted again and the answer is false: the caller then
   * {@link #update}s it to the text it wants. The server's answer to a taken id is not relied on (Rocket.Chat gives
   * none of its own): the message is looked up. Blocking.
   *
   * @return true when this call posted the message, false when a message with this id was there already
   */
  boolean postOnce(String roomId, String threadId, String messageId, String text);

  /** Replaces the text of one of the bot's own messages ({@code chat.update}). Blocking. */
  void update(String roomId, String messageId, String text);

  /**
   * Every message of the room written or changed after {@code since} ({@code chat.syncMessages}), oldest first, not
   * filtered. Blocking.
   */
  List<ChatMessage> messagesSince(String roomId, Instant since);

  /** The rooms the bot is a member of (channels, private groups, DMs). Blocking. */
  List<ChatRoom> joinedRooms();

  /** A public channel or a private group of the bot by name. Blocking. */
  Optional<ChatRoom> findRoom(String name);

  /** The bot's direct conversation with {@code username}, opened if needed. Blocking. */
  ChatRoom openDirectRoom(String username);

  /** A user by id, with roles when the server shows them to the bot. Blocking. */
  Optional<ChatUser> user(String userId);

  /**
   * Whether the user is a server admin. Blocking.
   *
   * @throws ChatException when the user does not exist or the server hides roles from the bot (the message says how
   *     to grant {@code view-full-other-user-info})
   */
  boolean isAdmin(String userId);

  /**
   * Starts reading what people write: a realtime subscription that reconnects by itself and, after every
   * (re)subscription, catches up each joined room from its high-water mark (minus
   * {@code heyken.chat.catch-up-overlap}), so that nothing written while disconnected is lost and nothing is
   * delivered twice within the session. Rooms without a mark start at the moment of this call. After a restart,
   * messages written within the overlap before a persisted mark can be delivered again (ids are remembered per
   * session only): the caller drops the ids it has already answered. Does not block; the listener is called on the
   * session's own thread.
   *
   * @param highWaterMarks per room id, the newest message timestamp already handled (persisted by the caller)
   */
  RealtimeSession listen(Map<String, Instant> highWaterMarks, MessageListener listener);

  /** Closes open sessions and releases the HTTP client. */
  @Override
  void close();
}
