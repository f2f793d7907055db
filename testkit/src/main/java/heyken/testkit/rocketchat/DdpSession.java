package heyken.testkit.rocketchat;

import static heyken.testkit.rocketchat.StandInState.NODES;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import heyken.testkit.rocketchat.StandInState.Msg;
import heyken.testkit.rocketchat.StandInState.Room;
import heyken.testkit.rocketchat.StandInState.User;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One DDP connection at {@code /websocket} (shared/protocols/rocketchat.md §2.1–2.2): {@code connect} first, pings
 * both ways, {@code login} (resume token or password digest), {@code sub}/{@code unsub} of
 * {@code stream-room-messages} ({@code __my_messages__} or one room id), {@code stream-notify-room} typing, and the
 * {@code changed} events of every message insert and update the user may see. Inbound frames arrive one at a time
 * from the socket's stream; deliveries come from whichever thread wrote the message (under the state's monitor), so
 * the fields read by both are volatile or concurrent.
 */
final class DdpSession {

  private static final Logger log = LoggerFactory.getLogger(DdpSession.class);
  static final String MY_MESSAGES = "__my_messages__";
  private static final Set<String> VERSIONS = Set.of("1", "pre2", "pre1");

  /** The socket under the session: send a text frame, close with a close frame, or drop the TCP connection. */
  interface Transport {
    void send(String frame);

    void close();

    void abort();
  }

  final String id;
  private final StandInState state;
  private final ObjectMapper json;
  private final Transport transport;
  private final Runnable onChange;
  private final Map<String, String> subs = new ConcurrentHashMap<>();
  private volatile boolean connected;
  private volatile boolean silenced;
  private volatile boolean closed;
  private volatile String session;
  private volatile String userId;
  private volatile String loginToken;
  volatile long lastReceivedNanos = System.nanoTime();
  volatile long lastPingSentNanos = System.nanoTime();

  /** {@code onChange} is told about logins, subscriptions and the end of the session (for tests that wait). */
  DdpSession(String id, StandInState state, ObjectMapper json, Transport transport, Runnable onChange) {
    this.id = id;
    this.state = state;
    this.json = json;
    this.transport = transport;
    this.onChange = onChange;
  }

  void open() {
    // Meteor's sockjs greets with a server_id frame before anything else; clients must not wait for it
    send(NODES.objectNode().put("server_id", "0"));
  }

  // ---------------------------------------------------------------- inspection and faults

  boolean connected() {
    return connected && !closed;
  }

  boolean silenced() {
    return silenced;
  }

  String userId() {
    return userId;
  }

  String loginToken() {
    return loginToken;
  }

  boolean subscribedToMyMessages() {
    return subs.containsValue(MY_MESSAGES);
  }

  /** A half-open connection: nothing is sent any more, frames from the client go nowhere. */
  void silence() {
    silenced = true;
    onChange.run();
  }

  void close() {
    closed = true;
    transport.close();
  }

  void abort() {
    closed = true;
    transport.abort();
  }

  void terminated() {
    closed = true;
    subs.clear();
  }

  /** Server heartbeat: called periodically; pings when due, closes the connection when the client went quiet. */
  void heartbeat(long pingIntervalNanos, long pongTimeoutNanos) {
    if (closed || silenced || !connected) {
      return;
    }
    long now = System.nanoTime();
    if (now - lastReceivedNanos > pingIntervalNanos + pongTimeoutNanos) {
      log.info("DDP session {}: no pong within the heartbeat timeout, closing", id);
      close();
      return;
    }
    if (now - lastPingSentNanos >= pingIntervalNanos) {
      lastPingSentNanos = now;
      send(NODES.objectNode().put("msg", "ping"));
    }
  }

  // ---------------------------------------------------------------- inbound frames

  void onFrame(String text) {
    if (closed || silenced) {
      return;
    }
    lastReceivedNanos = System.nanoTime();
    JsonNode frame;
    try {
      frame = json.readTree(text);
    } catch (JsonProcessingException e) {
      send(NODES.objectNode().put("msg", "error").put("reason", "Bad request"));
      return;
    }
    if (!frame.isObject() || !frame.path("msg").isTextual()) {
      send(error("Bad request", frame));
      return;
    }
    String msg = frame.get("msg").asText();
    if (!connected) {
      if (!msg.equals("connect")) {
        send(error("Must connect first", frame));
        return;
      }
      String version = frame.path("version").asText("");
      if (!VERSIONS.contains(version)) {
        send(NODES.objectNode().put("msg", "failed").put("version", "1"));
        close();
        return;
      }
      connected = true;
      session = state.newId();
      send(NODES.objectNode().put("msg", "connected").put("session", session));
      return;
    }
    switch (msg) {
      case "connect" -> send(error("Already connected", frame));
      case "ping" -> {
        ObjectNode pong = NODES.objectNode().put("msg", "pong");
        if (frame.has("id")) {
          pong.set("id", frame.get("id"));
        }
        send(pong);
      }
      case "pong" -> { } // liveness is the receive time above
      case "method" -> method(frame);
      case "sub" -> sub(frame);
      case "unsub" -> {
        String subId = frame.path("id").asText();
        subs.remove(subId);
        send(NODES.objectNode().put("msg", "nosub").put("id", subId));
        onChange.run();
      }
      default -> send(error("Bad request", frame));
    }
  }

  private void method(JsonNode frame) {
    String id = frame.path("id").asText(null);
    String method = frame.path("method").asText("");
    JsonNode params = frame.path("params");
    if (id == null) {
      send(error("Malformed method invocation", frame));
      return;
    }
    ObjectNode result = NODES.objectNode().put("msg", "result").put("id", id);
    switch (method) {
      case "login" -> login(params.path(0), result);
      case "logout" -> {
        userId = null;
        loginToken = null;
      }
      case "stream-notify-room" -> typing(params);
      default -> result.set("error", meteorError(404, "Method '" + method + "' not found"));
    }
    send(result);
    send(NODES.objectNode().put("msg", "updated").set("methods", NODES.arrayNode().add(id)));
  }

  private void login(JsonNode p, ObjectNode result) {
    synchronized (state) {
      User user;
      String token;
      if (p.hasNonNull("resume")) {
        token = p.get("resume").asText();
        StandInState.Token t = state.token(token);
        user = t == null ? null : state.authenticate(t.userId(), token);
        if (user == null) {
          result.set("error", meteorError(403, "You've been logged out by the server. Please log in again."));
          return;
        }
      } else if (p.has("user") && p.has("password")) {
        String identifier = p.path("user").path("username").asText(p.path("user").path("email").asText(null));
        try {
          user = state.passwordLogin(identifier, p.path("password").path("digest").asText(null), null);
        } catch (RestError e) {
          String error = e.body.path("error").asText();
          if (error.equals("totp-required")) {
            ObjectNode err = meteorError("totp-required", "TOTP Required");
            err.set("details", e.body.path("details"));
            result.set("error", err);
          } else {
            result.set("error", meteorError(403, "User not found"));
          }
          return;
        }
        token = state.issueToken(user);
      } else {
        result.set("error", meteorError(400, "Unrecognized options for login request"));
        return;
      }
      userId = user.id;
      loginToken = token;
      ObjectNode r = result.putObject("result").put("id", user.id).put("token", token);
      r.putObject("tokenExpires").put("$date", state.token(token).expiresAt().toEpochMilli());
      r.put("type", p.hasNonNull("resume") ? "resume" : "password");
    }
  }

  private void typing(JsonNode params) {
    String event = params.path(0).asText("");
    String username = params.path(1).asText(null);
    int slash = event.indexOf('/');
    if (slash < 0 || userId == null) {
      return; // the streamer refuses writes from a socket that is not logged in (RC #18115)
    }
    String rid = event.substring(0, slash);
    String kind = event.substring(slash + 1);
    synchronized (state) {
      User user = state.userById(userId);
      Room room = state.roomById(rid);
      if (user == null || room == null || !room.members.contains(user.id) || !user.username.equals(username)) {
        return;
      }
      List<String> activity = new java.util.ArrayList<>();
      JsonNode a = params.path(2);
      if (a.isArray()) {
        a.forEach(x -> activity.add(x.asText()));
      } else if (a.isBoolean() && a.asBoolean()) {
        activity.add("user-typing"); // legacy "<rid>/typing" true
      }
      if (kind.equals("user-activity") || kind.equals("typing")) {
        state.recordTyping(new RocketChatStandIn.Typing(rid, username, List.copyOf(activity), state.now()));
      }
    }
  }

  private void sub(JsonNode frame) {
    String subId = frame.path("id").asText(null);
    String name = frame.path("name").asText("");
    if (subId == null) {
      send(error("Malformed subscription", frame));
      return;
    }
    if (!name.equals("stream-room-messages")) {
      send(NODES.objectNode().put("msg", "nosub").put("id", subId)
          .set("error", meteorError(404, "Subscription '" + name + "' not found")));
      return;
    }
    String eventName = frame.path("params").path(0).asText("");
    boolean allowed;
    synchronized (state) {
      User user = userId == null ? null : state.userById(userId);
      if (user == null) {
        allowed = false;
      } else if (eventName.equals(MY_MESSAGES)) {
        allowed = true;
      } else {
        Room room = state.roomById(eventName);
        allowed = room != null && state.canAccess(user, room);
      }
    }
    if (!allowed) {
      send(NODES.objectNode().put("msg", "nosub").put("id", subId).set("error", NODES.objectNode()
          .put("isClientSafe", true).put("error", "not-allowed").put("message", "[not-allowed]")
          .put("errorType", "Meteor.Error")));
      return;
    }
    subs.put(subId, eventName);
    send(NODES.objectNode().put("msg", "ready").set("subs", NODES.arrayNode().add(subId)));
    onChange.run();
  }

  // ---------------------------------------------------------------- outbound events

  /**
   * Emission rule of §6: to a {@code __my_messages__} subscriber who can access the room,
   * {@code args:[message, {roomParticipant, roomType, roomName}]}; to a per-room subscriber {@code args:[message]}.
   * Each subscription gets its own frame, so subscribing twice delivers twice (as the real server does, RC #7973).
   * Runs under the state's monitor.
   */
  void deliver(Msg msg, Room room, ObjectNode ejsonMessage) {
    String uid = userId;
    if (closed || uid == null || subs.isEmpty()) {
      return;
    }
    User user = state.userById(uid);
    if (user == null || !state.canAccess(user, room)) {
      return;
    }
    for (String eventName : subs.values()) {
      ArrayNode args = NODES.arrayNode().add(ejsonMessage);
      if (eventName.equals(MY_MESSAGES)) {
        ObjectNode meta = args.addObject().put("roomParticipant", room.members.contains(uid)).put("roomType", room.t);
        if (room.name != null) {
          meta.put("roomName", room.name);
        }
      } else if (!eventName.equals(room.id)) {
        continue;
      }
      ObjectNode fields = NODES.objectNode().put("eventName", eventName);
      fields.set("args", args);
      send(NODES.objectNode().put("msg", "changed").put("collection", "stream-room-messages").put("id", "id")
          .set("fields", fields));
    }
  }

  private void send(ObjectNode frame) {
    if (closed || silenced) {
      return;
    }
    try {
      transport.send(json.writeValueAsString(frame));
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("cannot render a DDP frame", e);
    }
  }

  private static ObjectNode error(String reason, JsonNode offending) {
    ObjectNode e = NODES.objectNode().put("msg", "error").put("reason", reason);
    e.set("offendingMessage", offending);
    return e;
  }

  private static ObjectNode meteorError(int code, String reason) {
    return NODES.objectNode().put("isClientSafe", true).put("error", code).put("reason", reason)
        .put("message", reason + " [" + code + "]").put("errorType", "Meteor.Error");
  }

  private static ObjectNode meteorError(String code, String reason) {
    return NODES.objectNode().put("isClientSafe", true).put("error", code).put("reason", reason)
        .put("message", reason + " [" + code + "]").put("errorType", "Meteor.Error");
  }
}
