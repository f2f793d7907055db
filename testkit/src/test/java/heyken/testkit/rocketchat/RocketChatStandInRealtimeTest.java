package heyken.testkit.rocketchat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import heyken.testkit.rocketchat.RestTestClient.Auth;
import heyken.testkit.rocketchat.RestTestClient.Response;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.net.http.WebSocketHandshakeException;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The stand-in's DDP half speaks the frames of shared/protocols/rocketchat.md §2.1–2.2, and each fault hook does
 * what its javadoc says, seen from a raw client.
 */
class RocketChatStandInRealtimeTest {

  private static final Duration WAIT = Duration.ofSeconds(5);

  private RocketChatStandIn server;
  private RestTestClient rest;
  private Auth admin;
  private Auth bot;

  @BeforeEach
  void start() {
    server = RocketChatStandIn.builder().admin("admin", "admin-password")
        .pingInterval(Duration.ofMillis(300)).pongTimeout(Duration.ofMillis(600)).start();
    server.createUser("bot", "bot-pw", "bot");
    server.createUser("alice", "alice-pw");
    rest = new RestTestClient(server.url());
    admin = rest.login("admin", "admin-password");
    bot = rest.login("bot", "bot-pw");
  }

  @AfterEach
  void stop() {
    server.close();
  }

  /** A client that is connected, logged in as the bot and subscribed to {@code __my_messages__}. */
  private DdpTestClient subscribedBot() throws InterruptedException {
    DdpTestClient c = DdpTestClient.open(server.websocketUrl());
    c.connect();
    assertFalse(c.resume(bot.token(), "l1").has("error"));
    assertEquals("ready", c.subscribe("__my_messages__", "s1").path("msg").asText());
    return c;
  }

  private static String msg(JsonNode frame) {
    return frame.path("msg").asText();
  }

  @Test
  void theServerGreetsWithServerIdAndWantsConnectFirst() throws Exception {
    try (DdpTestClient c = DdpTestClient.open(server.websocketUrl())) {
      assertEquals("0", c.next(WAIT).path("server_id").asText());
      c.send("{\"msg\":\"sub\",\"id\":\"x\",\"name\":\"stream-room-messages\",\"params\":[\"__my_messages__\",false]}");
      JsonNode err = c.next(WAIT);
      assertEquals("error", msg(err));
      assertEquals("Must connect first", err.path("reason").asText());
      assertFalse(c.connect().isEmpty());
    }
  }

  @Test
  void anUnsupportedVersionFailsAndCloses() throws Exception {
    try (DdpTestClient c = DdpTestClient.open(server.websocketUrl())) {
      c.send("{\"msg\":\"connect\",\"version\":\"7\",\"support\":[\"7\"]}");
      JsonNode failed = c.await(f -> msg(f).equals("failed"), WAIT);
      assertEquals("1", failed.path("version").asText());
      c.closedByServer.get(5, TimeUnit.SECONDS);
    }
  }

  @Test
  void pingsGoBothWays() throws Exception {
    try (DdpTestClient c = DdpTestClient.openRaw(server.websocketUrl())) {
      c.connect();
      c.send("{\"msg\":\"ping\",\"id\":\"hb1\"}");
      JsonNode pong = c.await(f -> msg(f).equals("pong"), WAIT);
      assertEquals("hb1", pong.path("id").asText());
      JsonNode serverPing = c.await(f -> msg(f).equals("ping"), WAIT);
      assertFalse(serverPing.has("id"));
      c.send("{\"msg\":\"pong\"}");
    }
  }

  @Test
  void aClientThatNeverAnswersIsClosedByTheHeartbeat() throws Exception {
    try (DdpTestClient c = DdpTestClient.openRaw(server.websocketUrl())) {
      c.connect();
      // pings are left unanswered: after ping interval + pong timeout the server closes with a close frame
      c.closedByServer.get(5, TimeUnit.SECONDS);
    }
  }

  @Test
  void resumeLoginAnswersTheUserAndABadTokenIs403() throws Exception {
    try (DdpTestClient c = DdpTestClient.open(server.websocketUrl())) {
      c.connect();
      JsonNode bad = c.resume("not-a-token", "l0");
      assertEquals(403, bad.path("error").path("error").asInt());
      assertEquals("You've been logged out by the server. Please log in again.",
          bad.path("error").path("reason").asText());
      assertEquals("Meteor.Error", bad.path("error").path("errorType").asText());
      JsonNode ok = c.resume(bot.token(), "l1");
      assertEquals(bot.userId(), ok.path("result").path("id").asText());
      assertEquals("resume", ok.path("result").path("type").asText());
      assertTrue(ok.path("result").path("tokenExpires").path("$date").isNumber());
      JsonNode updated = c.await(f -> msg(f).equals("updated"), WAIT);
      assertTrue(updated.path("methods").toString().contains("l1"));
    }
  }

  @Test
  void passwordLoginWorksWithTheDigest() throws Exception {
    try (DdpTestClient c = DdpTestClient.open(server.websocketUrl())) {
      c.connect();
      c.send("{\"msg\":\"method\",\"method\":\"login\",\"id\":\"p1\",\"params\":[{\"user\":{\"username\":\"bot\"},"
          + "\"password\":{\"digest\":\"" + StandInState.sha256("bot-pw") + "\",\"algorithm\":\"sha-256\"}}]}");
      JsonNode r = c.await(f -> msg(f).equals("result"), WAIT);
      assertEquals("password", r.path("result").path("type").asText());
      assertEquals(bot.userId(), r.path("result").path("id").asText());
    }
  }

  @Test
  void subscriptionsAreReadyRefusedOrUnknown() throws Exception {
    try (DdpTestClient c = DdpTestClient.open(server.websocketUrl())) {
      c.connect();
      JsonNode anonymous = c.subscribe("__my_messages__", "s0");
      assertEquals("nosub", msg(anonymous));
      assertEquals("not-allowed", anonymous.path("error").path("error").asText());
      c.resume(bot.token(), "l1");
      assertEquals("ready", msg(c.subscribe("__my_messages__", "s1")));
      String secret = rest.post("groups.create", admin, "{\"name\":\"secret\"}").body().path("group").path("_id")
          .asText();
      assertEquals("nosub", msg(c.subscribe(secret, "s2")));
      assertEquals("ready", msg(c.subscribe("GENERAL", "s3")), "public rooms are readable without joining");
      c.send("{\"msg\":\"sub\",\"id\":\"s4\",\"name\":\"stream-nothing\",\"params\":[]}");
      JsonNode unknown = c.await(f -> msg(f).equals("nosub") && f.path("id").asText().equals("s4"), WAIT);
      assertEquals(404, unknown.path("error").path("error").asInt());
      c.send("{\"msg\":\"unsub\",\"id\":\"s3\"}");
      JsonNode gone = c.await(f -> msg(f).equals("nosub") && f.path("id").asText().equals("s3"), WAIT);
      assertFalse(gone.has("error"));
    }
  }

  @Test
  void myMessagesCarryTheMessageAndRoomMetaIncludingOwnMessages() throws Exception {
    try (DdpTestClient c = subscribedBot()) {
      String dm = server.directMessage("alice", "bot", "hello @bot");
      JsonNode dmEvent = c.changed(dm, WAIT);
      assertEquals("stream-room-messages", dmEvent.path("collection").asText());
      assertEquals("id", dmEvent.path("id").asText());
      assertEquals("__my_messages__", dmEvent.path("fields").path("eventName").asText());
      JsonNode m = dmEvent.path("fields").path("args").path(0);
      JsonNode meta = dmEvent.path("fields").path("args").path(1);
      assertEquals("hello @bot", m.path("msg").asText());
      assertEquals("alice", m.path("u").path("username").asText());
      assertTrue(m.path("ts").path("$date").isNumber(), "DDP dates are EJSON");
      assertTrue(m.path("_updatedAt").path("$date").isNumber());
      assertEquals("bot", m.path("mentions").path(0).path("username").asText());
      assertEquals("d", meta.path("roomType").asText());
      assertTrue(meta.path("roomParticipant").asBoolean());
      assertTrue(meta.path("roomName").isMissingNode());

      String other = server.userSays("alice", "general", "not for the bot");
      JsonNode pub = c.changed(other, WAIT);
      assertFalse(pub.path("fields").path("args").path(1).path("roomParticipant").asBoolean(),
          "public rooms arrive even where the bot is not a member");
      assertEquals("general", pub.path("fields").path("args").path(1).path("roomName").asText());

      String rid = m.path("rid").asText();
      Response own = rest.post("chat.postMessage", bot, "{\"roomId\":\"" + rid + "\",\"text\":\"hi alice\"}");
      c.changed(own.body().path("message").path("_id").asText(), WAIT);
    }
  }

  @Test
  void editsReactionsThreadBumpsAndSystemMessagesAreEmittedAgain() throws Exception {
    try (DdpTestClient c = subscribedBot()) {
      String parent = server.userSays("alice", "general", "parent");
      c.changed(parent, WAIT);

      server.edit(parent, "parent (edited)");
      JsonNode edit = c.changed(parent, WAIT).path("fields").path("args").path(0);
      assertTrue(edit.path("editedAt").path("$date").isNumber());
      assertEquals("alice", edit.path("editedBy").path("username").asText());

      server.react(parent, "admin", ":tada:");
      JsonNode reaction = c.changed(parent, WAIT).path("fields").path("args").path(0);
      assertEquals("admin", reaction.path("reactions").path(":tada:").path("usernames").path(0).asText());

      String reply = server.userSays("alice", "general", "in thread", parent);
      JsonNode replyEvent = c.changed(reply, WAIT).path("fields").path("args").path(0);
      assertEquals(parent, replyEvent.path("tmid").asText());
      JsonNode bump = c.changed(parent, WAIT).path("fields").path("args").path(0);
      assertEquals(1, bump.path("tcount").asInt());
      assertTrue(bump.path("tlm").path("$date").isNumber());

      rest.post("channels.invite", admin, "{\"roomId\":\"GENERAL\",\"username\":\"bot\"}");
      JsonNode added = c.await(f -> msg(f).equals("changed")
          && "au".equals(f.path("fields").path("args").path(0).path("t").asText()), WAIT);
      assertEquals("bot", added.path("fields").path("args").path(0).path("msg").asText());
      assertTrue(added.path("fields").path("args").path(1).path("roomParticipant").asBoolean());
    }
  }

  @Test
  void subscribingTwiceDeliversTwice() throws Exception {
    try (DdpTestClient c = subscribedBot()) {
      assertEquals("ready", msg(c.subscribe("__my_messages__", "s2")));
      String id = server.userSays("alice", "general", "twice");
      c.changed(id, WAIT);
      c.changed(id, WAIT);
    }
  }

  @Test
  void perRoomSubscribersGetTheMessageOnly() throws Exception {
    try (DdpTestClient c = DdpTestClient.open(server.websocketUrl())) {
      c.connect();
      c.resume(bot.token(), "l1");
      c.subscribe("GENERAL", "r1");
      String id = server.userSays("alice", "general", "room event");
      JsonNode e = c.changed(id, WAIT);
      assertEquals("GENERAL", e.path("fields").path("eventName").asText());
      assertEquals(1, e.path("fields").path("args").size());
    }
  }

  @Test
  void typingIsRecordedAndUnknownMethodsAre404() throws Exception {
    server.directMessage("alice", "bot", "hi");
    String rid = server.posted().get(0).roomId();
    try (DdpTestClient c = subscribedBot()) {
      c.send("{\"msg\":\"method\",\"method\":\"stream-notify-room\",\"id\":\"t1\",\"params\":[\"" + rid
          + "/user-activity\",\"bot\",[\"user-typing\"],{}]}");
      JsonNode ok = c.await(f -> msg(f).equals("result") && f.path("id").asText().equals("t1"), WAIT);
      assertFalse(ok.has("error"));
      assertEquals("user-typing", server.typingEvents().get(0).activity().get(0));
      c.send("{\"msg\":\"method\",\"method\":\"nope\",\"id\":\"m1\",\"params\":[]}");
      JsonNode unknown = c.await(f -> msg(f).equals("result") && f.path("id").asText().equals("m1"), WAIT);
      assertEquals(404, unknown.path("error").path("error").asInt());
      assertEquals("Method 'nope' not found", unknown.path("error").path("reason").asText());
    }
  }

  // ---------------------------------------------------------------- fault hooks

  @Test
  void dropSocketsResetsTheConnectionWithoutACloseFrame() throws Exception {
    try (DdpTestClient c = subscribedBot()) {
      assertEquals(1, server.dropSockets());
      Throwable error = c.failed.get(5, TimeUnit.SECONDS);
      assertTrue(error instanceof IOException, "an I/O error, not a close handshake: " + error);
      assertFalse(c.closedByServer.isDone());
    }
  }

  @Test
  void silenceLeavesTheSocketOpenButSendsNothing() throws Exception {
    try (DdpTestClient c = subscribedBot()) {
      assertEquals(1, server.silence());
      assertEquals(0, server.myMessagesSubscribers("bot"));
      c.frames.clear();
      c.send("{\"msg\":\"ping\",\"id\":\"anyone?\"}");
      server.userSays("alice", "general", "into the void");
      // three server heartbeat periods with neither a pong, a ping, an event nor a close
      assertNull(c.frames.poll(1, TimeUnit.SECONDS));
      assertFalse(c.closedByServer.isDone());
      assertFalse(c.failed.isDone());
    }
    try (DdpTestClient fresh = subscribedBot()) {
      assertTrue(server.awaitMyMessagesSubscribers("bot", 1, WAIT), "new connections are not silenced");
    }
  }

  @Test
  void anOutageRefusesNewSocketsUntilItEnds() throws Exception {
    DdpTestClient c = subscribedBot();
    String during;
    try (RocketChatStandIn.Outage outage = server.realtimeOutage()) {
      c.failed.get(5, TimeUnit.SECONDS);
      CompletionException refused = assertThrows(CompletionException.class, () -> HttpClient.newHttpClient()
          .newWebSocketBuilder().buildAsync(URI.create(server.websocketUrl()), new WebSocket.Listener() {}).join());
      assertTrue(refused.getCause() instanceof WebSocketHandshakeException);
      assertEquals(503, ((WebSocketHandshakeException) refused.getCause()).getResponse().statusCode());
      assertEquals(1, server.realtimeConnectionsRefused());
      during = server.userSays("alice", "general", "nobody listens");
    }
    Response sync = rest.get("chat.syncMessages?roomId=GENERAL&lastUpdate="
        + Instant.now().minusSeconds(60), bot);
    assertTrue(sync.body().toString().contains(during), "what was said during the outage is there to catch up");
    try (DdpTestClient again = subscribedBot()) {
      assertEquals(1, server.myMessagesSubscribers("bot"));
    }
  }

  @Test
  void restartResetsEveryConnectionButKeepsTokensAndData() throws Exception {
    String before = server.userSays("alice", "general", "before restart");
    DdpTestClient c = subscribedBot();
    server.restart();
    c.failed.get(5, TimeUnit.SECONDS);
    assertEquals(200, rest.get("me", bot).status(), "tokens survive a restart");
    assertTrue(server.message(before).isPresent());
    try (DdpTestClient again = subscribedBot()) {
      assertTrue(server.awaitMyMessagesSubscribers("bot", 1, WAIT));
    }
  }

  @Test
  void expiredTokensAre401AndCloseTheirRealtimeConnections() throws Exception {
    try (DdpTestClient c = subscribedBot()) {
      assertEquals(1, server.expireTokens("bot"));
      assertEquals(401, rest.get("me", bot).status());
      c.closedByServer.get(5, TimeUnit.SECONDS);
    }
    try (DdpTestClient c = DdpTestClient.open(server.websocketUrl())) {
      c.connect();
      assertEquals(403, c.resume(bot.token(), "l2").path("error").path("error").asInt());
    }
  }

  @Test
  void tokensExpireWithTheirLifetime() {
    try (RocketChatStandIn shortLived = RocketChatStandIn.builder().admin("admin", "pw")
        .tokenLifetime(Duration.ZERO).start()) {
      RestTestClient r = new RestTestClient(shortLived.url());
      assertEquals(401, r.get("me", r.login("admin", "pw")).status());
    }
  }

  @Test
  void failNextAnswersOnceWhatItIsTold() {
    server.failNext("chat.postMessage", 500, "{\"success\":false,\"error\":\"Internal server error\"}");
    Response failed = rest.post("chat.postMessage", bot, "{\"roomId\":\"GENERAL\",\"text\":\"x\"}");
    assertEquals(500, failed.status());
    assertEquals("Internal server error", failed.body().path("error").asText());
    assertEquals(200, rest.post("chat.postMessage", bot, "{\"roomId\":\"GENERAL\",\"text\":\"x\"}").status());
  }

  @Test
  void rateLimitUntilAnswers429UntilTheResetEvenForExemptCallers() {
    var clock = new MutableClock(Instant.parse("2026-11-01T10:00:00Z"));
    try (RocketChatStandIn limited = RocketChatStandIn.builder().admin("admin", "pw").clock(clock).start()) {
      RestTestClient r = new RestTestClient(limited.url());
      Auth root = r.login("admin", "pw");
      Instant reset = limited.rateLimitUntil("chat.postMessage", Duration.ofSeconds(30));
      Response refused = r.post("chat.postMessage", root, "{\"roomId\":\"GENERAL\",\"text\":\"x\"}");
      assertEquals(429, refused.status());
      assertEquals(String.valueOf(reset.toEpochMilli()), refused.header("X-RateLimit-Reset"));
      assertTrue(refused.body().path("error").asText().contains("You must wait 30 seconds"));
      clock.set(reset.minusMillis(1));
      assertEquals(429, r.post("chat.postMessage", root, "{\"roomId\":\"GENERAL\",\"text\":\"x\"}").status());
      clock.set(reset);
      assertEquals(200, r.post("chat.postMessage", root, "{\"roomId\":\"GENERAL\",\"text\":\"x\"}").status());
    }
  }

  /** A clock the test moves by hand. */
  static final class MutableClock extends java.time.Clock {
    private volatile Instant now;

    MutableClock(Instant start) {
      this.now = start;
    }

    void set(Instant instant) {
      this.now = instant;
    }

    @Override
    public java.time.ZoneId getZone() {
      return java.time.ZoneOffset.UTC;
    }

    @Override
    public java.time.Clock withZone(java.time.ZoneId zone) {
      return this;
    }

    @Override
    public Instant instant() {
      return now;
    }
  }

  @Test
  void delayedResponsesArriveLate() {
    server.delayResponses(Duration.ofMillis(300));
    long start = System.nanoTime();
    assertEquals(200, rest.get("me", bot).status());
    assertTrue(System.nanoTime() - start >= TimeUnit.MILLISECONDS.toNanos(300));
    server.delayResponses(Duration.ZERO);
  }

  @Test
  void inspectionShowsWhoPostedWhatWhereWithWhichThread() {
    String parent = server.userSays("alice", "general", "question");
    rest.post("chat.postMessage", bot, "{\"roomId\":\"GENERAL\",\"text\":\"answer\",\"tmid\":\"" + parent + "\"}");
    RocketChatStandIn.Posted answer = server.postedBy("bot").get(0);
    assertEquals("GENERAL", answer.roomId());
    assertEquals("general", answer.roomName());
    assertEquals(parent, answer.threadId());
    assertEquals("chat.postMessage", answer.via());
    assertTrue(server.requests().stream().anyMatch(r -> r.endpoint().equals("chat.postMessage")
        && "bot".equals(r.username()) && r.status() == 200));
  }
}
