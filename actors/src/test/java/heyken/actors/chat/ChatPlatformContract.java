package heyken.actors.chat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.http.HttpClient;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * What any {@link ChatPlatform} must do against a Rocket.Chat server, client side (shared/protocols/rocketchat.md §6
 * "Scenarios a client must pass"). Subclasses supply the server: {@link RocketChatPlatformStandInTest} always, {@link
 * RocketChatPlatformRealServerTest} when {@code ROCKETCHAT_URL} is set. Faults the server cannot be made to show (a
 * real server's socket cannot be silenced from a test) are skipped there, not faked.
 *
 * <p>"Exactly once" is checked with a barrier instead of waiting for nothing: after the event that must not produce a
 * delivery, a sentinel DM is sent; events of one subscription arrive in order, so once the sentinel is delivered,
 * anything the earlier event would have produced has been seen.
 */
abstract class ChatPlatformContract {

  static final Duration WAIT = Duration.ofSeconds(20);

  /** Faults a test server can show; the real server supports only some of them. */
  interface ServerFaults {
    /** Drops the realtime sockets and refuses new ones until the returned handle is closed. */
    AutoCloseable realtimeOutage();

    /** Makes the current realtime connections half-open: no frames at all, no close. */
    void silenceRealtime();

    /** Answers 429 on {@code endpoint} until the returned reset instant. */
    Instant rateLimit(String endpoint, Duration window);
  }

  protected ChatSettings settings;
  protected RocketChatPlatform platform;
  protected Human human;
  protected final String nonce = UUID.randomUUID().toString().substring(0, 8);
  /** The session {@link #provisionAndListen()} started. */
  protected RealtimeSession session;
  private RocketChatRest adminRest;
  private RocketChatRest.Session admin;
  private String directRoom;

  /** The server's settings for one test (subclasses pick timings that suit their server). */
  protected abstract ChatSettings settings();

  protected abstract ServerFaults faults();

  @BeforeEach
  void connectPlatform() {
    settings = settings();
    platform = new RocketChatPlatform(settings);
    adminRest = new RocketChatRest(settings, HttpClient.newHttpClient());
    admin = adminRest.session(settings.adminUsername(), settings.adminPassword(), "ROCKETCHAT_ADMIN_PASSWORD");
  }

  @AfterEach
  void closePlatform() {
    platform.close();
    admin.logout();
    serverDone();
  }

  /** Called after the platform is closed: subclasses stop per-test servers here. */
  protected void serverDone() {}

  /** Provisions, opens the human's DM with the bot, and starts listening; returns once subscribed. */
  protected Inbox provisionAndListen() {
    provision();
    Inbox inbox = new Inbox();
    session = platform.listen(Map.of(), inbox);
    inbox.awaitStatus(RealtimeSession.Status.LIVE, 1, WAIT);
    return inbox;
  }

  protected ProvisioningReport provision() {
    ProvisioningReport report = platform.provision();
    assertFalse(report.needsAttention(), report.summary());
    human = new Human(settings, settings.humanUsername(), settings.humanPassword());
    directRoom = human.directRoomWith(settings.botUsername());
    return report;
  }

  protected String directRoom() {
    return directRoom;
  }

  protected String room(ProvisioningReport report, String name) {
    String id = report.roomIds().get(name);
    assertNotNull(id, "provisioning reported no room " + name + ": " + report.roomIds());
    return id;
  }

  /** The barrier: a DM from the human, delivered after everything the human did before it. */
  protected void sentinel(Inbox inbox) {
    String id = human.say(directRoom, "sentinel " + nonce + " " + System.nanoTime());
    inbox.await(id, WAIT);
  }

  protected void revokeBotTokens() {
    String botId = platform.botUser().id();
    adminRest.post(admin, "users.logout", adminRest.object().put("userId", botId));
  }

  // ---------------------------------------------------------------- provisioning

  @Test
  void provisioningTwiceChangesNothingTheSecondTime() {
    ProvisioningReport first = platform.provision();
    assertFalse(first.needsAttention(), first.summary());
    ProvisioningReport second = platform.provision();
    assertFalse(second.changedAnything(), second.summary());
    assertTrue(second.summary().startsWith("Rocket.Chat was already provisioned; nothing changed"), second.summary());
    assertEquals(first.roomIds(), second.roomIds());
    for (String name : List.of(settings.systemChannel(), settings.logsChannel(), settings.sandboxGroup(),
        settings.generalChannel())) {
      assertTrue(second.roomIds().containsKey(name), name + " missing from " + second.roomIds());
    }
    assertEquals(RoomType.PRIVATE_GROUP, platform.findRoom(settings.sandboxGroup()).orElseThrow().type());
    assertEquals(RoomType.CHANNEL, platform.findRoom(settings.systemChannel()).orElseThrow().type());
    List<String> joined = platform.joinedRooms().stream().map(ChatRoom::id).toList();
    assertTrue(joined.containsAll(second.roomIds().values()), "the bot is in every room: " + joined);
  }

  @Test
  void adminsAreToldApartByUserId() {
    provision();
    String adminId = adminRest.get(admin, "me", Map.of()).path("_id").asText();
    assertTrue(platform.isAdmin(adminId));
    assertFalse(platform.isAdmin(human.userId()));
    assertTrue(platform.user("no-such-user-" + nonce).isEmpty());
  }

  // ---------------------------------------------------------------- inbound

  @Test
  void aDirectMessageArrivesExactlyOnce() {
    Inbox inbox = provisionAndListen();
    String id = human.say(directRoom, "hello bot " + nonce);
    InboundMessage m = inbox.await(id, WAIT);
    assertTrue(m.isDirect());
    assertEquals(RoomType.DIRECT, m.roomType());
    assertEquals(directRoom, m.roomId());
    assertEquals(settings.humanUsername(), m.username());
    assertEquals(human.userId(), m.userId());
    assertEquals("hello bot " + nonce, m.text());
    assertNull(m.threadId());
    sentinel(inbox);
    assertEquals(1, inbox.count(id));
  }

  @Test
  void aMentionInAChannelArrivesExactlyOnce() {
    Inbox inbox = provisionAndListen();
    String general = platform.findRoom(settings.generalChannel()).orElseThrow().id();
    String id = human.say(general, "@" + settings.botUsername() + " status? " + nonce);
    InboundMessage m = inbox.await(id, WAIT);
    assertTrue(m.mentionsBot());
    assertFalse(m.isDirect());
    assertEquals(RoomType.CHANNEL, m.roomType());
    sentinel(inbox);
    assertEquals(1, inbox.count(id));
  }

  @Test
  void editsReactionsAndThreadBumpsDoNotArriveAgain() {
    Inbox inbox = provisionAndListen();
    String system = platform.findRoom(settings.systemChannel()).orElseThrow().id();
    String question = human.say(system, "question " + nonce);
    inbox.await(question, WAIT);
    human.edit(system, question, "question " + nonce + " (edited)");
    human.react(question, ":+1:");
    String reply = human.reply(system, question, "more detail " + nonce);
    InboundMessage r = inbox.await(reply, WAIT);
    assertEquals(question, r.threadId(), "a thread reply is new and carries its parent");
    sentinel(inbox);
    assertEquals(1, inbox.count(question), "edit, reaction and thread bump were filtered: " + inbox.messages());
    assertEquals(1, inbox.count(reply));
  }

  @Test
  void publicRoomsTheBotHasNotJoinedOnlyCountWhenTheyMentionIt() {
    Inbox inbox = provisionAndListen();
    String name = "heyken-contract-" + nonce;
    var body = adminRest.object().put("name", name);
    body.putArray("members").add(settings.humanUsername());
    String rid = adminRest.post(admin, "channels.create", body).path("channel").path("_id").asText();
    try {
      String plain = human.say(rid, "chatter " + nonce);
      String mention = human.say(rid, "@" + settings.botUsername() + " over here " + nonce);
      InboundMessage m = inbox.await(mention, WAIT);
      assertTrue(m.mentionsBot());
      sentinel(inbox);
      assertEquals(0, inbox.count(plain), "a room the bot is not in only counts when it is mentioned");
    } finally {
      adminRest.post(admin, "channels.delete", adminRest.object().put("roomId", rid));
    }
  }

  @Test
  void threeMessagesWrittenWhileTheSocketIsDownArriveOnceAfterReconnect() throws Exception {
    Inbox inbox = provisionAndListen();
    String before = human.say(directRoom, "before the drop " + nonce);
    inbox.await(before, WAIT);
    String[] during = new String[3];
    try (AutoCloseable outage = faults().realtimeOutage()) {
      inbox.awaitStatus(RealtimeSession.Status.RECONNECTING, 1, WAIT);
      for (int i = 0; i < during.length; i++) {
        during[i] = human.say(directRoom, "while down #" + i + " " + nonce);
      }
    }
    for (String id : during) {
      inbox.await(id, WAIT);
    }
    sentinel(inbox);
    for (String id : during) {
      assertEquals(1, inbox.count(id), "caught up exactly once: " + inbox.messages());
    }
    assertEquals(1, inbox.count(before), "the overlap of the catch-up does not repeat what was delivered");
    assertTrue(inbox.statusCount(RealtimeSession.Status.LIVE) >= 2);
  }

  @Test
  void aSilentConnectionIsReplacedByTheWatchdog() {
    Inbox inbox = provisionAndListen();
    faults().silenceRealtime();
    Inbox.StatusChange lost = inbox.awaitStatus(RealtimeSession.Status.RECONNECTING, 1, WAIT);
    assertTrue(lost.reason().contains("no frame"), lost.reason());
    inbox.awaitStatus(RealtimeSession.Status.LIVE, 2, WAIT);
    String id = human.say(directRoom, "after the silence " + nonce);
    inbox.await(id, WAIT);
    sentinel(inbox);
    assertEquals(1, inbox.count(id));
  }

  // ---------------------------------------------------------------- outbound and REST robustness

  @Test
  void aRateLimitIsWaitedOutUntilItsReset() {
    ProvisioningReport report = provision();
    String system = room(report, settings.systemChannel());
    Instant reset = faults().rateLimit("chat.postMessage", Duration.ofMillis(1500));
    PostedMessage posted = platform.post(system, "after the rate limit " + nonce);
    assertFalse(Instant.now().isBefore(reset), "posted before the server's reset at " + reset);
    assertTrue(platform.messagesSince(system, reset.minusSeconds(10)).stream()
        .anyMatch(m -> m.id().equals(posted.id())));
  }

  @Test
  void aRevokedTokenLeadsToOneLoginAndTheCallSucceeds() {
    Inbox inbox = provisionAndListen();
    String system = platform.findRoom(settings.systemChannel()).orElseThrow().id();
    platform.post(system, "before the revocation " + nonce);
    revokeBotTokens();
    PostedMessage after = platform.post(system, "after the revocation " + nonce);
    assertEquals(system, after.roomId());
    // the server closed the realtime connection logged in with the old token; the session logs in again
    inbox.awaitStatus(RealtimeSession.Status.LIVE, 2, WAIT);
    String id = human.say(directRoom, "still listening? " + nonce);
    inbox.await(id, WAIT);
  }

  @Test
  void aThreadReplyIsPostedWithTmidAndRoomId() {
    ProvisioningReport report = provision();
    String system = room(report, settings.systemChannel());
    String question = human.say(system, "thread question " + nonce);
    PostedMessage answer = platform.replyInThread(system, question, "thread answer " + nonce);
    assertEquals(system, answer.roomId());
    assertEquals(question, answer.threadId());
    ChatMessage stored = platform.messagesSince(system, answer.ts().minusSeconds(10)).stream()
        .filter(m -> m.id().equals(answer.id())).findFirst().orElseThrow();
    assertEquals(question, stored.threadId());
    assertEquals(settings.botUsername(), stored.username());
  }

  @Test
  void aSecondPostUnderTheSameIdIsAnsweredFalseAndTheCallerEditsTheOneMessage() {
    ProvisioningReport report = provision();
    String system = room(report, settings.systemChannel());
    Instant before = Instant.now().minusSeconds(10);
    String id = "heykenOnce" + nonce;
    assertTrue(platform.postOnce(system, null, id, "Writing the answer… " + nonce));
    // what a second core (or a retry) does with a reply it finds begun
    assertFalse(platform.postOnce(system, null, id, "the whole answer " + nonce));
    platform.update(system, id, "the whole answer " + nonce);
    var mine = platform.messagesSince(system, before).stream().filter(m -> m.id().equals(id)).toList();
    assertEquals(1, mine.size(), "one message: " + mine);
    assertEquals("the whole answer " + nonce, mine.get(0).text());
  }

  @Test
  void statusAndLogPostsReachTheirRooms() {
    ProvisioningReport report = provision();
    for (String name : List.of(settings.systemChannel(), settings.logsChannel())) {
      String rid = room(report, name);
      PostedMessage p = platform.post(rid, "to " + name + " " + nonce);
      assertEquals(rid, p.roomId());
      assertNull(p.threadId());
    }
  }
}
