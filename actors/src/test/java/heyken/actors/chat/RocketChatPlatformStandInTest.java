package heyken.actors.chat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import heyken.actors.chat.ProvisioningReport.Outcome;
import heyken.testkit.rocketchat.RocketChatStandIn;
import java.net.http.HttpClient;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The contract against the Rocket.Chat stand-in (always runs), plus what only the stand-in can show: what the server
 * saw (where the bot posted, with which tmid; that the wizard call passed 2FA) and faults a real server cannot be made
 * to show on demand.
 */
public class RocketChatPlatformStandInTest extends ChatPlatformContract {

  private RocketChatStandIn server;
  private final ShiftableClock clock = new ShiftableClock();

  /** Fast timings: the watchdog notices silence within a second, reconnects start after 50 ms. */
  public static Map<String, Object> standInKeys(String url) {
    Map<String, Object> keys = new HashMap<>();
    keys.put("heyken.chat.url", url);
    keys.put("heyken.chat.admin-username", "admin");
    keys.put("heyken.chat.admin-password", "admin-password");
    keys.put("heyken.chat.bot-password", "bot-password");
    keys.put("heyken.chat.human-password", "human-password");
    keys.put("heyken.chat.ping-interval", "200ms");
    keys.put("heyken.chat.silence-timeout", "1s");
    keys.put("heyken.chat.reconnect-min-backoff", "50ms");
    keys.put("heyken.chat.reconnect-max-backoff", "400ms");
    keys.put("heyken.chat.login-retry-interval", "1m");
    keys.put("heyken.chat.max-rate-limit-wait", "10s");
    keys.put("heyken.chat.request-timeout", "5s");
    return keys;
  }

  private static ChatSettings settings(Map<String, Object> keys) {
    return ChatSettings.from(ConfigFactory.parseMap(keys));
  }

  @Override
  protected ChatSettings settings() {
    // the contract's @BeforeEach runs before any of this class, so the server starts here
    server = RocketChatStandIn.builder().admin("admin", "admin-password").clock(clock).start();
    return settings(standInKeys(server.url()));
  }

  @Override
  protected void serverDone() {
    server.close();
  }

  @Override
  protected ServerFaults faults() {
    return new ServerFaults() {
      @Override
      public AutoCloseable realtimeOutage() {
        return server.realtimeOutage();
      }

      @Override
      public void silenceRealtime() {
        assertEquals(1, server.silence());
      }

      @Override
      public Instant rateLimit(String endpoint, Duration window) {
        return server.rateLimitUntil(endpoint, window);
      }
    };
  }

  @Test
  void theFirstProvisioningCreatesEverythingAndFinishesTheWizardWithTheTwoFactorHeaders() {
    assertEquals("in_progress", server.settingValue("Show_Setup_Wizard"));
    ProvisioningReport report = platform.provision();
    assertTrue(report.changedAnything(), report.summary());
    Map<String, Outcome> outcomes = new HashMap<>();
    report.steps().forEach(s -> outcomes.put(s.subject(), s.outcome()));
    assertEquals(Outcome.CREATED, outcomes.get("user heyken_bot"));
    assertEquals(Outcome.CREATED, outcomes.get("user user"));
    assertEquals(Outcome.UPDATED, outcomes.get("permission view-full-other-user-info"));
    assertEquals(Outcome.CREATED, outcomes.get("channel heyken-system"));
    assertEquals(Outcome.CREATED, outcomes.get("channel heyken-logs"));
    assertEquals(Outcome.CREATED, outcomes.get("private group heyken-sandbox"));
    assertEquals(Outcome.UPDATED, outcomes.get("channel general"), "general existed; members were added");
    assertEquals(Outcome.UPDATED, outcomes.get("setting Show_Setup_Wizard"));

    assertEquals("completed", server.settingValue("Show_Setup_Wizard"));
    assertEquals("p", server.room("heyken-sandbox").orElseThrow().type());
    assertEquals(List.of("admin", "heyken_bot", "user"),
        server.room("heyken-sandbox").orElseThrow().memberUsernames(), "members given at creation");
    assertTrue(server.room("general").orElseThrow().memberUsernames().containsAll(List.of("heyken_bot", "user")));
    RocketChatStandIn.UserView bot = server.user("heyken_bot").orElseThrow();
    assertTrue(bot.roles().contains("bot"));
    assertFalse(bot.emailVerified(), "created unverified, out of reach of email 2FA");
    assertTrue(server.permissionRoles("view-full-other-user-info").contains("bot"));
    // the admin is a day old on this server: without X-2fa-Code/X-2fa-Method the wizard POST would have been refused
    assertTrue(server.requests().stream().anyMatch(r -> r.endpoint().equals("settings/Show_Setup_Wizard")
        && r.method().equals("POST") && r.status() == 200));
  }

  @Test
  void aPrivateGroupTheAdminCannotSeeIsReportedNotFought() {
    server.createUser("someone", "pw");
    var rest = new RocketChatRest(settings, HttpClient.newHttpClient());
    rest.post(rest.session("someone", "pw", "the test"), "groups.create",
        rest.object().put("name", "heyken-sandbox"));
    ProvisioningReport report = platform.provision();
    assertTrue(report.needsAttention(), report.summary());
    ProvisioningReport.Step step = report.steps().stream()
        .filter(s -> s.subject().equals("private group heyken-sandbox")).findFirst().orElseThrow();
    assertEquals(Outcome.NEEDS_ATTENTION, step.outcome());
    assertTrue(step.detail().contains("add admin and heyken_bot to it"), step.detail());
    assertTrue(report.summary().startsWith("Rocket.Chat provisioning needs attention"), report.summary());
  }

  @Test
  void aBotAccountWithEmailTwoFactorIsReportedAndNotRetried() {
    var rest = new RocketChatRest(settings, HttpClient.newHttpClient());
    var body = rest.object().put("email", "bot@x.invalid").put("name", "bot").put("password", "bot-password")
        .put("username", "heyken_bot").put("verified", true);
    body.putArray("roles").add("bot");
    rest.post(rest.session("admin", "admin-password", "the test"), "users.create", body);
    ProvisioningReport report = platform.provision();
    ProvisioningReport.Step login = report.steps().stream().filter(s -> s.subject().equals("login heyken_bot"))
        .findFirst().orElseThrow();
    assertEquals(Outcome.NEEDS_ATTENTION, login.outcome());
    assertTrue(login.detail().contains("emailed two-factor code"), login.detail());
    ChatException refused = assertThrows(ChatException.LoginRefused.class, () -> platform.post("GENERAL", "hi"));
    assertTrue(refused.getMessage().contains("verified email"), refused.getMessage());
  }

  @Test
  void aWrongBotPasswordIsTriedOnceNotInALoop() {
    provision();
    Map<String, Object> keys = standInKeys(server.url());
    keys.put("heyken.chat.bot-password", "not-the-password");
    try (RocketChatPlatform misconfigured = new RocketChatPlatform(settings(keys))) {
      Inbox inbox = new Inbox();
      misconfigured.listen(Map.of(), inbox);
      Inbox.StatusChange status = inbox.awaitStatus(RealtimeSession.Status.RECONNECTING, 1, WAIT);
      assertTrue(status.reason().contains("ROCKETCHAT_BOT_PASSWORD"), status.reason());
      assertEquals(1, server.failedLogins("heyken_bot"), "the next attempt waits login-retry-interval (1 min)");
    }
  }

  @Test
  void theThreadReplyWentOutAsRoomIdPlusTmid() {
    ProvisioningReport report = provision();
    String system = room(report, settings.systemChannel());
    String question = human.say(system, "q " + nonce);
    platform.replyInThread(system, question, "a " + nonce);
    RocketChatStandIn.Posted sent = server.postedBy("heyken_bot").get(0);
    assertEquals(system, sent.roomId());
    assertEquals(question, sent.threadId());
    assertEquals("chat.postMessage", sent.via());
    assertEquals(1, server.message(question).orElseThrow().path("tcount").asInt());
  }

  @Test
  void aSendWhoseAnswerWasLostIsFoundNotSentAgainAndEndsWithTheFinalText() {
    ProvisioningReport report = provision();
    String system = room(report, settings.systemChannel());
    String id = "heykenLost" + nonce;
    // the server stores the message, the client gets a proxy's timeout instead of the answer
    server.loseAnswerNext("chat.sendMessage", 504, "{\"success\":false,\"error\":\"upstream timed out\"}");
    boolean posted = platform.postOnce(system, null, id, "Writing the answer…");
    assertFalse(posted, "the lost send is found on the server, not repeated");
    // what the gateway does next: the final text goes into the message it began
    if (!platform.postOnce(system, null, id, "the final answer")) {
      platform.update(system, id, "the final answer");
    }
    assertEquals(1, server.postedBy("heyken_bot").stream().filter(p -> p.messageId().equals(id)).count());
    assertEquals("the final answer", server.message(id).orElseThrow().path("msg").asText());
  }

  @Test
  void aSendThatFailedBeforeTheServerStoredItIsSentAgain() {
    ProvisioningReport report = provision();
    String system = room(report, settings.systemChannel());
    String id = "heykenRetry" + nonce;
    server.failNext("chat.sendMessage", 502, "{\"success\":false,\"error\":\"bad gateway\"}");
    assertTrue(platform.postOnce(system, null, id, "after one retry"));
    assertEquals("after one retry", server.message(id).orElseThrow().path("msg").asText());
    assertEquals(1, server.postedBy("heyken_bot").stream().filter(p -> p.messageId().equals(id)).count());
  }

  @Test
  void aRefusedSendOfAMessageThatIsNotThereIsThrownNotRetried() {
    ProvisioningReport report = provision();
    String system = room(report, settings.systemChannel());
    server.failNext("chat.sendMessage", 400, "{\"success\":false,\"error\":\"Not allowed [error-not-allowed]\","
        + "\"errorType\":\"error-not-allowed\"}");
    ChatException e = assertThrows(ChatException.class,
        () -> platform.postOnce(system, null, "heykenRefused" + nonce, "refused"));
    assertEquals("error-not-allowed", e.errorType());
    assertTrue(server.message("heykenRefused" + nonce).isEmpty());
  }

  @Test
  void aRateLimitLongerThanTheBudgetFailsWithAdvice() {
    ProvisioningReport report = provision();
    server.rateLimitUntil("chat.postMessage", Duration.ofMinutes(5));
    ChatException e = assertThrows(ChatException.RateLimited.class,
        () -> platform.post(room(report, settings.systemChannel()), "too soon"));
    assertTrue(e.getMessage().contains("max-rate-limit-wait"), e.getMessage());
  }

  @Test
  void aDroppedSocketIsReplacedAndTheOldOneIsGone() {
    Inbox inbox = provisionAndListen();
    assertEquals(1, server.dropSockets());
    inbox.awaitStatus(RealtimeSession.Status.LIVE, 2, WAIT);
    String id = human.say(directRoom(), "after the drop " + nonce);
    inbox.await(id, WAIT);
    sentinel(inbox);
    assertEquals(1, inbox.count(id));
    assertEquals(1, server.myMessagesSubscribers("heyken_bot"), "one subscription, not one per reconnect");
  }

  @Test
  void aServerRestartIsRecoveredFromAndCaughtUp() throws Exception {
    Inbox inbox = provisionAndListen();
    String id;
    try (RocketChatStandIn.Outage outage = server.realtimeOutage()) {
      server.restart();
      inbox.awaitStatus(RealtimeSession.Status.RECONNECTING, 1, WAIT);
      id = server.directMessage("user", "heyken_bot", "written during the restart " + nonce);
    }
    inbox.await(id, WAIT);
    sentinel(inbox);
    assertEquals(1, inbox.count(id));
  }

  @Test
  void aResumeTokenRefusedOverDdpLeadsToOneFreshLogin() {
    Inbox inbox = provisionAndListen();
    long loginsBefore = botLogins();
    // no REST call of the platform in between: the realtime session is the first to find the token dead
    assertTrue(server.expireTokens("heyken_bot") >= 1);
    inbox.awaitStatus(RealtimeSession.Status.LIVE, 2, WAIT);
    assertEquals(loginsBefore + 1, botLogins(), "exactly one password login replaced the token");
    String id = human.say(directRoom(), "after the expiry " + nonce);
    inbox.await(id, WAIT);
  }

  private long botLogins() {
    return server.requests().stream()
        .filter(r -> r.endpoint().equals("login") && r.status() == 200 && "heyken_bot".equals(r.username())).count();
  }

  @Test
  void theNextSessionStartsFromTheHighWaterMarks() {
    Inbox first = provisionAndListen();
    String answered = human.say(directRoom(), "answered before the restart " + nonce);
    first.await(answered, WAIT);
    // the mark of a message moves right after its delivery, so after the sentinel it covers "answered"
    sentinel(first);
    Map<String, Instant> marks = session.highWaterMarks();
    assertTrue(marks.containsKey(directRoom()), "marks: " + marks);
    platform.close();

    String missed = human.say(directRoom(), "written while Heyken was down " + nonce);
    Map<String, Object> keys = standInKeys(server.url());
    keys.put("heyken.chat.catch-up-overlap", "0ms"); // so that "before the mark" is exact for this test
    try (RocketChatPlatform restarted = new RocketChatPlatform(settings(keys))) {
      Inbox second = new Inbox();
      restarted.listen(marks, second);
      second.await(missed, WAIT);
      String barrier = human.say(directRoom(), "barrier " + nonce);
      second.await(barrier, WAIT);
      assertEquals(0, second.count(answered), "handled before the mark: not delivered again");
      assertEquals(1, second.count(missed));
    }
  }

  @Test
  void aRoomWithoutAMarkStartsAtTheMomentOfListening() {
    provision();
    clock.shift(Duration.ofHours(-1));
    String history = human.say(directRoom(), "an hour ago " + nonce);
    clock.shift(Duration.ZERO);
    Inbox inbox = new Inbox();
    session = platform.listen(Map.of(), inbox);
    inbox.awaitStatus(RealtimeSession.Status.LIVE, 1, WAIT);
    sentinel(inbox);
    assertEquals(0, inbox.count(history), "history from before the first start is not answered");
  }

  /** The stand-in's clock: the system clock, shifted on demand (to write "history"). */
  static final class ShiftableClock extends java.time.Clock {
    private volatile Duration shift = Duration.ZERO;

    void shift(Duration by) {
      this.shift = by;
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
      return Instant.now().plus(shift);
    }
  }
}
