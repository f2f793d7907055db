package heyken.testkit.rocketchat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The whole in-memory server of the stand-in: users, login tokens, rooms and their members, messages, deletions,
 * settings and permissions, with the rules of shared/protocols/rocketchat.md §6. Every method runs under the
 * instance's monitor, so REST calls, DDP frames and test hooks see one consistent server; message inserts and
 * updates are reported to the {@link Sink} while the monitor is held, which keeps the emission order equal to the
 * write order (as the real server's change stream does).
 */
final class StandInState {

  static final JsonNodeFactory NODES = JsonNodeFactory.instance;
  static final String GENERAL_ID = "GENERAL";
  static final String ROCKET_CAT_ID = "rocket.cat";
  static final int MAX_FAILED_LOGINS = 10;

  private static final String ID_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTWXYZabcdefghijkmnopqrstuvwxyz";
  private static final Pattern MENTION = Pattern.compile("(?<![\\w@])@([0-9A-Za-z._-]+)");
  private static final Pattern ROOM_NAME = Pattern.compile("[0-9a-zA-Z-_.]+");
  private static final Pattern EMAIL = Pattern.compile("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$");
  private static final Set<String> KNOWN_ROLES = Set.of("admin", "user", "bot", "app", "guest", "anonymous", "owner",
      "moderator", "leader", "livechat-agent", "livechat-manager", "livechat-monitor");

  /** Receives every message insert and update, and removed login tokens (to close their DDP connections). */
  interface Sink {
    void messageChanged(Msg message, Room room);

    void tokensRemoved(Set<String> tokens);
  }

  static final class User {
    final String id;
    final String username;
    String name;
    final String email;
    final boolean emailVerified;
    /** {@code services.email2fa.enabled}: set for users inserted with auto opt-in, see §1.3. */
    final boolean email2fa;
    String passwordSha256;
    final LinkedHashSet<String> roles;
    final String type;
    final Instant createdAt;
    boolean active = true;
    String status = "offline";
    String statusText = "";
    boolean requirePasswordChange;

    User(String id, String username, String name, String email, boolean emailVerified, boolean email2fa,
        String passwordSha256, Set<String> roles, String type, Instant createdAt) {
      this.id = id;
      this.username = username;
      this.name = name;
      this.email = email;
      this.emailVerified = emailVerified;
      this.email2fa = email2fa;
      this.passwordSha256 = passwordSha256;
      this.roles = new LinkedHashSet<>(roles);
      this.type = type;
      this.createdAt = createdAt;
    }
  }

  record Token(String token, String userId, Instant expiresAt) {}

  static final class Room {
    final String id;
    final String name;
    final String t;
    final LinkedHashSet<String> members = new LinkedHashSet<>();
    final Set<String> owners = new LinkedHashSet<>();
    final boolean readOnly;
    final boolean isDefault;
    final String creatorId;
    final Instant ts;
    Instant updatedAt;
    Instant lastMessageAt;
    int msgs;

    Room(String id, String name, String t, boolean readOnly, boolean isDefault, String creatorId, Instant ts) {
      this.id = id;
      this.name = name;
      this.t = t;
      this.readOnly = readOnly;
      this.isDefault = isDefault;
      this.creatorId = creatorId;
      this.ts = ts;
      this.updatedAt = ts;
    }
  }

  static final class Msg {
    final String id;
    final String rid;
    String text;
    final Instant ts;
    final String userId;
    final String username;
    final String name;
    Instant updatedAt;
    final String systemType;
    final String tmid;
    int tcount;
    Instant tlm;
    final LinkedHashSet<String> replies = new LinkedHashSet<>();
    Instant editedAt;
    String editedById;
    String editedByUsername;
    final List<User> mentions = new ArrayList<>();
    final List<String> specialMentions = new ArrayList<>();
    final LinkedHashMap<String, LinkedHashSet<String>> reactions = new LinkedHashMap<>();
    final String alias;

    Msg(String id, String rid, String text, Instant ts, User author, String systemType, String tmid, String alias) {
      this.id = id;
      this.rid = rid;
      this.text = text;
      this.ts = ts;
      this.userId = author.id;
      this.username = author.username;
      this.name = author.name;
      this.updatedAt = ts;
      this.systemType = systemType;
      this.tmid = tmid;
      this.alias = alias;
    }
  }

  record Deleted(String id, String rid, Instant deletedAt) {}

  private final Clock clock;
  private final SecureRandom random = new SecureRandom();
  private final Duration tokenLifetime;
  private final Map<String, User> users = new LinkedHashMap<>();
  private final Map<String, Token> tokens = new HashMap<>();
  private final Map<String, Room> rooms = new LinkedHashMap<>();
  private final Map<String, Msg> messages = new LinkedHashMap<>();
  private final List<Deleted> deleted = new ArrayList<>();
  private final Map<String, JsonNode> settings = new LinkedHashMap<>();
  private final Map<String, LinkedHashSet<String>> permissions = new LinkedHashMap<>();
  private final Map<String, Integer> failedLogins = new HashMap<>();
  private final List<RocketChatStandIn.Posted> posted = new ArrayList<>();
  private final List<java.util.function.Consumer<RocketChatStandIn.Posted>> postListeners =
      new java.util.concurrent.CopyOnWriteArrayList<>();
  private final List<java.util.function.Consumer<RocketChatStandIn.Posted>> editListeners =
      new java.util.concurrent.CopyOnWriteArrayList<>();
  private final List<RocketChatStandIn.Typing> typing = new ArrayList<>();
  private Sink sink;

  StandInState(Clock clock, Duration tokenLifetime) {
    this.clock = clock;
    this.tokenLifetime = tokenLifetime;
    defaultPermissions();
    settings.put("Show_Setup_Wizard", NODES.textNode("pending"));
    settings.put("Accounts_TwoFactorAuthentication_Enabled", NODES.booleanNode(true));
    settings.put("Accounts_TwoFactorAuthentication_Enforce_Password_Fallback", NODES.booleanNode(true));
    settings.put("Accounts_TwoFactorAuthentication_RememberFor", NODES.numberNode(1800));
    settings.put("Accounts_TwoFactorAuthentication_By_Email_Enabled", NODES.booleanNode(true));
    settings.put("Accounts_TwoFactorAuthentication_By_Email_Auto_Opt_In", NODES.booleanNode(true));
    settings.put("API_Enable_Rate_Limiter", NODES.booleanNode(true));
    settings.put("Message_MaxAllowedSize", NODES.numberNode(5000));
    settings.put("Site_Url", NODES.textNode("http://localhost:3000"));
    Instant now = now();
    // what initialData.ts inserts on a first start
    User cat = new User(ROCKET_CAT_ID, "rocket.cat", "Rocket.Cat", null, false, false, null, Set.of("bot"), "bot",
        now);
    users.put(cat.id, cat);
    rooms.put(GENERAL_ID, new Room(GENERAL_ID, "general", "c", false, true, null, now));
  }

  synchronized void sink(Sink sink) {
    this.sink = sink;
  }

  // ---------------------------------------------------------------- time, ids, hashing

  Instant now() {
    return clock.instant().truncatedTo(ChronoUnit.MILLIS);
  }

  String newId() {
    var sb = new StringBuilder(17);
    for (int i = 0; i < 17; i++) {
      sb.append(ID_ALPHABET.charAt(random.nextInt(ID_ALPHABET.length())));
    }
    return sb.toString();
  }

  private String newToken() {
    byte[] bytes = new byte[32];
    random.nextBytes(bytes);
    return java.util.Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
  }

  static String sha256(String text) {
    try {
      return HexFormat.of().formatHex(
          MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("the JDK has no SHA-256", e);
    }
  }

  // ---------------------------------------------------------------- permissions

  private void defaultPermissions() {
    // the subset of permissions.ts the endpoints of §1.2 consult, with their default roles
    perm("create-c", "admin", "user", "bot", "app");
    perm("create-p", "admin", "user", "bot", "app");
    perm("create-d", "admin", "user", "bot", "app", "livechat-agent");
    perm("create-user", "admin");
    perm("view-c-room", "admin", "user", "bot", "app", "anonymous");
    perm("view-d-room", "admin", "user", "bot", "app", "guest");
    perm("view-p-room", "admin", "user", "anonymous", "guest");
    perm("view-joined-room", "guest", "bot", "app", "anonymous");
    perm("add-user-to-joined-room", "admin", "owner", "moderator");
    perm("add-user-to-any-c-room", "admin");
    perm("add-user-to-any-p-room");
    perm("edit-privileged-setting", "admin");
    perm("view-privileged-setting", "admin");
    perm("access-permissions", "admin");
    perm("api-bypass-rate-limit", "admin", "bot", "app");
    perm("logout-other-user", "admin");
    perm("view-full-other-user-info", "admin");
    perm("send-many-messages", "admin", "bot", "app");
    perm("message-impersonate", "bot", "app");
    perm("edit-message", "admin", "owner", "moderator");
    perm("delete-c", "admin", "owner");
    perm("view-other-user-channels", "admin");
  }

  private void perm(String id, String... roles) {
    permissions.put(id, new LinkedHashSet<>(List.of(roles)));
  }

  synchronized boolean hasPermission(User user, String permission) {
    return hasPermission(user, permission, null);
  }

  /** Global roles plus the room-scoped {@code owner} role of the room's creator/owners. */
  synchronized boolean hasPermission(User user, String permission, Room room) {
    Set<String> allowed = permissions.getOrDefault(permission, new LinkedHashSet<>());
    for (String role : user.roles) {
      if (allowed.contains(role)) {
        return true;
      }
    }
    return room != null && room.owners.contains(user.id) && allowed.contains("owner");
  }

  synchronized ArrayNode permissionsJson() {
    ArrayNode list = NODES.arrayNode();
    permissions.forEach((id, roles) -> {
      ObjectNode p = list.addObject().put("_id", id);
      roles.forEach(p.putArray("roles")::add);
      p.put("_updatedAt", now().toString());
    });
    return list;
  }

  /** permissions.update: all permission ids and roles are checked before anything changes, as the server does. */
  synchronized void setPermissionRoles(Map<String, List<String>> update) {
    for (var e : update.entrySet()) {
      if (!permissions.containsKey(e.getKey())) {
        throw RestError.failure("Invalid permission", "error-invalid-permission");
      }
      for (String role : e.getValue()) {
        if (!KNOWN_ROLES.contains(role)) {
          throw RestError.failure("Invalid role", "error-invalid-role");
        }
      }
    }
    update.forEach((id, roles) -> permissions.put(id, new LinkedHashSet<>(roles)));
  }

  synchronized Set<String> rolesOf(String permission) {
    return Set.copyOf(permissions.getOrDefault(permission, new LinkedHashSet<>()));
  }

  // ---------------------------------------------------------------- users and tokens

  synchronized User userById(String id) {
    return users.get(id);
  }

  synchronized User userByUsername(String username) {
    if (username == null) {
      return null;
    }
    for (User u : users.values()) {
      if (u.username.equals(username)) {
        return u;
      }
    }
    return null;
  }

  private User userByEmail(String email) {
    for (User u : users.values()) {
      if (u.email != null && u.email.equalsIgnoreCase(email)) {
        return u;
      }
    }
    return null;
  }

  synchronized boolean adminExists() {
    return users.values().stream().anyMatch(u -> u.roles.contains("admin"));
  }

  /**
   * Inserts a user the way {@code insertUserDoc} does: a verified email with email 2FA auto opt-in on makes every
   * later password login ask for an emailed code (§1.3). {@code joinDefaultChannels} adds the user to {@code general}.
   * {@code viaInsertUserDoc} is false for the env admin, which the server inserts directly (never opted in).
   */
  synchronized User insertUser(String username, String name, String email, boolean verified, String password,
      Set<String> roles, String type, boolean joinDefaultChannels, Instant createdAt, boolean viaInsertUserDoc) {
    if (username == null || !ROOM_NAME.matcher(username).matches()) {
      throw RestError.meteor("error-invalid-username", "Invalid username");
    }
    if (userByUsername(username) != null) {
      throw RestError.meteor("error-field-unavailable", username + " is already in use :(");
    }
    if (email != null) {
      if (!EMAIL.matcher(email).matches()) {
        throw RestError.meteor("error-invalid-email", "Invalid email " + email);
      }
      if (userByEmail(email) != null) {
        throw RestError.meteor("error-field-unavailable", email + " is already in use :(");
      }
    }
    for (String role : roles) {
      if (!KNOWN_ROLES.contains(role)) {
        throw RestError.meteor("error-invalid-role", "Invalid role");
      }
    }
    boolean optIn = viaInsertUserDoc
        && setting("Accounts_TwoFactorAuthentication_By_Email_Auto_Opt_In").asBoolean(true);
    User user = new User(newId(), username, name == null ? username : name, email, verified, optIn,
        password == null ? null : sha256(password), roles, type, createdAt == null ? now() : createdAt);
    users.put(user.id, user);
    if (roles.contains("admin") && "pending".equals(setting("Show_Setup_Wizard").asText())) {
      settings.put("Show_Setup_Wizard", NODES.textNode("in_progress"));
    }
    if (joinDefaultChannels) {
      for (Room room : List.copyOf(rooms.values())) {
        if (room.isDefault && !room.members.contains(user.id)) {
          room.members.add(user.id);
          systemMessage(room, user, "uj", user.username);
        }
      }
    }
    return user;
  }

  synchronized String issueToken(User user) {
    String token = newToken();
    tokens.put(token, new Token(token, user.id, now().plus(tokenLifetime)));
    return token;
  }

  synchronized Token token(String token) {
    return tokens.get(token);
  }

  /** The user of a REST call's {@code X-User-Id} + {@code X-Auth-Token}, or null (→ 401). */
  synchronized User authenticate(String userId, String token) {
    if (userId == null || token == null) {
      return null;
    }
    Token t = tokens.get(token);
    if (t == null || !t.userId().equals(userId)) {
      return null;
    }
    if (!now().isBefore(t.expiresAt())) {
      tokens.remove(token);
      return null;
    }
    User user = users.get(userId);
    return user != null && user.active ? user : null;
  }

  /**
   * A password login (REST {@code login} or DDP {@code login} with a digest). Refusals follow §6: 401 "Unauthorized"
   * for a wrong user or password, 401 {@code totp-required} (method email) for a verified, opted-in user, and after
   * {@value #MAX_FAILED_LOGINS} failures in a row the user is blocked ({@code error-login-blocked-for-user}).
   */
  synchronized User passwordLogin(String identifier, String passwordSha256, String twoFactorCode) {
    User user = userByUsername(identifier);
    if (user == null && identifier != null) {
      user = userByEmail(identifier);
    }
    if (user == null) {
      throw RestError.loginRefused("Unauthorized", "Unauthorized", null);
    }
    int failures = failedLogins.getOrDefault(user.username, 0);
    if (failures >= MAX_FAILED_LOGINS) {
      throw RestError.loginRefused("error-login-blocked-for-user",
          "Login has been temporarily blocked For User [error-login-blocked-for-user]", null);
    }
    if (!user.active || user.passwordSha256 == null || !user.passwordSha256.equals(passwordSha256)) {
      failedLogins.merge(user.username, 1, Integer::sum);
      throw RestError.loginRefused("Unauthorized", "Unauthorized", null);
    }
    failedLogins.remove(user.username);
    if (emailTwoFactorApplies(user)) {
      if (twoFactorCode == null) {
        throw RestError.loginRefused("totp-required", "TOTP Required",
            NODES.objectNode().put("method", "email").put("codeGenerated", true));
      }
      // the stand-in mails nothing out, so no emailed code can ever be right
      throw RestError.loginRefused("totp-invalid", "TOTP Invalid", NODES.objectNode().put("method", "email"));
    }
    return user;
  }

  private boolean emailTwoFactorApplies(User user) {
    return setting("Accounts_TwoFactorAuthentication_Enabled").asBoolean(true)
        && setting("Accounts_TwoFactorAuthentication_By_Email_Enabled").asBoolean(true)
        && user.email2fa && user.emailVerified;
  }

  synchronized int failedLogins(String username) {
    return failedLogins.getOrDefault(username, 0);
  }

  /** Removes tokens (one, or all of a user) and tells the sink so their DDP connections close, as Meteor does. */
  synchronized Set<String> removeTokens(String userId, String onlyToken) {
    Set<String> removed = new LinkedHashSet<>();
    for (Iterator<Token> it = tokens.values().iterator(); it.hasNext(); ) {
      Token t = it.next();
      if (t.userId().equals(userId) && (onlyToken == null || t.token().equals(onlyToken))) {
        removed.add(t.token());
        it.remove();
      }
    }
    if (!removed.isEmpty() && sink != null) {
      sink.tokensRemoved(removed);
    }
    return removed;
  }

  /**
   * The two-factor check of a privileged call ({@code POST settings/:id}), §1.3: skipped when 2FA is off or within
   * {@code RememberFor} seconds of the user's creation; otherwise the password fallback headers are required.
   */
  synchronized void checkTwoFactor(User user, String code, String method) {
    if (!setting("Accounts_TwoFactorAuthentication_Enabled").asBoolean(true)) {
      return;
    }
    long rememberFor = setting("Accounts_TwoFactorAuthentication_RememberFor").asLong(1800);
    if (Duration.between(user.createdAt, now()).getSeconds() < rememberFor) {
      return;
    }
    if (code == null || code.isBlank() || method == null || method.isBlank()) {
      throw RestError.meteor("totp-required", "TOTP Required", NODES.objectNode().put("method", "password")
          .put("codeGenerated", false).set("availableMethods", NODES.arrayNode()));
    }
    if (!"password".equals(method) || !code.equalsIgnoreCase(user.passwordSha256)) {
      throw RestError.meteor("totp-invalid", "TOTP Invalid", NODES.objectNode().put("method", method));
    }
  }

  // ---------------------------------------------------------------- settings

  synchronized JsonNode setting(String id) {
    JsonNode v = settings.get(id);
    return v == null ? NODES.missingNode() : v;
  }

  synchronized boolean hasSetting(String id) {
    return settings.containsKey(id);
  }

  synchronized void setSetting(String id, JsonNode value) {
    settings.put(id, value);
  }

  // ---------------------------------------------------------------- rooms

  synchronized Room roomById(String id) {
    return id == null ? null : rooms.get(id);
  }

  synchronized Room roomByName(String name) {
    if (name == null) {
      return null;
    }
    for (Room r : rooms.values()) {
      if (name.equals(r.name)) {
        return r;
      }
    }
    return null;
  }

  /** Public rooms: anyone with {@code view-c-room}; private groups and DMs: members only. */
  synchronized boolean canAccess(User user, Room room) {
    if (room.members.contains(user.id)) {
      return true;
    }
    return "c".equals(room.t) && hasPermission(user, "view-c-room");
  }

  synchronized List<Room> roomsOf(User user) {
    return rooms.values().stream().filter(r -> r.members.contains(user.id)).toList();
  }

  synchronized List<Room> publicRooms() {
    return rooms.values().stream().filter(r -> "c".equals(r.t)).toList();
  }

  /**
   * channels.create / groups.create: a valid, unused name; the creator becomes owner and member; {@code members}
   * (usernames) are subscribed without system messages; unknown usernames are skipped.
   */
  synchronized Room createRoom(User creator, String name, String t, List<String> memberNames, boolean readOnly,
      boolean excludeSelf) {
    if (name == null || !ROOM_NAME.matcher(name).matches()) {
      throw RestError.meteor("error-invalid-room-name", name + " is not a valid room name",
          NODES.objectNode().put("method", "createRoom").put("room_name", String.valueOf(name)));
    }
    if (roomByName(name) != null) {
      throw RestError.meteor("error-duplicate-channel-name", "A channel with name '" + name + "' exists",
          NODES.objectNode().put("channel_name", name));
    }
    Room room = new Room(newId(), name, t, readOnly, false, creator.id, now());
    if (!excludeSelf) {
      room.members.add(creator.id);
      room.owners.add(creator.id);
    }
    for (String username : memberNames) {
      User member = userByUsername(username);
      if (member != null) {
        room.members.add(member.id);
      }
    }
    rooms.put(room.id, room);
    return room;
  }

  /** Adds a member; an existing member is a no-op (as addUserToRoom). Posts the {@code au} system message. */
  synchronized boolean addMember(Room room, User user, User by) {
    if (room.members.contains(user.id)) {
      return false;
    }
    room.members.add(user.id);
    room.updatedAt = now();
    systemMessage(room, by, "au", user.username);
    return true;
  }

  /** Joining a public room by posting to it ({@code #name} or its id): {@code uj} system message. */
  synchronized void join(Room room, User user) {
    if (room.members.add(user.id)) {
      room.updatedAt = now();
      systemMessage(room, user, "uj", user.username);
    }
  }

  /** The direct room of two users; its id is the two user ids sorted and concatenated, like the server's. */
  synchronized Room directRoom(User a, User b) {
    String id = a.id.compareTo(b.id) <= 0 ? a.id + b.id : b.id + a.id;
    Room room = rooms.get(id);
    if (room == null) {
      room = new Room(id, null, "d", false, false, a.id, now());
      room.members.add(a.id);
      room.members.add(b.id);
      rooms.put(id, room);
    }
    return room;
  }

  /** channels.delete: the room and its messages go (the messages are not reported as deleted, as on the server). */
  synchronized void deleteRoom(Room room) {
    rooms.remove(room.id);
    messages.values().removeIf(m -> m.rid.equals(room.id));
  }

  // ---------------------------------------------------------------- messages

  synchronized Msg message(String id) {
    return messages.get(id);
  }

  synchronized boolean messageExists(String id) {
    return messages.containsKey(id);
  }

  /**
   * Inserts a chat message: parses {@code @mentions}, bumps the thread parent ({@code tcount}, {@code tlm},
   * {@code replies}: an update event of the parent follows the insert event of the reply), records it for inspection
   * and emits it.
   */
  synchronized Msg insertMessage(Room room, User author, String text, String tmid, String clientId, String alias,
      String via) {
    Msg parent = null;
    if (tmid != null) {
      parent = messages.get(tmid);
      if (parent == null || !parent.rid.equals(room.id)) {
        throw RestError.meteor("error-invalid-message", "Invalid message");
      }
    }
    String id = clientId != null ? clientId : newId();
    if (messages.containsKey(id)) {
      // chat.sendMessage answers a taken _id before it gets here; postMessage and the hooks make fresh ids
      throw new IllegalStateException("message id " + id + " is taken");
    }
    Instant now = now();
    Msg msg = new Msg(id, room.id, text, now, author, null, tmid, alias);
    parseMentions(msg, room);
    messages.put(id, msg);
    room.msgs++;
    room.lastMessageAt = now;
    room.updatedAt = now;
    var record = new RocketChatStandIn.Posted(id, room.id, room.name, room.t, tmid, author.id, author.username, text,
        now, via);
    posted.add(record);
    postListeners.forEach(l -> l.accept(record));
    emit(msg, room);
    if (parent != null) {
      parent.tcount++;
      parent.tlm = now;
      parent.replies.add(author.id);
      parent.updatedAt = now;
      emit(parent, room);
    }
    return msg;
  }

  private void parseMentions(Msg msg, Room room) {
    Matcher m = MENTION.matcher(msg.text == null ? "" : msg.text);
    Set<String> seen = new LinkedHashSet<>();
    while (m.find()) {
      String name = m.group(1);
      while (name.endsWith(".") || name.endsWith("-")) {
        name = name.substring(0, name.length() - 1); // "@bot." at the end of a sentence
      }
      if (!seen.add(name)) {
        continue;
      }
      if (name.equals("all") || name.equals("here")) {
        msg.specialMentions.add(name);
        continue;
      }
      User u = userByUsername(name);
      if (u != null) {
        msg.mentions.add(u);
      }
    }
  }

  synchronized Msg systemMessage(Room room, User actor, String type, String text) {
    Instant now = now();
    Msg msg = new Msg(newId(), room.id, text, now, actor, type, null, null);
    messages.put(msg.id, msg);
    room.msgs++;
    room.updatedAt = now;
    emit(msg, room);
    return msg;
  }

  synchronized Msg editMessage(Msg msg, User editor, String text) {
    msg.text = text;
    Instant now = now();
    msg.editedAt = now;
    msg.editedById = editor.id;
    msg.editedByUsername = editor.username;
    msg.updatedAt = now;
    msg.mentions.clear();
    msg.specialMentions.clear();
    Room room = rooms.get(msg.rid);
    parseMentions(msg, room);
    emit(msg, room);
    if (!editListeners.isEmpty()) {
      var record = new RocketChatStandIn.Posted(msg.id, room.id, room.name, room.t, msg.tmid, editor.id,
          editor.username, text, now, "chat.update");
      editListeners.forEach(l -> l.accept(record));
    }
    return msg;
  }

  /** chat.react: toggles by default, {@code shouldReact} forces the direction; emits the updated message. */
  synchronized void react(Msg msg, User user, String emoji, Boolean shouldReact) {
    String key = emoji.startsWith(":") ? emoji : ":" + emoji + ":";
    LinkedHashSet<String> who = msg.reactions.computeIfAbsent(key, k -> new LinkedHashSet<>());
    boolean add = shouldReact != null ? shouldReact : !who.contains(user.username);
    boolean changed = add ? who.add(user.username) : who.remove(user.username);
    if (who.isEmpty()) {
      msg.reactions.remove(key);
    }
    if (changed) {
      msg.updatedAt = now();
      emit(msg, rooms.get(msg.rid));
    }
  }

  synchronized void deleteMessage(Msg msg) {
    messages.remove(msg.id);
    deleted.add(new Deleted(msg.id, msg.rid, now()));
  }

  private void emit(Msg msg, Room room) {
    if (sink != null) {
      sink.messageChanged(msg, room);
    }
  }

  /** The room's messages, newest first (channels.messages and friends). */
  synchronized List<Msg> roomMessages(Room room) {
    List<Msg> list = new ArrayList<>();
    for (Msg m : messages.values()) {
      if (m.rid.equals(room.id)) {
        list.add(m);
      }
    }
    list.sort(Comparator.comparing((Msg m) -> m.ts).reversed());
    return list;
  }

  /** chat.syncMessages in {@code lastUpdate} mode: {@code _updatedAt > lastUpdate}, sorted by {@code ts} desc. */
  synchronized ObjectNode sync(Room room, Instant lastUpdate) {
    ObjectNode result = NODES.objectNode();
    ArrayNode updated = result.putArray("updated");
    for (Msg m : roomMessages(room)) {
      if (m.updatedAt.isAfter(lastUpdate)) {
        updated.add(messageJson(m, false));
      }
    }
    ArrayNode gone = result.putArray("deleted");
    for (Deleted d : deleted) {
      if (d.rid().equals(room.id) && d.deletedAt().isAfter(lastUpdate)) {
        gone.addObject().put("_id", d.id()).put("_deletedAt", d.deletedAt().toString());
      }
    }
    return result;
  }

  // ---------------------------------------------------------------- inspection

  void onPosted(java.util.function.Consumer<RocketChatStandIn.Posted> listener) {
    postListeners.add(listener);
  }

  void onEdited(java.util.function.Consumer<RocketChatStandIn.Posted> listener) {
    editListeners.add(listener);
  }

  synchronized List<RocketChatStandIn.Posted> posted() {
    return List.copyOf(posted);
  }

  synchronized void recordTyping(RocketChatStandIn.Typing t) {
    typing.add(t);
  }

  synchronized List<RocketChatStandIn.Typing> typing() {
    return List.copyOf(typing);
  }

  // ---------------------------------------------------------------- JSON views (REST: ISO dates; DDP: EJSON)

  static void date(ObjectNode o, String field, Instant at, boolean ejson) {
    if (at == null) {
      return;
    }
    if (ejson) {
      o.putObject(field).put("$date", at.toEpochMilli());
    } else {
      o.put(field, at.toString());
    }
  }

  synchronized ObjectNode messageJson(Msg m, boolean ejson) {
    ObjectNode o = NODES.objectNode();
    o.put("_id", m.id).put("rid", m.rid).put("msg", m.text);
    date(o, "ts", m.ts, ejson);
    o.putObject("u").put("_id", m.userId).put("username", m.username).put("name", m.name);
    date(o, "_updatedAt", m.updatedAt, ejson);
    if (m.systemType != null) {
      o.put("t", m.systemType);
      o.put("groupable", false);
    } else {
      ArrayNode mentions = o.putArray("mentions");
      for (User u : m.mentions) {
        mentions.addObject().put("_id", u.id).put("username", u.username).put("name", u.name).put("type", "user");
      }
      for (String special : m.specialMentions) {
        mentions.addObject().put("_id", special).put("username", special).put("type", "user");
      }
      o.putArray("channels");
      ArrayNode md = o.putArray("md");
      md.addObject().put("type", "PARAGRAPH").putArray("value").addObject().put("type", "PLAIN_TEXT")
          .put("value", m.text);
      o.putArray("urls");
    }
    if (m.alias != null) {
      o.put("alias", m.alias);
    }
    if (m.tmid != null) {
      o.put("tmid", m.tmid);
    }
    if (m.tcount > 0) {
      o.put("tcount", m.tcount);
      date(o, "tlm", m.tlm, ejson);
      ArrayNode replies = o.putArray("replies");
      m.replies.forEach(replies::add);
    }
    if (m.editedAt != null) {
      date(o, "editedAt", m.editedAt, ejson);
      o.putObject("editedBy").put("_id", m.editedById).put("username", m.editedByUsername);
    }
    if (!m.reactions.isEmpty()) {
      ObjectNode reactions = o.putObject("reactions");
      m.reactions.forEach((emoji, who) -> {
        ArrayNode names = reactions.putObject(emoji).putArray("usernames");
        who.forEach(names::add);
      });
    }
    return o;
  }

  synchronized ObjectNode roomJson(Room r) {
    ObjectNode o = NODES.objectNode();
    o.put("_id", r.id);
    if (r.name != null) {
      o.put("name", r.name).put("fname", r.name);
    }
    o.put("t", r.t);
    if (r.creatorId != null && !"d".equals(r.t)) {
      User creator = users.get(r.creatorId);
      if (creator != null) {
        o.putObject("u").put("_id", creator.id).put("username", creator.username);
      }
    }
    date(o, "ts", r.ts, false);
    if ("d".equals(r.t)) {
      ArrayNode usernames = o.putArray("usernames");
      ArrayNode uids = o.putArray("uids");
      for (String id : r.members) {
        User u = users.get(id);
        usernames.add(u == null ? id : u.username);
        uids.add(id);
      }
    } else {
      o.put("ro", r.readOnly).put("sysMes", true);
      if (r.isDefault) {
        o.put("default", true);
      }
    }
    o.put("usersCount", r.members.size()).put("msgs", r.msgs);
    date(o, "lm", r.lastMessageAt, false);
    date(o, "_updatedAt", r.updatedAt, false);
    return o;
  }

  /** A subscription document of subscriptions.get. */
  synchronized ObjectNode subscriptionJson(Room r, User user) {
    ObjectNode o = NODES.objectNode();
    o.put("_id", sha256(r.id + "/" + user.id).substring(0, 17)).put("rid", r.id).put("t", r.t);
    String name = r.name;
    if ("d".equals(r.t)) {
      // a DM's subscription is named after the other user
      name = r.members.stream().filter(id -> !id.equals(user.id)).map(users::get).filter(Objects::nonNull)
          .map(u -> u.username).findFirst().orElse(user.username);
    }
    o.put("name", name).put("fname", name);
    o.putObject("u").put("_id", user.id).put("username", user.username);
    o.put("open", true).put("alert", false).put("unread", 0);
    if (r.owners.contains(user.id)) {
      o.putArray("roles").add("owner");
    }
    date(o, "ts", r.ts, false);
    date(o, "_updatedAt", r.updatedAt, false);
    return o;
  }

  /** users.info / me: public fields, plus emails, roles and dates for {@code full} views. */
  synchronized ObjectNode userJson(User u, boolean full) {
    ObjectNode o = NODES.objectNode();
    o.put("_id", u.id).put("username", u.username).put("name", u.name).put("status", u.status)
        .put("statusText", u.statusText).put("utcOffset", 0).put("type", u.type).put("active", u.active);
    if (full) {
      if (u.email != null) {
        o.putArray("emails").addObject().put("address", u.email).put("verified", u.emailVerified);
      }
      date(o, "createdAt", u.createdAt, false);
      o.put("requirePasswordChange", u.requirePasswordChange);
      ArrayNode roles = o.putArray("roles");
      u.roles.forEach(roles::add);
    }
    return o;
  }
}
