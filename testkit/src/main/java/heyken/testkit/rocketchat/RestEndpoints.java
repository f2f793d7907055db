package heyken.testkit.rocketchat;

import static heyken.testkit.rocketchat.StandInState.NODES;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import heyken.testkit.rocketchat.StandInState.Msg;
import heyken.testkit.rocketchat.StandInState.Room;
import heyken.testkit.rocketchat.StandInState.User;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The REST half of the stand-in ({@code /api/v1/...} and {@code /api/info}): authentication, permissions, the rate
 * limiter, the fault hooks, and every endpoint of shared/protocols/rocketchat.md §1.2 with the real status codes and
 * bodies. Pure request → reply; the HTTP plumbing is in {@link RocketChatStandIn}.
 */
final class RestEndpoints {

  static final String VERSION = "7.10.0";

  /** A parsed request: endpoint is the path after {@code /api/v1/} (or {@code info} for {@code /api/info}). */
  record Request(String method, String endpoint, Map<String, String> query, JsonNode body,
      Map<String, String> headers, String clientIp) {
    String header(String name) {
      return headers.get(name.toLowerCase(java.util.Locale.ROOT));
    }
  }

  record Reply(int status, ObjectNode body, Map<String, String> headers) {}

  private record Failure(int status, ObjectNode body) {}

  private static final class Window {
    Instant start;
    int count;

    Window(Instant start) {
      this.start = start;
    }
  }

  private static final Set<String> USERS_CREATE_KEYS = Set.of("email", "name", "password", "username", "active",
      "bio", "nickname", "statusText", "roles", "joinDefaultChannels", "requirePasswordChange", "setRandomPassword",
      "sendWelcomeEmail", "verified", "customFields", "settings");
  private static final Set<String> POST_MESSAGE_COMMON_KEYS = Set.of("text", "alias", "emoji", "avatar",
      "attachments", "customFields", "parseUrls");

  private final StandInState state;
  // all of the following are guarded by the state's monitor
  private final Map<String, Deque<Failure>> failNext = new HashMap<>();
  // answers that replace the real one after the call was carried out (the work is done, the client never hears it)
  private final Map<String, Deque<Failure>> loseAnswerNext = new HashMap<>();
  private final Map<String, Instant> forcedLimits = new HashMap<>();
  private final Map<String, Window> windows = new HashMap<>();
  private final List<RocketChatStandIn.Request> log = new ArrayList<>();
  private final int limitCalls;
  private final Duration limitWindow;
  private final boolean legacyGroupsList;

  RestEndpoints(StandInState state, int limitCalls, Duration limitWindow, boolean legacyGroupsList) {
    this.state = state;
    this.limitCalls = limitCalls;
    this.limitWindow = limitWindow;
    this.legacyGroupsList = legacyGroupsList;
  }

  // ---------------------------------------------------------------- hooks

  void failNext(String endpoint, int status, ObjectNode body) {
    synchronized (state) {
      failNext.computeIfAbsent(endpoint, e -> new ArrayDeque<>()).add(new Failure(status, body));
    }
  }

  void loseAnswerNext(String endpoint, int status, ObjectNode body) {
    synchronized (state) {
      loseAnswerNext.computeIfAbsent(endpoint, e -> new ArrayDeque<>()).add(new Failure(status, body));
    }
  }

  Instant rateLimitUntil(String endpoint, Duration window) {
    synchronized (state) {
      Instant resetAt = state.now().plus(window);
      forcedLimits.put(endpoint, resetAt);
      return resetAt;
    }
  }

  List<RocketChatStandIn.Request> requests() {
    synchronized (state) {
      return List.copyOf(log);
    }
  }

  // ---------------------------------------------------------------- dispatch

  Reply handle(Request req) {
    synchronized (state) {
      Map<String, String> headers = new LinkedHashMap<>();
      User caller = null;
      int status;
      ObjectNode body;
      try {
        Deque<Failure> queued = failNext.get(req.endpoint());
        if (queued != null && !queued.isEmpty()) {
          Failure f = queued.poll();
          return logged(req, null, new Reply(f.status(), f.body(), headers));
        }
        boolean authRequired = !Set.of("login", "users.register", "info").contains(req.endpoint());
        if (authRequired) {
          caller = state.authenticate(req.header("X-User-Id"), req.header("X-Auth-Token"));
          if (caller == null) {
            throw RestError.unauthorized();
          }
        }
        Reply limited = rateLimit(req, caller, headers);
        if (limited != null) {
          return logged(req, caller, limited);
        }
        body = dispatch(req, caller);
        body.put("success", true);
        status = 200;
        if (caller == null && req.endpoint().equals("login")) {
          // so that the request log says who logged in
          caller = state.userById(body.path("data").path("userId").asText());
        }
      } catch (RestError e) {
        status = e.status;
        body = e.body;
      }
      Deque<Failure> lost = loseAnswerNext.get(req.endpoint());
      if (status == 200 && lost != null && !lost.isEmpty()) {
        Failure f = lost.poll();
        return logged(req, caller, new Reply(f.status(), f.body(), headers));
      }
      return logged(req, caller, new Reply(status, body, headers));
    }
  }

  private Reply logged(Request req, User caller, Reply reply) {
    log.add(new RocketChatStandIn.Request(req.method(), req.endpoint(), caller == null ? null : caller.id,
        caller == null ? null : caller.username, reply.status(), state.now()));
    return reply;
  }

  /**
   * §1.4: per endpoint and client IP, {@code limitCalls} per {@code limitWindow}, for callers without
   * {@code api-bypass-rate-limit}; forced limits (test hook) apply to everyone until their reset.
   */
  private Reply rateLimit(Request req, User caller, Map<String, String> headers) {
    Instant now = state.now();
    Instant forced = forcedLimits.get(req.endpoint());
    if (forced != null) {
      if (now.isBefore(forced)) {
        return tooManyRequests(headers, limitCalls, forced, now);
      }
      forcedLimits.remove(req.endpoint());
    }
    if (!state.setting("API_Enable_Rate_Limiter").asBoolean(true)
        || (caller != null && state.hasPermission(caller, "api-bypass-rate-limit"))) {
      return null;
    }
    Window w = windows.computeIfAbsent(req.endpoint() + "|" + req.clientIp(), k -> new Window(now));
    if (!now.isBefore(w.start.plus(limitWindow))) {
      w.start = now;
      w.count = 0;
    }
    Instant reset = w.start.plus(limitWindow);
    if (w.count >= limitCalls) {
      return tooManyRequests(headers, limitCalls, reset, now);
    }
    w.count++;
    headers.put("X-RateLimit-Limit", String.valueOf(limitCalls));
    headers.put("X-RateLimit-Remaining", String.valueOf(limitCalls - w.count));
    headers.put("X-RateLimit-Reset", String.valueOf(reset.toEpochMilli()));
    return null;
  }

  private static Reply tooManyRequests(Map<String, String> headers, int limit, Instant reset, Instant now) {
    headers.put("X-RateLimit-Limit", String.valueOf(limit));
    headers.put("X-RateLimit-Remaining", "0");
    headers.put("X-RateLimit-Reset", String.valueOf(reset.toEpochMilli()));
    long seconds = Math.max(1, (Duration.between(now, reset).toMillis() + 999) / 1000);
    ObjectNode body = NODES.objectNode().put("success", false).put("error", "Error, too many requests. Please slow "
        + "down. You must wait " + seconds + " seconds before trying this endpoint again. [error-too-many-requests]");
    return new Reply(429, body, headers);
  }

  private ObjectNode dispatch(Request req, User caller) {
    String route = req.method() + " " + req.endpoint();
    if (req.endpoint().startsWith("settings/")) {
      String id = req.endpoint().substring("settings/".length());
      if (req.method().equals("GET")) {
        return getSetting(caller, id);
      }
      if (req.method().equals("POST")) {
        return postSetting(req, caller, id);
      }
      throw RestError.notFound();
    }
    switch (route) {
      case "GET info":
        return NODES.objectNode().put("version", VERSION);
      case "POST login":
        return login(req);
      case "POST logout":
        return logout(req, caller);
      case "GET me":
        return me(caller);
      case "POST users.create":
        return usersCreate(req, caller);
      case "GET users.info":
        return usersInfo(req, caller);
      case "POST users.register":
        return usersRegister(req);
      case "POST users.setStatus":
        return usersSetStatus(req, caller);
      case "POST users.logout":
        return usersLogout(req, caller);
      case "POST channels.create":
        return createRoom(req, caller, "c");
      case "POST groups.create":
        return createRoom(req, caller, "p");
      case "GET channels.info":
        return NODES.objectNode().set("channel", state.roomJson(channel(req, caller)));
      case "GET groups.info":
        return NODES.objectNode().set("group", state.roomJson(group(req, caller)));
      case "GET channels.members":
        return members(req, channelMembersRoom(req, caller));
      case "GET groups.members":
        return members(req, group(req, caller));
      case "POST channels.delete":
        return channelsDelete(req, caller);
      case "POST channels.invite":
        return channelsInvite(req, caller);
      case "POST groups.invite":
        return groupsInvite(req, caller);
      case "GET channels.list":
        return channelsList(req, caller);
      case "GET channels.list.joined":
        return list(req, "channels", state.roomsOf(caller).stream().filter(r -> "c".equals(r.t)).toList());
      case "GET groups.list":
        return groupsList(req, caller);
      case "GET im.list":
      case "GET dm.list":
        return list(req, "ims", state.roomsOf(caller).stream().filter(r -> "d".equals(r.t)).toList());
      case "GET subscriptions.get":
        return subscriptionsGet(caller);
      case "POST chat.postMessage":
        return postMessage(req, caller);
      case "POST chat.sendMessage":
        return sendMessage(req, caller);
      case "POST chat.update":
        return chatUpdate(req, caller);
      case "GET chat.getMessage":
        return getMessage(req, caller);
      case "POST chat.react":
        return chatReact(req, caller);
      case "POST chat.delete":
        return chatDelete(req, caller);
      case "POST im.create":
      case "POST dm.create":
        return imCreate(req, caller);
      case "GET channels.messages":
        return messages(req, channelForMessages(req, caller));
      case "GET groups.messages":
        return messages(req, group(req, caller));
      case "GET im.messages":
      case "GET dm.messages":
        return messages(req, directRoomOf(req, caller));
      case "GET chat.syncMessages":
        return syncMessages(req, caller);
      case "GET permissions.listAll":
        return NODES.objectNode().<ObjectNode>set("update", state.permissionsJson()).set("remove", NODES.arrayNode());
      case "POST permissions.update":
        return permissionsUpdate(req, caller);
      default:
        throw RestError.notFound();
    }
  }

  // ---------------------------------------------------------------- authentication

  private ObjectNode login(Request req) {
    JsonNode b = req.body();
    String code = text(b, "code");
    User user;
    if (b.hasNonNull("resume")) {
      StandInState.Token t = state.token(b.get("resume").asText());
      user = t == null ? null : state.authenticate(t.userId(), t.token());
      if (user == null) {
        throw RestError.loginRefused("Unauthorized", "Unauthorized", null);
      }
    } else {
      String identifier = b.path("user").isObject()
          ? firstText(b.get("user"), "username", "email") : firstText(b, "user", "username", "email");
      JsonNode pw = b.path("password");
      String digest = pw.isObject() ? pw.path("digest").asText(null)
          : pw.isTextual() ? StandInState.sha256(pw.asText()) : null;
      if (identifier == null || digest == null) {
        throw RestError.loginRefused("Unauthorized", "Unauthorized", null);
      }
      user = state.passwordLogin(identifier, digest, code);
    }
    String token = state.issueToken(user);
    user.status = "online";
    ObjectNode data = NODES.objectNode().put("userId", user.id).put("authToken", token);
    data.set("me", state.userJson(user, true));
    return NODES.objectNode().put("status", "success").set("data", data);
  }

  private ObjectNode logout(Request req, User caller) {
    state.removeTokens(caller.id, req.header("X-Auth-Token"));
    return NODES.objectNode().put("status", "success")
        .set("data", NODES.objectNode().put("message", "You've been logged out!"));
  }

  private ObjectNode me(User caller) {
    return state.userJson(caller, true);
  }

  // ---------------------------------------------------------------- users

  private ObjectNode usersCreate(Request req, User caller) {
    if (!state.hasPermission(caller, "create-user")) {
      throw RestError.forbidden();
    }
    JsonNode b = req.body();
    checkAllowedKeys(b, USERS_CREATE_KEYS);
    for (String required : List.of("email", "name", "password", "username")) {
      if (!b.hasNonNull(required)) {
        throw RestError.invalidParams("must have required property '" + required + "'");
      }
    }
    List<String> roles = new ArrayList<>();
    b.path("roles").forEach(r -> roles.add(r.asText()));
    if (roles.isEmpty()) {
      roles.add("user");
    }
    User user = state.insertUser(b.get("username").asText(), b.get("name").asText(), b.get("email").asText(),
        b.path("verified").asBoolean(false), b.get("password").asText(), new java.util.LinkedHashSet<>(roles),
        roles.contains("bot") ? "bot" : "user", b.path("joinDefaultChannels").asBoolean(true), null, true);
    user.requirePasswordChange = b.path("requirePasswordChange").asBoolean(false);
    return NODES.objectNode().set("user", state.userJson(user, true));
  }

  private ObjectNode usersInfo(Request req, User caller) {
    User user = req.query().containsKey("userId") ? state.userById(req.query().get("userId"))
        : state.userByUsername(req.query().get("username"));
    if (!req.query().containsKey("userId") && !req.query().containsKey("username")) {
      throw RestError.invalidParams("must have required property 'userId'");
    }
    if (user == null) {
      throw RestError.failure("User not found.");
    }
    boolean full = user.id.equals(caller.id) || state.hasPermission(caller, "view-full-other-user-info");
    return NODES.objectNode().set("user", state.userJson(user, full));
  }

  private ObjectNode usersRegister(Request req) {
    JsonNode b = req.body();
    for (String required : List.of("username", "email", "pass", "name")) {
      if (!b.hasNonNull(required)) {
        throw RestError.invalidParams("must have required property '" + required + "'");
      }
    }
    // the first user of a server without an admin becomes its admin (insertUserDocAsync)
    Set<String> roles = state.adminExists() ? Set.of("user") : Set.of("admin");
    User user = state.insertUser(b.get("username").asText(), b.get("name").asText(), b.get("email").asText(), false,
        b.get("pass").asText(), roles, "user", true, null, true);
    return NODES.objectNode().set("user", state.userJson(user, true));
  }

  private ObjectNode usersSetStatus(Request req, User caller) {
    JsonNode b = req.body();
    if (!b.has("status") && !b.has("message")) {
      throw RestError.invalidParams("must have required property 'status'");
    }
    if (b.has("status")) {
      String status = b.get("status").asText();
      if (!Set.of("online", "away", "busy", "offline").contains(status)) {
        throw RestError.meteor("error-invalid-status", "Valid status types include online, away, offline, and busy.");
      }
      caller.status = status;
    }
    if (b.has("message")) {
      caller.statusText = b.get("message").asText();
    }
    return NODES.objectNode();
  }

  private ObjectNode usersLogout(Request req, User caller) {
    String userId = text(req.body(), "userId");
    if (userId == null) {
      userId = caller.id;
    }
    if (!userId.equals(caller.id) && !state.hasPermission(caller, "logout-other-user")) {
      throw RestError.forbidden();
    }
    if (state.userById(userId) == null) {
      throw RestError.meteor("error-invalid-user-id", "Invalid user id");
    }
    state.removeTokens(userId, null);
    return NODES.objectNode().put("message", "User " + userId + " has been logged out!");
  }

  // ---------------------------------------------------------------- rooms

  private ObjectNode createRoom(Request req, User caller, String t) {
    if (!state.hasPermission(caller, "c".equals(t) ? "create-c" : "create-p")) {
      throw RestError.forbidden();
    }
    JsonNode b = req.body();
    if (!b.hasNonNull("name")) {
      throw RestError.invalidParams("must have required property 'name'");
    }
    List<String> members = new ArrayList<>();
    b.path("members").forEach(m -> members.add(m.asText()));
    Room room = state.createRoom(caller, b.get("name").asText(), t, members, b.path("readOnly").asBoolean(false),
        b.path("excludeSelf").asBoolean(false));
    return NODES.objectNode().set("c".equals(t) ? "channel" : "group", state.roomJson(room));
  }

  private Room findRoom(Request req, JsonNode source, String kind) {
    String id = source == null ? req.query().get("roomId") : text(source, "roomId");
    String name = source == null ? req.query().get("roomName") : text(source, "roomName");
    if (id == null && name == null) {
      throw RestError.meteor("error-roomid-param-not-provided", "The parameter \"roomId\" or \"roomName\" is required");
    }
    Room room = id != null ? state.roomById(id) : state.roomByName(name);
    if (room == null) {
      throw RestError.meteor("error-room-not-found",
          "The required \"roomId\" or \"roomName\" param provided does not match any " + kind);
    }
    return room;
  }

  private Room channel(Request req, User caller) {
    Room room = findRoom(req, req.method().equals("GET") ? null : req.body(), "channel");
    if (!"c".equals(room.t)) {
      throw RestError.meteor("error-room-not-found",
          "The required \"roomId\" or \"roomName\" param provided does not match any channel");
    }
    return room;
  }

  /** A private group the caller is a member of: non-members cannot tell it exists. */
  private Room group(Request req, User caller) {
    Room room = findRoom(req, req.method().equals("GET") ? null : req.body(), "group");
    if (!"p".equals(room.t) || !room.members.contains(caller.id)) {
      throw RestError.meteor("error-room-not-found",
          "The required \"roomId\" or \"roomName\" param provided does not match any group");
    }
    return room;
  }

  private ObjectNode channelsDelete(Request req, User caller) {
    Room room = channel(req, caller);
    if (!state.hasPermission(caller, "delete-c", room)) {
      throw RestError.forbidden();
    }
    state.deleteRoom(room);
    return NODES.objectNode();
  }

  private Room channelMembersRoom(Request req, User caller) {
    Room room = channel(req, caller);
    if (!state.canAccess(caller, room)) {
      throw RestError.forbidden();
    }
    return room;
  }

  /** channels.members / groups.members: {@code {members:[{_id, username, name, status}], count, offset, total}}. */
  private ObjectNode members(Request req, Room room) {
    List<String> ids = List.copyOf(room.members);
    int offset = intParam(req, "offset", 0);
    int count = intParam(req, "count", 50);
    ArrayNode page = NODES.arrayNode();
    for (int i = offset; i < ids.size() && (count <= 0 || page.size() < count); i++) {
      User u = state.userById(ids.get(i));
      page.addObject().put("_id", u.id).put("username", u.username).put("name", u.name).put("status", u.status);
    }
    ObjectNode o = NODES.objectNode();
    o.set("members", page);
    return o.put("count", page.size()).put("offset", offset).put("total", ids.size());
  }

  private ObjectNode channelsInvite(Request req, User caller) {
    Room room = channel(req, caller);
    User user = invitee(req.body());
    boolean allowed = state.hasPermission(caller, "add-user-to-any-c-room")
        || (room.members.contains(caller.id) && state.hasPermission(caller, "add-user-to-joined-room", room));
    if (!allowed) {
      throw RestError.meteor("error-not-allowed", "Not allowed");
    }
    state.addMember(room, user, caller);
    return NODES.objectNode().set("channel", state.roomJson(room));
  }

  private ObjectNode groupsInvite(Request req, User caller) {
    Room room = findRoom(req, req.body(), "group");
    if (!"p".equals(room.t)) {
      throw RestError.meteor("error-room-not-found",
          "The required \"roomId\" or \"roomName\" param provided does not match any group");
    }
    if (!room.members.contains(caller.id) && !state.hasPermission(caller, "add-user-to-any-p-room")) {
      throw RestError.meteor("error-not-allowed", "Not allowed");
    }
    if (!state.hasPermission(caller, "add-user-to-any-p-room")
        && !state.hasPermission(caller, "add-user-to-joined-room", room)) {
      throw RestError.meteor("error-not-allowed", "Not allowed");
    }
    JsonNode b = req.body();
    List<User> invitees = new ArrayList<>();
    if (b.has("userIds") || b.has("usernames")) {
      for (JsonNode id : b.path("userIds")) {
        invitees.add(requireUser(state.userById(id.asText())));
      }
      for (JsonNode name : b.path("usernames")) {
        invitees.add(requireUser(state.userByUsername(name.asText())));
      }
    } else {
      invitees.add(invitee(b));
    }
    for (User u : invitees) {
      state.addMember(room, u, caller);
    }
    return NODES.objectNode().set("group", state.roomJson(room));
  }

  private User invitee(JsonNode b) {
    String userId = text(b, "userId");
    String username = text(b, "username");
    if (userId == null && username == null) {
      throw RestError.meteor("error-user-param-not-provided", "The required \"userId\" or \"username\" param was not "
          + "provided");
    }
    return requireUser(userId != null ? state.userById(userId) : state.userByUsername(username));
  }

  private static User requireUser(User user) {
    if (user == null) {
      throw RestError.meteor("error-invalid-user", "The required \"userId\" or \"username\" param provided does not "
          + "match any users");
    }
    return user;
  }

  private ObjectNode channelsList(Request req, User caller) {
    if (!state.hasPermission(caller, "view-c-room") && !state.hasPermission(caller, "view-joined-room")) {
      throw RestError.forbidden();
    }
    List<Room> visible = state.hasPermission(caller, "view-c-room") ? state.publicRooms()
        : state.roomsOf(caller).stream().filter(r -> "c".equals(r.t)).toList();
    return list(req, "channels", visible);
  }

  private ObjectNode groupsList(Request req, User caller) {
    List<Room> groups = state.roomsOf(caller).stream().filter(r -> "p".equals(r.t)).toList();
    if (groups.isEmpty() && legacyGroupsList) {
      throw RestError.notFound(); // 6.x answered 404 to a caller without groups
    }
    return list(req, "groups", groups);
  }

  private ObjectNode list(Request req, String field, List<Room> all) {
    int offset = intParam(req, "offset", 0);
    int count = intParam(req, "count", 50);
    ArrayNode page = NODES.arrayNode();
    for (int i = offset; i < all.size() && (count <= 0 || page.size() < count); i++) {
      page.add(state.roomJson(all.get(i)));
    }
    ObjectNode o = NODES.objectNode();
    o.set(field, page);
    return o.put("offset", offset).put("count", page.size()).put("total", all.size());
  }

  private ObjectNode subscriptionsGet(User caller) {
    ArrayNode update = NODES.arrayNode();
    for (Room r : state.roomsOf(caller)) {
      update.add(state.subscriptionJson(r, caller));
    }
    return NODES.objectNode().<ObjectNode>set("update", update).set("remove", NODES.arrayNode());
  }

  // ---------------------------------------------------------------- messages

  private ObjectNode postMessage(Request req, User caller) {
    JsonNode b = req.body();
    String target;
    if (b.has("roomId")) {
      checkAllowedKeys(b, union(POST_MESSAGE_COMMON_KEYS, Set.of("roomId", "tmid")));
      target = b.get("roomId").asText();
    } else if (b.has("channel")) {
      // tmid is only in the roomId variant (additionalProperties:false) — see RC PR #39611 / #36093
      checkAllowedKeys(b, union(POST_MESSAGE_COMMON_KEYS, Set.of("channel")));
      target = b.get("channel").asText();
    } else {
      throw RestError.invalidParams("must have required property 'roomId'");
    }
    String text = b.path("text").asText("");
    checkSize(text);
    Room room = resolveTarget(target, caller);
    checkCanPost(room, caller);
    Msg msg = state.insertMessage(room, caller, text, text(b, "tmid"), null, text(b, "alias"), "chat.postMessage");
    ObjectNode o = NODES.objectNode().put("ts", msg.ts.toEpochMilli()).put("channel", target);
    o.set("message", state.messageJson(msg, false));
    return o;
  }

  /** processWebhookMessage's target resolution: {@code #name} and public ids join, {@code @user} opens the DM. */
  private Room resolveTarget(String target, User caller) {
    Room room;
    if (target.startsWith("@")) {
      User other = state.userByUsername(target.substring(1));
      if (other == null) {
        throw RestError.meteor("invalid-channel", null);
      }
      if (!state.hasPermission(caller, "create-d")) {
        throw RestError.forbidden();
      }
      return state.directRoom(caller, other);
    }
    if (target.startsWith("#")) {
      room = state.roomByName(target.substring(1));
    } else {
      room = state.roomById(target);
      if (room == null) {
        room = state.roomByName(target);
      }
    }
    if (room == null) {
      throw RestError.meteor("invalid-channel", null);
    }
    if ("c".equals(room.t) && !room.members.contains(caller.id)) {
      state.join(room, caller);
    }
    return room;
  }

  private void checkCanPost(Room room, User caller) {
    if (!room.members.contains(caller.id)) {
      throw RestError.meteor("error-not-allowed", "Not allowed");
    }
    if (room.readOnly && !room.owners.contains(caller.id) && !caller.roles.contains("admin")) {
      throw RestError.meteor("error-action-not-allowed", "Not allowed");
    }
  }

  private void checkSize(String text) {
    int max = state.setting("Message_MaxAllowedSize").asInt(5000);
    if (text.length() > max) {
      throw RestError.failure("error-message-size-exceeded");
    }
  }

  private ObjectNode sendMessage(Request req, User caller) {
    JsonNode m = req.body().path("message");
    if (!m.isObject()) {
      throw RestError.invalidParams("must have required property 'message'");
    }
    if (!m.hasNonNull("rid")) {
      throw RestError.invalidParams("must have required property 'rid'");
    }
    Room room = state.roomById(m.get("rid").asText());
    if (room == null || !state.canAccess(caller, room)) {
      throw RestError.meteor("error-not-allowed", "Not allowed");
    }
    String text = m.path("msg").asText("");
    checkSize(text);
    if (!room.members.contains(caller.id) && !"c".equals(room.t)) {
      throw RestError.meteor("error-not-allowed", "Not allowed");
    }
    String clientId = text(m, "_id");
    if (clientId != null && state.messageExists(clientId)) {
      // sendMessage.ts returns nothing for an _id that exists (no insert, no update, no error of its own); the
      // route then hands that nothing to normalizeMessagesForUser, whose TypeError becomes API.v1.failure(e.message)
      throw RestError.failure(DUPLICATE_ID_ERROR);
    }
    Msg msg = state.insertMessage(room, caller, text, text(m, "tmid"), clientId, text(m, "alias"),
        "chat.sendMessage");
    return NODES.objectNode().set("message", state.messageJson(msg, false));
  }

  /**
   * What Rocket.Chat answers (400, no {@code errorType}) to a {@code chat.sendMessage} whose {@code _id} exists: the
   * text of the TypeError the route runs into (Node 16 and newer word it so), shared/protocols/rocketchat.md §1.2.
   */
  static final String DUPLICATE_ID_ERROR = "Cannot read properties of undefined (reading 'starred')";

  /** {@code chat.getMessage?msgId=}: the message, 400 {@code {"success":false}} when there is none (getSingleMessage). */
  private ObjectNode getMessage(Request req, User caller) {
    String id = req.query().get("msgId");
    if (id == null || id.isEmpty()) {
      throw RestError.invalidParams("must have required property 'msgId'");
    }
    Msg msg = state.message(id);
    if (msg == null) {
      throw RestError.failure(null);
    }
    if (!state.canAccess(caller, state.roomById(msg.rid))) {
      throw RestError.meteor("error-not-allowed", "Not allowed");
    }
    return NODES.objectNode().set("message", state.messageJson(msg, false));
  }

  private ObjectNode chatUpdate(Request req, User caller) {
    JsonNode b = req.body();
    for (String required : List.of("roomId", "msgId", "text")) {
      if (!b.hasNonNull(required)) {
        throw RestError.invalidParams("must have required property '" + required + "'");
      }
    }
    Msg msg = state.message(b.get("msgId").asText());
    if (msg == null) {
      throw RestError.failure("No message found with the id of \"" + b.get("msgId").asText() + "\".");
    }
    if (!msg.rid.equals(b.get("roomId").asText())) {
      throw RestError.failure("The room id provided does not match where the message is from.");
    }
    Room room = state.roomById(msg.rid);
    if (!msg.userId.equals(caller.id) && !state.hasPermission(caller, "edit-message", room)) {
      throw RestError.meteor("error-action-not-allowed", "Message editing not allowed");
    }
    checkSize(b.get("text").asText());
    state.editMessage(msg, caller, b.get("text").asText());
    return NODES.objectNode().set("message", state.messageJson(msg, false));
  }

  private ObjectNode chatReact(Request req, User caller) {
    JsonNode b = req.body();
    String id = firstText(b, "messageId", "msgId");
    if (id == null || !b.hasNonNull("emoji")) {
      throw RestError.invalidParams("must have required property 'emoji'");
    }
    Msg msg = state.message(id);
    if (msg == null) {
      throw RestError.meteor("error-not-allowed", "Not allowed");
    }
    Room room = state.roomById(msg.rid);
    if (!state.canAccess(caller, room)) {
      throw RestError.meteor("error-not-allowed", "Not allowed");
    }
    Boolean shouldReact = b.has("shouldReact") ? b.get("shouldReact").asBoolean() : null;
    state.react(msg, caller, b.get("emoji").asText(), shouldReact);
    return NODES.objectNode();
  }

  private ObjectNode chatDelete(Request req, User caller) {
    JsonNode b = req.body();
    Msg msg = state.message(text(b, "msgId"));
    if (msg == null) {
      throw RestError.failure("No message found with the id of \"" + text(b, "msgId") + "\".");
    }
    if (!msg.rid.equals(text(b, "roomId"))) {
      throw RestError.failure("The room id provided does not match where the message is from.");
    }
    if (!msg.userId.equals(caller.id) && !caller.roles.contains("admin")) {
      throw RestError.meteor("error-action-not-allowed", "Not allowed");
    }
    ObjectNode before = state.messageJson(msg, false);
    state.deleteMessage(msg);
    ObjectNode o = NODES.objectNode().put("_id", msg.id).put("ts", String.valueOf(state.now().toEpochMilli()));
    o.set("message", before);
    return o;
  }

  private ObjectNode imCreate(Request req, User caller) {
    JsonNode b = req.body();
    String username = text(b, "username");
    if (username == null && text(b, "usernames") != null) {
      String[] names = text(b, "usernames").split(",");
      username = names.length == 1 ? names[0].trim() : null;
      if (username == null) {
        throw RestError.failure("Group DMs are not modelled by the stand-in");
      }
    }
    if (username == null) {
      throw RestError.invalidParams("must have required property 'username'");
    }
    User other = state.userByUsername(username);
    if (other == null) {
      throw RestError.meteor("error-invalid-user", "Invalid user");
    }
    if (!state.hasPermission(caller, "create-d")) {
      throw RestError.forbidden();
    }
    Room room = state.directRoom(caller, other);
    ObjectNode json = state.roomJson(room);
    json.put("rid", room.id);
    return NODES.objectNode().set("room", json);
  }

  private Room channelForMessages(Request req, User caller) {
    Room room = channel(req, caller);
    // a caller with view-joined-room (e.g. a bot) may only read public rooms it has joined
    if (state.hasPermission(caller, "view-joined-room") && !room.members.contains(caller.id)) {
      throw RestError.forbidden();
    }
    return room;
  }

  private Room directRoomOf(Request req, User caller) {
    String id = req.query().get("roomId");
    if (id == null) {
      throw RestError.invalidParams("must have required property 'roomId'");
    }
    Room room = state.roomById(id);
    if (room == null || !"d".equals(room.t) || !room.members.contains(caller.id)) {
      throw RestError.meteor("error-room-not-found",
          "The required \"roomId\" or \"username\" param provided does not match any direct message");
    }
    return room;
  }

  private ObjectNode messages(Request req, Room room) {
    List<Msg> all = state.roomMessages(room);
    int offset = intParam(req, "offset", 0);
    int count = intParam(req, "count", 50);
    ArrayNode page = NODES.arrayNode();
    for (int i = offset; i < all.size() && (count <= 0 || page.size() < count); i++) {
      page.add(state.messageJson(all.get(i), false));
    }
    ObjectNode o = NODES.objectNode();
    o.set("messages", page);
    return o.put("count", page.size()).put("offset", offset).put("total", all.size());
  }

  private ObjectNode syncMessages(Request req, User caller) {
    String roomId = req.query().get("roomId");
    String lastUpdate = req.query().get("lastUpdate");
    if (roomId == null) {
      throw RestError.failure("The required \"roomId\" query param is missing. [error-roomId-param-not-provided]");
    }
    if (lastUpdate == null) {
      throw RestError.failure("The required \"lastUpdate\" query param is missing. "
          + "[error-lastUpdate-param-not-provided]");
    }
    Instant since;
    try {
      since = Instant.parse(lastUpdate);
    } catch (DateTimeParseException e) {
      throw RestError.failure("The \"lastUpdate\" query parameter must be a valid date. [error-roomId-param-invalid]");
    }
    Room room = state.roomById(roomId);
    if (room == null || !state.canAccess(caller, room)) {
      throw RestError.failure(null); // messages/get answers false → API.v1.failure()
    }
    return NODES.objectNode().set("result", state.sync(room, since));
  }

  // ---------------------------------------------------------------- settings and permissions

  private ObjectNode getSetting(User caller, String id) {
    if (!state.hasPermission(caller, "view-privileged-setting")) {
      throw RestError.forbidden();
    }
    if (!state.hasSetting(id)) {
      throw RestError.notFound();
    }
    return NODES.objectNode().put("_id", id).set("value", state.setting(id));
  }

  private ObjectNode postSetting(Request req, User caller, String id) {
    if (!state.hasPermission(caller, "edit-privileged-setting")) {
      throw RestError.forbidden();
    }
    state.checkTwoFactor(caller, req.header("X-2fa-Code"), req.header("X-2fa-Method"));
    if (!state.hasSetting(id)) {
      throw RestError.failure("Setting not found", "error-setting-not-found");
    }
    if (!req.body().has("value")) {
      throw RestError.invalidParams("must have required property 'value'");
    }
    state.setSetting(id, req.body().get("value"));
    return NODES.objectNode();
  }

  private ObjectNode permissionsUpdate(Request req, User caller) {
    if (!state.hasPermission(caller, "access-permissions")) {
      throw RestError.forbidden();
    }
    JsonNode list = req.body().path("permissions");
    if (!list.isArray() || list.isEmpty()) {
      throw RestError.failure("Invalid body params", "error-invalid-body-params");
    }
    Map<String, List<String>> update = new LinkedHashMap<>();
    for (JsonNode p : list) {
      if (!p.path("_id").isTextual() || !p.path("roles").isArray()) {
        throw RestError.failure("Invalid body params", "error-invalid-body-params");
      }
      List<String> roles = new ArrayList<>();
      p.get("roles").forEach(r -> roles.add(r.asText()));
      update.put(p.get("_id").asText(), roles);
    }
    state.setPermissionRoles(update);
    return NODES.objectNode().set("permissions", state.permissionsJson());
  }

  // ---------------------------------------------------------------- small parsing helpers

  private static void checkAllowedKeys(JsonNode body, Set<String> allowed) {
    for (Iterator<String> it = body.fieldNames(); it.hasNext(); ) {
      if (!allowed.contains(it.next())) {
        throw RestError.invalidParams("must NOT have additional properties");
      }
    }
  }

  private static Set<String> union(Set<String> a, Set<String> b) {
    var s = new java.util.HashSet<>(a);
    s.addAll(b);
    return s;
  }

  private static String text(JsonNode node, String field) {
    JsonNode v = node.get(field);
    return v == null || v.isNull() ? null : v.asText();
  }

  private static String firstText(JsonNode node, String... fields) {
    for (String f : fields) {
      String v = text(node, f);
      if (v != null) {
        return v;
      }
    }
    return null;
  }

  private static int intParam(Request req, String name, int dflt) {
    String v = req.query().get(name);
    if (v == null) {
      return dflt;
    }
    try {
      return Integer.parseInt(v);
    } catch (NumberFormatException e) {
      throw RestError.invalidParams("must be integer");
    }
  }
}
