package heyken.actors.chat;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.time.Duration;
import java.time.Instant;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Rocket.Chat's Realtime API as a {@link RealtimeSession} (shared/protocols/rocketchat.md §2.1, §2.4): DDP over
 * {@code java.net.http.WebSocket}: {@code connect} → {@code login {resume}} with the REST token (a refused token
 * gets one fresh REST login) → {@code sub stream-room-messages __my_messages__} → {@code ready} → catch-up of every
 * joined room through {@code chat.syncMessages} from its high-water mark → LIVE; live events go through the same
 * filter.
 *
 * <p>Threads: one <i>realtime</i> thread runs the connection's state machine, the catch-up (blocking REST) and the
 * listener, so all of those see one order of events; a <i>watchdog</i> thread pings every
 * {@code heyken.chat.ping-interval} and replaces a connection that sent nothing for
 * {@code heyken.chat.silence-timeout} (a half-open TCP connection never reports an error); server pings are
 * answered on the socket's own thread at once, so a long catch-up never makes the server drop us. Each connection
 * attempt is a new {@link Connection} with new method and subscription ids; events of an old one are ignored, so a
 * replaced socket cannot deliver twice. Reconnects back off exponentially from {@code reconnect-min-backoff} to
 * {@code reconnect-max-backoff} (with jitter), reset once subscribed; a refused bot password waits
 * {@code login-retry-interval} instead (repeated failures would lock the account).
 */
final class RocketChatRealtime implements RealtimeSession {

  private static final Logger log = LoggerFactory.getLogger(RocketChatRealtime.class);
  private static final AtomicInteger SESSIONS = new AtomicInteger();
  private static final String MY_MESSAGES = "__my_messages__";
  private static final Duration START_MARGIN = Duration.ofSeconds(2);

  private final ChatSettings settings;
  private final RocketChatPlatform platform;
  private final RocketChatRest.Session bot;
  private final HttpClient http;
  private final ObjectMapper json;
  private final MessageListener listener;
  private final URI websocketUri;
  private final InboundFilter filter;
  private final Map<String, Instant> marks = new ConcurrentHashMap<>();
  /**
   * Where rooms the caller gave no mark for start: the moment of {@code listen} in server time, less a margin for
   * the clock offset's one-second resolution (answering a message from two seconds before the start beats losing
   * one written just after it).
   */
  private Instant startMark;
  private final Instant listenedAt = Instant.now();
  private final ScheduledExecutorService realtime;
  private final ScheduledExecutorService watchdog;
  private final String name;

  /** Written on the realtime thread, read by the watchdog. */
  private volatile Connection connection;
  // confined to the realtime thread
  private int generation;
  private int failedAttempts;
  private long ids;
  private ScheduledFuture<?> pendingReconnect;

  private volatile Status status = Status.CONNECTING;
  private volatile boolean closed;

  RocketChatRealtime(ChatSettings settings, RocketChatPlatform platform, RocketChatRest.Session bot, HttpClient http,
      ObjectMapper json, Map<String, Instant> highWaterMarks, MessageListener listener) {
    this.settings = settings;
    this.platform = platform;
    this.bot = bot;
    this.http = http;
    this.json = json;
    this.listener = listener;
    URI ws = URI.create(settings.url() + "/").resolve("websocket");
    this.websocketUri = URI.create(ws.toString().replaceFirst("^http", "ws"));
    this.filter = new InboundFilter(settings.botUsername(), settings.dedupeCapacity());
    this.marks.putAll(highWaterMarks);
    this.name = "heyken-chat-realtime-" + SESSIONS.incrementAndGet();
    this.realtime = Executors.newSingleThreadScheduledExecutor(daemon(name));
    this.watchdog = Executors.newSingleThreadScheduledExecutor(daemon(name + "-watchdog"));
  }

  private static java.util.concurrent.ThreadFactory daemon(String threadName) {
    return r -> {
      Thread t = new Thread(r, threadName);
      t.setDaemon(true);
      return t;
    };
  }

  void start() {
    long tick = Math.max(10, Math.min(settings.pingInterval().toMillis(), settings.silenceTimeout().toMillis()) / 4);
    watchdog.scheduleAtFixedRate(this::watch, tick, tick, TimeUnit.MILLISECONDS);
    realtime.execute(this::connect);
  }

  @Override
  public Status status() {
    return status;
  }

  @Override
  public Map<String, Instant> highWaterMarks() {
    return Map.copyOf(marks);
  }

  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    watchdog.shutdownNow();
    realtime.execute(() -> {
      if (pendingReconnect != null) {
        pendingReconnect.cancel(false);
      }
      Connection c = connection;
      connection = null;
      if (c != null) {
        c.close();
      }
      setStatus(Status.STOPPED, "closed");
    });
    realtime.shutdown();
    if (!Thread.currentThread().getName().equals(name)) {
      try {
        if (!realtime.awaitTermination(5, TimeUnit.SECONDS)) {
          realtime.shutdownNow();
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        realtime.shutdownNow();
      }
    }
  }

  // ---------------------------------------------------------------- connection lifecycle (realtime thread)

  private void connect() {
    pendingReconnect = null;
    if (closed) {
      return;
    }
    setStatus(Status.CONNECTING, "connecting to " + websocketUri);
    RocketChatRest.Credentials credentials;
    try {
      credentials = bot.credentials();
    } catch (ChatException.LoginRefused e) {
      // an operator must fix the password; retrying sooner would only bring the brute-force lock closer
      retryLater(settings.loginRetryInterval(), "the bot's login was refused: " + e.getMessage(), true);
      return;
    } catch (ChatException e) {
      retryLater(nextBackoff(), "REST login failed: " + e.getMessage(), false);
      return;
    }
    filter.botUserId(credentials.userId());
    if (startMark == null) {
      // the login above measured the server's clock (Date header): the start is in server time, like the messages
      startMark = listenedAt.plus(platform.serverClockOffset()).minus(START_MARGIN);
    }
    Connection c = new Connection(++generation, credentials);
    connection = c;
    http.newWebSocketBuilder().connectTimeout(settings.connectTimeout()).buildAsync(websocketUri, c)
        .whenComplete((ws, error) -> onRealtimeThread(() -> opened(c, ws, error)));
  }

  private void opened(Connection c, WebSocket ws, Throwable error) {
    if (c != connection) {
      if (ws != null) {
        ws.abort();
      }
      return;
    }
    if (error != null) {
      Throwable cause = error.getCause() != null ? error.getCause() : error;
      String why = cause instanceof java.net.http.WebSocketHandshakeException
          ? "the upgrade was answered with HTTP "
              + ((java.net.http.WebSocketHandshakeException) cause).getResponse().statusCode()
              + " (does a proxy in front of Rocket.Chat pass WebSockets on /websocket?)"
          : cause.toString();
      lost(c, "cannot open " + websocketUri + ": " + why);
      return;
    }
    c.ws = ws;
    c.lastFrameNanos = System.nanoTime();
    c.openedNanos = c.lastFrameNanos;
    c.send(frame("connect").put("version", "1").set("support", json.createArrayNode().add("1").add("pre2")
        .add("pre1")));
  }

  /** The connection is gone (or must go): drop it and schedule the next attempt. Old connections are ignored. */
  private void lost(Connection c, String reason) {
    if (c != connection) {
      return;
    }
    connection = null;
    c.close();
    if (closed) {
      return;
    }
    retryLater(nextBackoff(), reason, false);
  }

  private void retryLater(Duration delay, String reason, boolean needsOperator) {
    if (closed) {
      return;
    }
    setStatus(Status.RECONNECTING, reason);
    if (needsOperator) {
      log.error("Rocket.Chat realtime connection down ({}); next attempt in {}", reason, delay);
    } else {
      log.warn("Rocket.Chat realtime connection lost ({}); reconnecting in {} ms", reason, delay.toMillis());
    }
    pendingReconnect = realtime.schedule(this::connect, delay.toMillis(), TimeUnit.MILLISECONDS);
  }

  private Duration nextBackoff() {
    long min = settings.reconnectMinBackoff().toMillis();
    long max = settings.reconnectMaxBackoff().toMillis();
    long exp = min << Math.min(failedAttempts, 20);
    failedAttempts++;
    long capped = Math.min(max, exp);
    // ±20 % jitter so that both cores (or many bots) do not hammer a recovering server in step
    long jittered = (long) (capped * (0.8 + 0.4 * ThreadLocalRandom.current().nextDouble()));
    return Duration.ofMillis(Math.max(min, Math.min(max, jittered)));
  }

  private void setStatus(Status next, String reason) {
    Status previous = status;
    status = next;
    if (previous == next && next != Status.RECONNECTING) {
      return;
    }
    if (next == Status.LIVE || next == Status.STOPPED) {
      log.info("Rocket.Chat realtime {}: {}", next, reason);
    }
    try {
      listener.onStatus(next, reason);
    } catch (RuntimeException e) {
      log.error("chat listener failed on status {}", next, e);
    }
  }

  // ---------------------------------------------------------------- DDP frames (realtime thread)

  private void onFrame(Connection c, JsonNode f) {
    if (c != connection) {
      return;
    }
    String msg = f.path("msg").asText("");
    switch (msg) {
      case "connected" -> login(c);
      case "failed" -> lost(c, "the server does not speak DDP version 1 (it offered " + f.path("version") + ")");
      case "result" -> {
        if (f.path("id").asText().equals(c.loginId)) {
          loggedIn(c, f);
        }
      }
      case "ready" -> {
        for (JsonNode sub : f.path("subs")) {
          if (sub.asText().equals(c.subId)) {
            subscribed(c);
          }
        }
      }
      case "nosub" -> {
        if (f.path("id").asText().equals(c.subId)) {
          lost(c, "the server refused the subscription to " + MY_MESSAGES + ": " + f.path("error"));
        }
      }
      case "changed" -> {
        if ("stream-room-messages".equals(f.path("collection").asText())
            && MY_MESSAGES.equals(f.path("fields").path("eventName").asText())) {
          liveEvent(f.path("fields").path("args"));
        }
      }
      case "error" -> log.warn("Rocket.Chat sent a DDP error: {} (offending: {})", f.path("reason").asText(),
          RocketChatRest.abbreviate(f.path("offendingMessage")));
      default -> { } // added/removed/updated and anything newer: not needed here
    }
  }

  private void login(Connection c) {
    c.loginId = nextId("login");
    ObjectNode login = frame("method").put("method", "login").put("id", c.loginId);
    login.putArray("params").addObject().put("resume", c.credentials.authToken());
    c.send(login);
  }

  private void loggedIn(Connection c, JsonNode result) {
    if (result.has("error")) {
      JsonNode error = result.path("error");
      String reason = error.path("reason").asText(error.toString());
      if (error.path("error").asInt(0) != 403) {
        // not a dead token (e.g. the DDP rate limiter's too-many-requests): a fresh password login would not help
        lost(c, "the server refused the DDP login: " + reason);
        return;
      }
      if (c.reloggedIn) {
        lost(c, "the server refused the DDP login right after a fresh REST login: " + reason);
        return;
      }
      // the REST token expired or was revoked: one new password login, then resume with the new token
      log.info("Rocket.Chat refused the resume token over DDP ({}): logging in again", reason);
      c.reloggedIn = true;
      try {
        c.credentials = bot.relogin(c.credentials);
      } catch (ChatException.LoginRefused e) {
        connection = null;
        c.close();
        retryLater(settings.loginRetryInterval(), "the bot's login was refused: " + e.getMessage(), true);
        return;
      } catch (ChatException e) {
        lost(c, "REST login failed: " + e.getMessage());
        return;
      }
      filter.botUserId(c.credentials.userId());
      login(c);
      return;
    }
    c.subId = nextId("sub");
    ObjectNode sub = frame("sub").put("id", c.subId).put("name", "stream-room-messages");
    sub.putArray("params").add(MY_MESSAGES).add(false);
    c.send(sub);
  }

  private void subscribed(Connection c) {
    c.subscribed = true;
    failedAttempts = 0;
    if (catchUp(c)) {
      setStatus(Status.LIVE, "subscribed to " + MY_MESSAGES + " on " + websocketUri + " and caught up");
    }
  }

  /**
   * After every (re)subscription: read each joined room from its high-water mark minus the overlap and feed what was
   * missed through the filter, oldest first. The subscription is already live, so nothing falls between the two;
   * what arrives both ways is dropped by id. The marks are snapshotted first: a live event that moves a mark during
   * the catch-up must not hide older missed messages. Returns whether it completed on a still-live connection.
   */
  private boolean catchUp(Connection c) {
    Map<String, Instant> snapshot = Map.copyOf(marks);
    List<ChatRoom> rooms;
    try {
      rooms = platform.joinedRooms();
    } catch (ChatException e) {
      lost(c, "catch-up could not list the bot's rooms: " + e.getMessage());
      return false;
    }
    int delivered = 0;
    for (ChatRoom room : rooms) {
      if (c.dead || closed) {
        return false; // the next connection catches up again
      }
      // a persisted mark is read with an overlap (ts order and arrival order can differ a little); the start is not
      Instant mark = snapshot.get(room.id());
      Instant cutoff = mark != null ? mark.minus(settings.catchUpOverlap()) : startMark;
      List<ChatMessage> missed;
      try {
        missed = platform.messagesSince(room.id(), cutoff);
      } catch (ChatException e) {
        if (e.status() == 400 || e.status() == 403) {
          // left the room between listing and reading, or no read access: nothing to catch up there
          log.warn("catch-up skipped room {}: {}", room.id(), e.getMessage());
          continue;
        }
        lost(c, "catch-up of room " + room.id() + " failed: " + e.getMessage());
        return false;
      }
      missed.sort(Comparator.comparing(ChatMessage::ts));
      for (ChatMessage m : missed) {
        if (consider(m, room.type(), null, false, cutoff)) {
          delivered++;
        }
      }
    }
    log.info("Rocket.Chat catch-up done: {} room(s), {} message(s) delivered", rooms.size(), delivered);
    return !c.dead && c == connection && !closed;
  }

  private void liveEvent(JsonNode args) {
    ChatMessage m;
    try {
      m = ChatMessage.fromJson(args.path(0));
    } catch (IllegalArgumentException e) {
      log.warn("ignored a message event without id, room or timestamp: {}", e.getMessage());
      return;
    }
    JsonNode meta = args.path(1);
    RoomType type = RoomType.fromCode(meta.path("roomType").asText(null));
    Boolean participant = meta.has("roomParticipant") ? meta.get("roomParticipant").asBoolean() : null;
    // only a mark that came from the server's own timestamps bounds live events (the start mark is a local estimate)
    Instant mark = marks.get(m.roomId());
    consider(m, type, participant, true, mark == null ? null : mark.minus(settings.catchUpOverlap()));
  }

  /** Runs the filter, delivers, and moves the room's mark. Returns whether the message was delivered. */
  private boolean consider(ChatMessage m, RoomType type, Boolean participant, boolean live, Instant cutoff) {
    InboundFilter.Verdict verdict = filter.judge(m, participant, live, cutoff);
    try (var mdc = ChatMdc.of(m.roomId(), m.id())) {
      if (verdict != InboundFilter.Verdict.DELIVER) {
        log.debug("message {} in room {} not delivered: {}", m.id(), m.roomId(), verdict);
      } else {
        filter.remember(m.id());
        InboundMessage in = new InboundMessage(m.id(), m.roomId(), type, m.threadId(), m.userId(), m.username(),
            m.text(), m.ts(), filter.mentionsBot(m), type == RoomType.DIRECT);
        log.debug("message {} in room {} from {} delivered", m.id(), m.roomId(), m.username());
        try {
          listener.onMessage(in);
        } catch (RuntimeException e) {
          // the message counts as handled: delivering it again would repeat whatever part of the work succeeded
          log.error("chat listener failed on message {} in room {}", m.id(), m.roomId(), e);
        }
      }
    }
    boolean newInJoinedRoom = !Boolean.FALSE.equals(participant) && !m.isUpdate()
        && verdict != InboundFilter.Verdict.DUPLICATE && verdict != InboundFilter.Verdict.ALREADY_HANDLED;
    if (newInJoinedRoom || verdict == InboundFilter.Verdict.DELIVER) {
      marks.merge(m.roomId(), m.ts(), (a, b) -> a.isAfter(b) ? a : b);
    }
    return verdict == InboundFilter.Verdict.DELIVER;
  }

  // ---------------------------------------------------------------- watchdog (watchdog thread)

  /** Pings when due; a connection that sent nothing for the silence timeout is presumed dead and replaced. */
  private void watch() {
    Connection c = connection;
    if (c == null || c.ws == null || c.dead) {
      return;
    }
    long now = System.nanoTime();
    if (!c.subscribed && now - c.openedNanos > handshakeTimeout().toNanos()) {
      // frames flow (pings) but connect/login/sub never completed: a wedged server session
      String reason = "no subscription within " + handshakeTimeout().toMillis() + " ms of opening the socket";
      c.close();
      onRealtimeThread(() -> lost(c, reason));
      return;
    }
    long quiet = now - c.lastFrameNanos;
    if (quiet > settings.silenceTimeout().toNanos()) {
      String reason = "no frame from the server for " + TimeUnit.NANOSECONDS.toMillis(quiet) + " ms (silence timeout "
          + settings.silenceTimeout() + ")";
      c.close();
      onRealtimeThread(() -> lost(c, reason));
      return;
    }
    if (now - c.lastPingNanos >= settings.pingInterval().toNanos()) {
      c.lastPingNanos = now;
      c.send(frame("ping").put("id", "hb-" + now));
    }
  }

  // ---------------------------------------------------------------- helpers

  /** Budget from an open socket to {@code ready}: a frame round trip or two plus one REST re-login. */
  private Duration handshakeTimeout() {
    return settings.silenceTimeout().plus(settings.requestTimeout());
  }

  /** Runs on the realtime thread; after {@link #close()} events from sockets and the watchdog are dropped. */
  private void onRealtimeThread(Runnable task) {
    try {
      realtime.execute(task);
    } catch (java.util.concurrent.RejectedExecutionException e) {
      log.debug("realtime session closed; event dropped");
    }
  }

  private ObjectNode frame(String msg) {
    return json.createObjectNode().put("msg", msg);
  }

  private String nextId(String prefix) {
    return prefix + "-" + generation + "-" + (++ids);
  }

  /**
   * One WebSocket and its DDP state. Frames are parsed on the socket's thread; server pings are answered there at
   * once, everything else goes to the realtime thread.
   */
  private final class Connection implements WebSocket.Listener {
    final int gen;
    volatile WebSocket ws;
    volatile boolean dead;
    volatile long lastFrameNanos = System.nanoTime();
    volatile long lastPingNanos = System.nanoTime();
    volatile long openedNanos = System.nanoTime();
    volatile boolean subscribed;
    RocketChatRest.Credentials credentials;
    String loginId;
    String subId;
    boolean reloggedIn;
    private final StringBuilder partial = new StringBuilder();
    private CompletableFuture<WebSocket> sending = CompletableFuture.completedFuture(null);

    Connection(int gen, RocketChatRest.Credentials credentials) {
      this.gen = gen;
      this.credentials = credentials;
    }

    /** Sends one frame after the previous one (the JDK allows one outstanding send). */
    synchronized void send(ObjectNode frame) {
      WebSocket socket = ws;
      if (socket == null || dead) {
        return;
      }
      String text;
      try {
        text = json.writeValueAsString(frame);
      } catch (JsonProcessingException e) {
        throw new IllegalStateException("cannot render a DDP frame", e);
      }
      sending = sending.exceptionally(e -> null).thenCompose(x -> socket.sendText(text, true));
      sending.whenComplete((x, e) -> {
        if (e != null && !dead) {
          onRealtimeThread(() -> lost(this, "sending failed: " + e));
        }
      });
    }

    void close() {
      dead = true;
      WebSocket socket = ws;
      if (socket != null) {
        // a polite close frame if the socket still works, then abort: a dead peer would never answer the close
        socket.sendClose(WebSocket.NORMAL_CLOSURE, "bye").orTimeout(1, TimeUnit.SECONDS)
            .whenComplete((x, e) -> socket.abort());
      }
    }

    @Override
    public void onOpen(WebSocket webSocket) {
      webSocket.request(1);
    }

    @Override
    public CompletionStage<?> onText(WebSocket webSocket, CharSequence data, boolean last) {
      lastFrameNanos = System.nanoTime();
      partial.append(data);
      if (last) {
        String text = partial.toString();
        partial.setLength(0);
        handleText(webSocket, text);
      }
      webSocket.request(1);
      return null;
    }

    private void handleText(WebSocket webSocket, String text) {
      JsonNode f;
      try {
        f = json.readTree(text);
      } catch (JsonProcessingException e) {
        log.warn("ignored a DDP frame that is not JSON: {}", RocketChatRest.abbreviate(text));
        return;
      }
      if ("ping".equals(f.path("msg").asText())) {
        if (ws == null) {
          ws = webSocket; // a ping can precede buildAsync's completion
        }
        ObjectNode pong = frame("pong");
        if (f.has("id")) {
          pong.set("id", f.get("id"));
        }
        send(pong);
        return;
      }
      onRealtimeThread(() -> onFrame(this, f));
    }

    @Override
    public CompletionStage<?> onBinary(WebSocket webSocket, java.nio.ByteBuffer data, boolean last) {
      lastFrameNanos = System.nanoTime();
      webSocket.request(1);
      return null;
    }

    @Override
    public CompletionStage<?> onPing(WebSocket webSocket, java.nio.ByteBuffer message) {
      lastFrameNanos = System.nanoTime();
      webSocket.request(1);
      return null; // the JDK answers WebSocket-level pings itself
    }

    @Override
    public CompletionStage<?> onPong(WebSocket webSocket, java.nio.ByteBuffer message) {
      lastFrameNanos = System.nanoTime();
      webSocket.request(1);
      return null;
    }

    @Override
    public CompletionStage<?> onClose(WebSocket webSocket, int statusCode, String reason) {
      dead = true;
      onRealtimeThread(() -> lost(this, "closed by the server (" + statusCode
          + (reason.isEmpty() ? "" : " " + reason) + ")"));
      return null;
    }

    @Override
    public void onError(WebSocket webSocket, Throwable error) {
      dead = true;
      onRealtimeThread(() -> lost(this, "socket error: " + error));
    }

    @Override
    public String toString() {
      return "connection " + gen;
    }
  }
}
