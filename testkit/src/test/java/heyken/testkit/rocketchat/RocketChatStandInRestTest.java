package heyken.testkit.rocketchat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import heyken.testkit.rocketchat.RestTestClient.Auth;
import heyken.testkit.rocketchat.RestTestClient.Response;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The stand-in's REST half answers with the status codes and bodies of shared/protocols/rocketchat.md §1 and §6. */
class RocketChatStandInRestTest {

  private RocketChatStandIn server;
  private RestTestClient rest;
  private Auth admin;

  @BeforeEach
  void start() {
    server = RocketChatStandIn.start();
    rest = new RestTestClient(server.url());
    admin = rest.login("admin", "admin-password");
  }

  @AfterEach
  void stop() {
    server.close();
  }

  private String createUser(String username, boolean verified, String... roles) {
    StringBuilder r = new StringBuilder();
    for (String role : roles) {
      r.append(r.length() == 0 ? "" : ",").append('"').append(role).append('"');
    }
    Response res = rest.post("users.create", admin, "{\"email\":\"" + username + "@x.invalid\",\"name\":\"" + username
        + "\",\"password\":\"pw-" + username + "\",\"username\":\"" + username + "\",\"roles\":[" + r + "],"
        + "\"joinDefaultChannels\":false,\"verified\":" + verified + ",\"requirePasswordChange\":false,"
        + "\"sendWelcomeEmail\":false}");
    assertEquals(200, res.status(), res.body().toString());
    return res.body().path("user").path("_id").asText();
  }

  @Test
  void loginAnswersTheTokenAndTheUser() {
    Response r = rest.post("login", null, "{\"user\":\"admin\",\"password\":\"admin-password\"}");
    assertEquals(200, r.status());
    assertEquals("success", r.body().path("status").asText());
    assertTrue(r.body().path("success").asBoolean());
    assertFalse(r.body().path("data").path("authToken").asText().isEmpty());
    assertEquals("admin", r.body().path("data").path("me").path("username").asText());
    assertEquals("admin", r.body().path("data").path("me").path("roles").path(0).asText());
  }

  @Test
  void aWrongPasswordIs401WithStatusError() {
    Response r = rest.post("login", null, "{\"user\":\"admin\",\"password\":\"nope\"}");
    assertEquals(401, r.status());
    assertFalse(r.body().path("success").asBoolean());
    assertEquals("error", r.body().path("status").asText());
    assertEquals("Unauthorized", r.body().path("error").asText());
    assertEquals(1, server.failedLogins("admin"));
  }

  @Test
  void tenFailedLoginsBlockTheUser() {
    server.setting("API_Enable_Rate_Limiter", false); // ten logins from one IP would also hit the limiter
    for (int i = 0; i < StandInState.MAX_FAILED_LOGINS; i++) {
      assertEquals(401, rest.post("login", null, "{\"user\":\"admin\",\"password\":\"nope\"}").status());
    }
    Response r = rest.post("login", null, "{\"user\":\"admin\",\"password\":\"admin-password\"}");
    assertEquals(401, r.status());
    assertEquals("error-login-blocked-for-user", r.body().path("error").asText());
  }

  @Test
  void anAuthenticatedRouteWithoutTokenIs401WithTheLoggedInBody() {
    Response r = rest.get("me", null);
    assertEquals(401, r.status());
    assertEquals("You must be logged in to do this.", r.body().path("error").asText());
    assertEquals("You must be logged in to do this.", r.body().path("message").asText());
    assertEquals("error", r.body().path("status").asText());
    assertEquals(401, rest.get("me", new Auth(admin.userId(), "forged")).status());
  }

  @Test
  void meAnswersTheUserAtTopLevel() {
    Response r = rest.get("me", admin);
    assertEquals(200, r.status());
    assertEquals(admin.userId(), r.body().path("_id").asText());
    assertEquals("admin", r.body().path("username").asText());
    assertTrue(r.body().path("success").asBoolean());
  }

  @Test
  void creatingUsersNeedsAdminAndRefusesDuplicatesAndUnknownKeys() {
    createUser("alice", false);
    Auth alice = rest.login("alice", "pw-alice");
    Response forbidden = rest.post("users.create", alice,
        "{\"email\":\"b@x.invalid\",\"name\":\"b\",\"password\":\"p\",\"username\":\"bob\"}");
    assertEquals(403, forbidden.status());
    assertEquals("User does not have the permissions required for this action [error-unauthorized]",
        forbidden.body().path("error").asText());

    Response dup = rest.post("users.create", admin,
        "{\"email\":\"other@x.invalid\",\"name\":\"a\",\"password\":\"p\",\"username\":\"alice\"}");
    assertEquals(400, dup.status());
    assertEquals("alice is already in use :( [error-field-unavailable]", dup.body().path("error").asText());
    assertEquals("error-field-unavailable", dup.body().path("errorType").asText());

    Response extra = rest.post("users.create", admin,
        "{\"email\":\"c@x.invalid\",\"name\":\"c\",\"password\":\"p\",\"username\":\"carol\",\"colour\":\"red\"}");
    assertEquals(400, extra.status());
    assertEquals("invalid-params", extra.body().path("errorType").asText());
  }

  @Test
  void aVerifiedUserWithEmailTwoFactorCannotLogInWithAPassword() {
    createUser("verified", true);
    createUser("unverified", false);
    Response r = rest.post("login", null, "{\"user\":\"verified\",\"password\":\"pw-verified\"}");
    assertEquals(401, r.status());
    assertEquals("totp-required", r.body().path("error").asText());
    assertEquals("email", r.body().path("details").path("method").asText());
    assertNotNull(rest.login("unverified", "pw-unverified"));
  }

  @Test
  void usersCreateJoinsDefaultChannelsUnlessToldNot() {
    rest.post("users.create", admin,
        "{\"email\":\"d@x.invalid\",\"name\":\"d\",\"password\":\"p\",\"username\":\"dora\"}");
    createUser("eve", false);
    assertTrue(server.room("general").orElseThrow().memberUsernames().contains("dora"));
    assertFalse(server.room("general").orElseThrow().memberUsernames().contains("eve"));
  }

  @Test
  void usersInfoShowsRolesOnlyToThoseAllowedToSeeThem() {
    String botId = createUser("bot1", false, "bot");
    Auth bot = rest.login("bot1", "pw-bot1");
    Response byAdmin = rest.get("users.info?userId=" + admin.userId(), admin);
    assertEquals("admin", byAdmin.body().path("user").path("roles").path(0).asText());
    Response byBot = rest.get("users.info?userId=" + admin.userId(), bot);
    assertEquals(200, byBot.status());
    assertTrue(byBot.body().path("user").path("roles").isMissingNode());
    assertEquals("bot", rest.get("users.info?userId=" + botId, bot).body().path("user").path("roles").path(0)
        .asText());

    Response grant = rest.post("permissions.update", admin,
        "{\"permissions\":[{\"_id\":\"view-full-other-user-info\",\"roles\":[\"admin\",\"bot\"]}]}");
    assertEquals(200, grant.status(), grant.body().toString());
    assertEquals("admin", rest.get("users.info?userId=" + admin.userId(), bot).body().path("user").path("roles")
        .path(0).asText());
    Response unknown = rest.get("users.info?username=nobody", admin);
    assertEquals(400, unknown.status());
    assertEquals("User not found.", unknown.body().path("error").asText());
  }

  @Test
  void permissionsUpdateRefusesUnknownRolesAndNonAdmins() {
    createUser("frank", false);
    Auth frank = rest.login("frank", "pw-frank");
    assertEquals(403, rest.post("permissions.update", frank,
        "{\"permissions\":[{\"_id\":\"create-c\",\"roles\":[\"user\"]}]}").status());
    Response badRole = rest.post("permissions.update", admin,
        "{\"permissions\":[{\"_id\":\"create-c\",\"roles\":[\"wizard\"]}]}");
    assertEquals(400, badRole.status());
    assertEquals("error-invalid-role", badRole.body().path("errorType").asText());
    JsonNode all = rest.get("permissions.listAll", admin).body().path("update");
    assertTrue(all.isArray() && all.size() > 5);
  }

  @Test
  void theFirstRegisteredUserOfAServerWithoutAdminBecomesAdminAndTheWizardMovesOn() {
    try (RocketChatStandIn fresh = RocketChatStandIn.builder().start()) {
      assertEquals("pending", fresh.settingValue("Show_Setup_Wizard"));
      RestTestClient r = new RestTestClient(fresh.url());
      Response first = r.post("users.register", null,
          "{\"username\":\"owner\",\"email\":\"o@x.invalid\",\"pass\":\"pw\",\"name\":\"Owner\"}");
      assertEquals(200, first.status(), first.body().toString());
      assertTrue(fresh.user("owner").orElseThrow().roles().contains("admin"));
      assertEquals("in_progress", fresh.settingValue("Show_Setup_Wizard"));
      r.post("users.register", null, "{\"username\":\"second\",\"email\":\"s@x.invalid\",\"pass\":\"pw\","
          + "\"name\":\"S\"}");
      assertFalse(fresh.user("second").orElseThrow().roles().contains("admin"));
    }
  }

  @Test
  void theWizardSettingNeedsThePasswordFallbackHeaders() {
    assertEquals("in_progress", server.settingValue("Show_Setup_Wizard"));
    Response missing = rest.post("settings/Show_Setup_Wizard", admin, "{\"value\":\"completed\"}");
    assertEquals(400, missing.status());
    assertEquals("totp-required", missing.body().path("errorType").asText());
    assertEquals("TOTP Required [totp-required]", missing.body().path("error").asText());
    assertEquals("password", missing.body().path("details").path("method").asText());
    assertFalse(missing.body().path("details").path("codeGenerated").asBoolean());

    Response wrong = rest.post("settings/Show_Setup_Wizard", admin, "{\"value\":\"completed\"}",
        "X-2fa-Code", StandInState.sha256("not-it"), "X-2fa-Method", "password");
    assertEquals(400, wrong.status());
    assertEquals("totp-invalid", wrong.body().path("errorType").asText());

    Response ok = rest.post("settings/Show_Setup_Wizard", admin, "{\"value\":\"completed\"}",
        "X-2fa-Code", StandInState.sha256("admin-password"), "X-2fa-Method", "password");
    assertEquals(200, ok.status(), ok.body().toString());
    assertEquals("completed", server.settingValue("Show_Setup_Wizard"));
    Response read = rest.get("settings/Show_Setup_Wizard", admin);
    assertEquals("completed", read.body().path("value").asText());
  }

  @Test
  void aFreshAdminNeedsNoTwoFactorHeaders() {
    try (RocketChatStandIn fresh = RocketChatStandIn.builder().admin("root", "pw").adminAge(Duration.ZERO).start()) {
      RestTestClient r = new RestTestClient(fresh.url());
      Auth root = r.login("root", "pw");
      assertEquals(200, r.post("settings/Show_Setup_Wizard", root, "{\"value\":\"completed\"}").status());
    }
  }

  @Test
  void generalAlreadyExistsSoCreatingItIsADuplicate() {
    Response info = rest.get("channels.info?roomName=general", admin);
    assertEquals(200, info.status());
    assertEquals("GENERAL", info.body().path("channel").path("_id").asText());
    assertTrue(info.body().path("channel").path("default").asBoolean());
    Response dup = rest.post("channels.create", admin, "{\"name\":\"general\"}");
    assertEquals(400, dup.status());
    assertEquals("error-duplicate-channel-name", dup.body().path("errorType").asText());
    assertEquals("A channel with name 'general' exists [error-duplicate-channel-name]",
        dup.body().path("error").asText());
    Response missing = rest.get("channels.info?roomName=nowhere", admin);
    assertEquals(400, missing.status());
    assertEquals("error-room-not-found", missing.body().path("errorType").asText());
  }

  @Test
  void createdRoomsHaveTheirMembersAndPrivateGroupsHideFromOutsiders() {
    createUser("bot2", false, "bot");
    createUser("gina", false);
    Response ch = rest.post("channels.create", admin, "{\"name\":\"heyken-system\",\"members\":[\"bot2\"],"
        + "\"readOnly\":false}");
    assertEquals(200, ch.status(), ch.body().toString());
    assertEquals("c", ch.body().path("channel").path("t").asText());
    Response gr = rest.post("groups.create", admin, "{\"name\":\"heyken-sandbox\",\"members\":[\"bot2\"]}");
    assertEquals("p", gr.body().path("group").path("t").asText());
    assertEquals(List.of("admin", "bot2"), server.room("heyken-sandbox").orElseThrow().memberUsernames());

    Auth gina = rest.login("gina", "pw-gina");
    Response hidden = rest.get("groups.info?roomName=heyken-sandbox", gina);
    assertEquals(400, hidden.status());
    assertEquals("error-room-not-found", hidden.body().path("errorType").asText());
    String groupId = gr.body().path("group").path("_id").asText();
    Response refused = rest.post("groups.invite", gina, "{\"roomId\":\"" + groupId + "\",\"username\":\"gina\"}");
    assertEquals(400, refused.status());
    assertEquals("error-not-allowed", refused.body().path("errorType").asText());

    Response invited = rest.post("groups.invite", admin, "{\"roomId\":\"" + groupId + "\",\"username\":\"gina\"}");
    assertEquals(200, invited.status(), invited.body().toString());
    assertTrue(server.room("heyken-sandbox").orElseThrow().memberUsernames().contains("gina"));
    assertEquals(200, rest.get("groups.info?roomName=heyken-sandbox", gina).status());
    assertEquals(1, rest.get("groups.list", gina).body().path("groups").size());
  }

  @Test
  void onlyOwnersModeratorsAndAdminsInviteToChannels() {
    createUser("hank", false);
    createUser("ivy", false);
    Response ch = rest.post("channels.create", admin, "{\"name\":\"room1\",\"members\":[\"hank\"]}");
    String rid = ch.body().path("channel").path("_id").asText();
    Auth hank = rest.login("hank", "pw-hank");
    Response refused = rest.post("channels.invite", hank, "{\"roomId\":\"" + rid + "\",\"username\":\"ivy\"}");
    assertEquals(400, refused.status());
    Response ok = rest.post("channels.invite", admin, "{\"roomId\":\"" + rid + "\",\"username\":\"ivy\"}");
    assertEquals(200, ok.status());
    assertEquals("room1", ok.body().path("channel").path("name").asText());
  }

  @Test
  void aBotMayNotReadPublicRoomsItHasNotJoined() {
    createUser("bot3", false, "bot");
    Auth bot = rest.login("bot3", "pw-bot3");
    Response r = rest.get("channels.messages?roomId=GENERAL", bot);
    assertEquals(403, r.status());
    rest.post("channels.invite", admin, "{\"roomId\":\"GENERAL\",\"username\":\"bot3\"}");
    assertEquals(200, rest.get("channels.messages?roomId=GENERAL", bot).status());
  }

  @Test
  void postMessageAnswersTheMessageAndThreadsNeedRoomId() {
    Response parent = rest.post("chat.postMessage", admin, "{\"roomId\":\"GENERAL\",\"text\":\"parent\"}");
    assertEquals(200, parent.status(), parent.body().toString());
    JsonNode msg = parent.body().path("message");
    assertEquals("GENERAL", parent.body().path("channel").asText());
    assertTrue(parent.body().path("ts").isNumber());
    assertEquals("GENERAL", msg.path("rid").asText());
    assertEquals("parent", msg.path("msg").asText());
    assertEquals("admin", msg.path("u").path("username").asText());
    Instant.parse(msg.path("ts").asText()); // REST dates are ISO strings

    String parentId = msg.path("_id").asText();
    Response reply = rest.post("chat.postMessage", admin, "{\"roomId\":\"GENERAL\",\"text\":\"child\",\"tmid\":\""
        + parentId + "\"}");
    assertEquals(parentId, reply.body().path("message").path("tmid").asText());
    assertEquals(1, server.message(parentId).orElseThrow().path("tcount").asInt());

    Response refused = rest.post("chat.postMessage", admin, "{\"channel\":\"#general\",\"text\":\"child\","
        + "\"tmid\":\"" + parentId + "\"}");
    assertEquals(400, refused.status());
    assertEquals("invalid-params", refused.body().path("errorType").asText());
    Response nothing = rest.post("chat.postMessage", admin, "{\"text\":\"where?\"}");
    assertEquals("invalid-params", nothing.body().path("errorType").asText());

    RocketChatStandIn.Posted posted = server.posted().get(1);
    assertEquals("GENERAL", posted.roomId());
    assertEquals(parentId, posted.threadId());
  }

  @Test
  void postMessageResolvesNamesJoinsPublicRoomsAndOpensDirectMessages() {
    createUser("jack", false);
    Auth jack = rest.login("jack", "pw-jack");
    assertFalse(server.room("general").orElseThrow().memberUsernames().contains("jack"));
    Response hash = rest.post("chat.postMessage", jack, "{\"channel\":\"#general\",\"text\":\"hello\"}");
    assertEquals(200, hash.status());
    assertEquals("#general", hash.body().path("channel").asText());
    assertTrue(server.room("general").orElseThrow().memberUsernames().contains("jack"));
    JsonNode sync = rest.get("chat.syncMessages?roomId=GENERAL&lastUpdate=1970-01-01T00:00:00Z", jack).body();
    boolean joinMessage = false;
    for (JsonNode m : sync.path("result").path("updated")) {
      joinMessage |= "uj".equals(m.path("t").asText()) && "jack".equals(m.path("msg").asText());
    }
    assertTrue(joinMessage, "posting to #general adds a uj system message");

    Response dm = rest.post("chat.postMessage", jack, "{\"channel\":\"@admin\",\"text\":\"psst\"}");
    assertEquals(200, dm.status());
    String rid = dm.body().path("message").path("rid").asText();
    assertEquals("d", server.room(rid).orElseThrow().type());
    assertEquals(rid, rest.post("im.create", admin, "{\"username\":\"jack\"}").body().path("room").path("rid")
        .asText());
    assertEquals(1, rest.get("im.list", admin).body().path("ims").size());

    Response unknown = rest.post("chat.postMessage", jack, "{\"channel\":\"#nowhere\",\"text\":\"x\"}");
    assertEquals(400, unknown.status());
    assertEquals("invalid-channel", unknown.body().path("errorType").asText());
    Response big = rest.post("chat.postMessage", jack, "{\"roomId\":\"GENERAL\",\"text\":\"" + "x".repeat(5001)
        + "\"}");
    assertEquals(400, big.status());
    assertEquals("error-message-size-exceeded", big.body().path("error").asText());
  }

  @Test
  void sendMessageKeepsTheClientIdAndASecondSendChangesNothingAndFailsWithoutAnErrorType() {
    Response first = rest.post("chat.sendMessage", admin,
        "{\"message\":{\"_id\":\"client-id-000001\",\"rid\":\"GENERAL\",\"msg\":\"once\"}}");
    assertEquals(200, first.status(), first.body().toString());
    assertEquals("client-id-000001", first.body().path("message").path("_id").asText());
    Response again = rest.post("chat.sendMessage", admin,
        "{\"message\":{\"_id\":\"client-id-000001\",\"rid\":\"GENERAL\",\"msg\":\"twice\"}}");
    // sendMessage.ts skips the taken _id silently; the route fails on the missing message (Rocket.Chat 7.x)
    assertEquals(400, again.status());
    assertEquals("{\"success\":false,\"error\":\"Cannot read properties of undefined (reading 'starred')\"}",
        again.body().toString());
    Response kept = rest.get("chat.getMessage?msgId=client-id-000001", admin);
    assertEquals(200, kept.status(), kept.body().toString());
    assertEquals("once", kept.body().path("message").path("msg").asText(), "the stored message is not changed");
  }

  @Test
  void getMessageAnswersTheMessageOrAFailureWithoutText() {
    String id = rest.post("chat.postMessage", admin, "{\"roomId\":\"GENERAL\",\"text\":\"look me up\"}").body()
        .path("message").path("_id").asText();
    Response found = rest.get("chat.getMessage?msgId=" + id, admin);
    assertEquals(200, found.status(), found.body().toString());
    assertEquals("look me up", found.body().path("message").path("msg").asText());
    Response missing = rest.get("chat.getMessage?msgId=no-such-message", admin);
    assertEquals(400, missing.status());
    assertEquals("{\"success\":false}", missing.body().toString());
  }

  @Test
  void aLostAnswerStillStoresTheMessage() {
    server.loseAnswerNext("chat.sendMessage", 504, "{\"success\":false,\"error\":\"gateway timeout\"}");
    Response lost = rest.post("chat.sendMessage", admin,
        "{\"message\":{\"_id\":\"client-id-lost-01\",\"rid\":\"GENERAL\",\"msg\":\"stored\"}}");
    assertEquals(504, lost.status());
    assertEquals("stored", rest.get("chat.getMessage?msgId=client-id-lost-01", admin).body().path("message")
        .path("msg").asText());
  }

  @Test
  void syncMessagesAnswersUpdatesAndDeletionsSinceLastUpdate() {
    String before = Instant.now().minusSeconds(1).toString();
    String a = rest.post("chat.postMessage", admin, "{\"roomId\":\"GENERAL\",\"text\":\"a\"}").body()
        .path("message").path("_id").asText();
    String b = rest.post("chat.postMessage", admin, "{\"roomId\":\"GENERAL\",\"text\":\"b\"}").body()
        .path("message").path("_id").asText();
    rest.post("chat.delete", admin, "{\"roomId\":\"GENERAL\",\"msgId\":\"" + b + "\"}");
    Response r = rest.get("chat.syncMessages?roomId=GENERAL&lastUpdate=" + before, admin);
    assertEquals(200, r.status(), r.body().toString());
    List<String> ids = new ArrayList<>();
    r.body().path("result").path("updated").forEach(m -> ids.add(m.path("_id").asText()));
    assertEquals(List.of(a), ids);
    assertEquals(b, r.body().path("result").path("deleted").path(0).path("_id").asText());

    Response missing = rest.get("chat.syncMessages?roomId=GENERAL", admin);
    assertEquals(400, missing.status());
    assertTrue(missing.body().path("error").asText().contains("error-lastUpdate-param-not-provided"));
  }

  @Test
  void editsAndReactionsChangeTheMessage() {
    String id = rest.post("chat.postMessage", admin, "{\"roomId\":\"GENERAL\",\"text\":\"typo\"}").body()
        .path("message").path("_id").asText();
    Response upd = rest.post("chat.update", admin,
        "{\"roomId\":\"GENERAL\",\"msgId\":\"" + id + "\",\"text\":\"fixed\"}");
    assertEquals(200, upd.status());
    assertEquals("fixed", upd.body().path("message").path("msg").asText());
    assertNotNull(upd.body().path("message").path("editedAt").asText(null));
    assertEquals(200, rest.post("chat.react", admin, "{\"messageId\":\"" + id + "\",\"emoji\":\"thumbsup\"}")
        .status());
    JsonNode now = server.message(id).orElseThrow();
    assertEquals("admin", now.path("reactions").path(":thumbsup:").path("usernames").path(0).asText());
  }

  @Test
  void theRateLimiterAnswers429WithResetForOrdinaryUsersOnly() {
    createUser("kim", false);
    Auth kim = rest.login("kim", "pw-kim");
    Response last = null;
    for (int i = 0; i < 10; i++) {
      last = rest.get("me", kim);
      assertEquals(200, last.status());
    }
    assertEquals("0", last.header("X-RateLimit-Remaining"));
    Response limited = rest.get("me", kim);
    assertEquals(429, limited.status());
    assertEquals("0", limited.header("X-RateLimit-Remaining"));
    long reset = Long.parseLong(limited.header("X-RateLimit-Reset"));
    assertTrue(reset > System.currentTimeMillis(), "Reset is an epoch-ms instant in the future");
    assertTrue(limited.body().path("error").asText().endsWith("[error-too-many-requests]"));
    assertTrue(limited.body().path("errorType").isMissingNode());
    assertNull(limited.header("Retry-After"));
    for (int i = 0; i < 12; i++) {
      Response adminCall = rest.get("me", admin);
      assertEquals(200, adminCall.status(), "admins bypass the limiter");
      assertNull(adminCall.header("X-RateLimit-Limit"));
    }
  }

  @Test
  void usersLogoutRemovesEveryTokenOfTheUser() {
    createUser("leo", false);
    Auth leo1 = rest.login("leo", "pw-leo");
    Auth leo2 = rest.login("leo", "pw-leo");
    Response r = rest.post("users.logout", admin, "{\"userId\":\"" + leo1.userId() + "\"}");
    assertEquals(200, r.status(), r.body().toString());
    assertEquals(401, rest.get("me", leo1).status());
    assertEquals(401, rest.get("me", leo2).status());
  }

  @Test
  void subscriptionsGetListsTheCallersRooms() {
    JsonNode update = rest.get("subscriptions.get", admin).body().path("update");
    assertEquals(1, update.size());
    assertEquals("GENERAL", update.path(0).path("rid").asText());
    assertEquals("c", update.path(0).path("t").asText());
    assertEquals("general", update.path(0).path("name").asText());
  }

  @Test
  void unknownRoutesAre404() {
    Response r = rest.get("no.such.endpoint", admin);
    assertEquals(404, r.status());
    assertEquals("Resource not found", r.body().path("error").asText());
  }
}
