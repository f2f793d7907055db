package heyken.testkit.rocketchat;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import heyken.testkit.rocketchat.StandInState.Msg;
import heyken.testkit.rocketchat.StandInState.Room;
import heyken.testkit.rocketchat.StandInState.User;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.ActorSystem;
import org.apache.pekko.actor.Cancellable;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.model.AttributeKeys;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpHeader;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;
import org.apache.pekko.http.javadsl.model.ws.Message;
import org.apache.pekko.http.javadsl.model.ws.TextMessage;
import org.apache.pekko.http.javadsl.model.ws.WebSocketUpgrade;
import org.apache.pekko.http.javadsl.settings.ServerSettings;
import org.apache.pekko.japi.Pair;
import org.apache.pekko.stream.BoundedSourceQueue;
import org.apache.pekko.stream.KillSwitches;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.SharedKillSwitch;
import org.apache.pekko.stream.TLSProtocol;
import org.apache.pekko.stream.javadsl.BidiFlow;
import org.apache.pekko.stream.javadsl.Flow;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.stream.javadsl.TLSPlacebo;
import org.apache.pekko.stream.javadsl.Tcp;
import org.apache.pekko.util.ByteString;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A protocol-faithful Rocket.Chat for tests (shared/protocols/rocketchat.md §6): REST under {@code /api/v1/} and the
 * Realtime API (DDP over WebSocket) at {@code /websocket}, on one loopback port, in memory, with its own Pekko
 * {@link ActorSystem}.
 *
 * <h2>What it models</h2>
 * <ul>
 *   <li><b>Boot</b>: room {@code GENERAL}/{@code general} (default, public), user {@code rocket.cat}, an optional admin
 *       ({@link Builder#admin}, like {@code ADMIN_USERNAME}/{@code ADMIN_PASS}; inserted directly, so no email 2FA),
 *       setup wizard {@code pending}, {@code in_progress} once an admin exists.</li>
 *   <li><b>REST</b> ({@link RestEndpoints}): {@code login} (password, resume; 401 bodies of §6), {@code logout},
 *       {@code me}, {@code users.create|info|register|setStatus|logout}, {@code channels.create|delete|info|invite|
 *       list|list.joined|messages|members}, {@code groups.create|info|invite|list|messages|members},
 *       {@code im.create|list|messages} ({@code dm.*} aliases), {@code subscriptions.get},
 *       {@code chat.postMessage|sendMessage|update|getMessage|react|delete|syncMessages}, {@code settings/:id} GET/POST,
 *       {@code permissions.listAll|update}, {@code /api/info}.
 *       Auth headers {@code X-User-Id}/{@code X-Auth-Token} (401 body of §1.1), permissions with the default roles
 *       (403), Meteor-error bodies (400 {@code "reason [code]"} + {@code errorType}), ajv-style
 *       {@code invalid-params} for unknown keys of {@code users.create}/{@code chat.postMessage} — hence
 *       {@code {channel, tmid}} is refused and {@code tmid} only works with {@code roomId}; the 5000-character limit;
 *       {@code #name}/public-id targets auto-join (system message {@code uj}), {@code @user} opens the DM.</li>
 *   <li><b>2FA</b>: {@code POST settings/:id} needs {@code X-2fa-Code} = hex SHA-256 of the password and
 *       {@code X-2fa-Method: password} unless 2FA is off or the user is younger than 1800 s (400
 *       {@code totp-required} otherwise); users created with {@code verified:true} while email auto opt-in is on get
 *       401 {@code totp-required} (method email) on every password login. Ten failed logins in a row block the
 *       user.</li>
 *   <li><b>Rate limiter</b>: per endpoint and client IP, 10 calls per 60 s ({@link Builder#rateLimit}) for callers
 *       without {@code api-bypass-rate-limit} (admin, bot, app are exempt); {@code X-RateLimit-Limit|Remaining|Reset}
 *       (Reset in epoch ms) and the 429 body of §1.4.</li>
 *   <li><b>Tokens</b> live {@link Builder#tokenLifetime} (90 days), then 401; removing a user's tokens closes the
 *       DDP connections logged in with them, as Meteor does.</li>
 *   <li><b>DDP</b> ({@link DdpSession}): {@code {"server_id":"0"}} on open, {@code connect} first ("Must connect
 *       first" otherwise), {@code connected} with a fresh session, server pings every {@link Builder#pingInterval}
 *       and a close when the client stays quiet for ping interval + {@link Builder#pongTimeout}, client pings
 *       answered with their id, {@code login} (resume → {@code result} type resume; bad token → error 403; password
 *       digest), {@code sub stream-room-messages} ({@code __my_messages__} or a room id → {@code ready}, refused →
 *       {@code nosub not-allowed}; other names → {@code nosub} 404), {@code unsub} → {@code nosub},
 *       {@code stream-notify-room} typing (recorded), unknown methods → result error 404, {@code updated} after every
 *       result.</li>
 *   <li><b>Emission</b>: every message insert and update (edits with {@code editedAt}/{@code editedBy}, reactions,
 *       thread replies plus the parent bumped with {@code tcount}/{@code tlm}/{@code replies}, system messages with
 *       {@code t}) goes to each {@code __my_messages__} subscriber who can access the room as
 *       {@code args:[message, {roomParticipant, roomType, roomName}]}, including the sender's own messages, and to
 *       per-room subscribers as {@code args:[message]}; EJSON dates on DDP, ISO strings on REST.</li>
 * </ul>
 *
 * <h2>Fault hooks</h2>
 * {@link #dropSockets()} (TCP reset, no close frame), {@link #silence()} (a half-open connection: no pings, no pongs,
 * nothing), {@link #realtimeOutage()} (drop and refuse new sockets with 503 until closed: messages posted meanwhile
 * reach no subscriber), {@link #restart()} (drop every connection, keep data and tokens), {@link #expireTokens},
 * {@link #failNext}, {@link #loseAnswerNext} (the work done, the answer lost), {@link #rateLimitUntil} (429 with {@code X-RateLimit-Reset} for everyone),
 * {@link #delayResponses},
 * {@link #setting(String, Object)}; people act through {@link #userSays}, {@link #directMessage}, {@link #edit},
 * {@link #react}, {@link #publicChannelNotJoined}.
 *
 * <h2>Inspection</h2>
 * {@link #posted()} (who posted what where, with which {@code tmid}), {@link #typingEvents()}, {@link #requests()},
 * {@link #room(String)}, {@link #user(String)}, {@link #settingValue}, {@link #failedLogins}, connection counts, and
 * {@link #awaitMyMessagesSubscribers} to wait (with a deadline) until a client is subscribed.
 *
 * <p>Wording marked [unverified] in the protocol notes (e.g. "Must connect first", {@code error-not-allowed} of
 * {@code groups.invite}) is reproduced as written there; clients must rely on status codes and {@code errorType}.
 *
 * <p>Not modelled: the cursor mode of {@code chat.syncMessages}, {@code useCollection} subscriptions (no
 * {@code added} documents), group DMs, TOTP authenticator apps (an emailed code is never accepted), discussions,
 * teams, livechat, attachments and URL previews, the {@code query}/{@code fields}/{@code sort} parameters, and the DDP
 * rate limiter.
 */
public final class RocketChatStandIn implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(RocketChatStandIn.class);

  /** A chat message as posted (REST or hook), for assertions. */
  public record Posted(String messageId, String roomId, String roomName, String roomType, String threadId,
      String userId, String username, String text, Instant ts, String via) {}

  /** A typing notification received over DDP ({@code stream-notify-room}). */
  public record Typing(String roomId, String username, List<String> activity, Instant at) {}

  /** One REST call as the stand-in answered it; the user is the caller (for a successful login: who logged in). */
  public record Request(String method, String endpoint, String userId, String username, int status, Instant at) {}

  /** A room as the server holds it. */
  public record RoomView(String id, String name, String type, List<String> memberUsernames, boolean readOnly) {}

  /** A user as the server holds it. */
  public record UserView(String id, String username, String name, Set<String> roles, String email,
      boolean emailVerified, boolean active) {}

  /** A realtime outage in progress; closing it lets clients connect again. */
  public interface Outage extends AutoCloseable {
    @Override
    void close();
  }

  public static Builder builder() {
    return new Builder();
  }

  /** Starts a stand-in on an ephemeral loopback port with an admin {@code admin}/{@code admin-password}. */
  public static RocketChatStandIn start() {
    return builder().admin("admin", "admin-password").start();
  }

  /** Options of a stand-in; every one has a default that suits tests. */
  public static final class Builder {
    private String host = "127.0.0.1";
    private int port;
    private String adminUsername;
    private String adminPassword;
    private Duration adminAge = Duration.ofDays(1);
    private Clock clock = Clock.systemUTC();
    private Duration pingInterval = Duration.ofSeconds(1);
    private Duration pongTimeout = Duration.ofSeconds(2);
    private int limitCalls = 10;
    private Duration limitWindow = Duration.ofSeconds(60);
    private boolean rateLimiter = true;
    private Duration tokenLifetime = Duration.ofDays(90);
    private boolean legacyGroupsList;

    private Builder() {}

    public Builder host(String host) {
      this.host = host;
      return this;
    }

    /** 0 (the default) picks a free port; see {@link RocketChatStandIn#url()}. */
    public Builder port(int port) {
      this.port = port;
      return this;
    }

    /** The admin inserted at boot, as the server does with {@code ADMIN_USERNAME}/{@code ADMIN_PASS}. */
    public Builder admin(String username, String password) {
      this.adminUsername = username;
      this.adminPassword = password;
      return this;
    }

    /**
     * How long ago the admin was created (default one day). Under 1800 s the server skips 2FA on privileged calls;
     * the default makes the password-fallback headers necessary, as on a server that has been running a while.
     */
    public Builder adminAge(Duration age) {
      this.adminAge = age;
      return this;
    }

    public Builder clock(Clock clock) {
      this.clock = clock;
      return this;
    }

    /** Server DDP ping interval (default 1 s). */
    public Builder pingInterval(Duration interval) {
      this.pingInterval = interval;
      return this;
    }

    /** How long past a ping interval the server waits for any frame before closing (default 2 s). */
    public Builder pongTimeout(Duration timeout) {
      this.pongTimeout = timeout;
      return this;
    }

    /** The REST limiter's budget per endpoint and client IP (default 10 per 60 s). */
    public Builder rateLimit(int calls, Duration window) {
      this.limitCalls = calls;
      this.limitWindow = window;
      return this;
    }

    /** {@code API_Enable_Rate_Limiter} (default on, as on a real server). */
    public Builder rateLimiter(boolean enabled) {
      this.rateLimiter = enabled;
      return this;
    }

    public Builder tokenLifetime(Duration lifetime) {
      this.tokenLifetime = lifetime;
      return this;
    }

    /** 6.x behaviour: {@code groups.list} answers 404 to a caller without private groups. */
    public Builder legacyGroupsList(boolean legacy) {
      this.legacyGroupsList = legacy;
      return this;
    }

    public RocketChatStandIn start() {
      return new RocketChatStandIn(this);
    }
  }

  private final ObjectMapper json = new ObjectMapper();
  private final StandInState state;
  private final RestEndpoints rest;
  private final ActorSystem system;
  private final Materializer materializer;
  private final Tcp.ServerBinding binding;
  private final String url;
  private final Duration pingInterval;
  private final Duration pongTimeout;
  private final Cancellable heartbeat;
  private final Map<String, SharedKillSwitch> connections = new ConcurrentHashMap<>();
  private final Map<String, DdpSession> sessions = new ConcurrentHashMap<>();
  private final AtomicInteger connectionIds = new AtomicInteger();
  private final AtomicInteger realtimeOpened = new AtomicInteger();
  private final AtomicInteger realtimeRefused = new AtomicInteger();
  private final Object changes = new Object();
  private volatile boolean realtimeRefusing;
  private volatile Duration responseDelay = Duration.ZERO;

  private RocketChatStandIn(Builder b) {
    this.pingInterval = b.pingInterval;
    this.pongTimeout = b.pongTimeout;
    this.state = new StandInState(b.clock, b.tokenLifetime);
    this.rest = new RestEndpoints(state, b.limitCalls, b.limitWindow, b.legacyGroupsList);
    state.setSetting("API_Enable_Rate_Limiter", StandInState.NODES.booleanNode(b.rateLimiter));
    if (b.adminUsername != null) {
      // initialData.ts inserts the env admin directly and adds it to the default channels silently
      User admin = state.insertUser(b.adminUsername, "Administrator", b.adminUsername + "@stand-in.invalid", true,
          b.adminPassword, Set.of("admin"), "user", false, state.now().minus(b.adminAge), false);
      state.roomById(StandInState.GENERAL_ID).members.add(admin.id);
    }
    state.sink(new StandInState.Sink() {
      @Override
      public void messageChanged(Msg message, Room room) {
        ObjectNode ejson = state.messageJson(message, true);
        for (DdpSession s : sessions.values()) {
          s.deliver(message, room, ejson);
        }
      }

      @Override
      public void tokensRemoved(Set<String> tokens) {
        for (DdpSession s : sessions.values()) {
          if (s.loginToken() != null && tokens.contains(s.loginToken())) {
            s.close();
          }
        }
      }
    });
    Config config = ConfigFactory.parseString(String.join("\n",
            "pekko.loglevel = WARNING",
            "pekko.stdout-loglevel = WARNING",
            "pekko.log-dead-letters = off",
            "pekko.coordinated-shutdown.run-by-jvm-shutdown-hook = off",
            "pekko.http.server.request-timeout = 60s",
            "pekko.http.server.idle-timeout = 120s"))
        .withFallback(ConfigFactory.defaultReference(RocketChatStandIn.class.getClassLoader()));
    this.system = ActorSystem.create("rocketchat-stand-in", config, RocketChatStandIn.class.getClassLoader());
    this.materializer = Materializer.matFromSystem(system);
    try {
      this.binding = Tcp.get(system).bind(b.host, b.port)
          .to(Sink.foreach(this::accept))
          .run(materializer)
          .toCompletableFuture().get(10, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      system.terminate();
      throw new IllegalStateException("interrupted while binding the Rocket.Chat stand-in", e);
    } catch (ExecutionException | TimeoutException e) {
      system.terminate();
      throw new IllegalStateException("the Rocket.Chat stand-in could not bind " + b.host + ":" + b.port, e);
    }
    InetSocketAddress local = binding.localAddress();
    this.url = "http://" + b.host + ":" + local.getPort();
    Duration tick = Duration.ofMillis(Math.max(10, pingInterval.toMillis() / 4));
    this.heartbeat = system.scheduler().scheduleWithFixedDelay(tick, tick,
        () -> sessions.values().forEach(s -> s.heartbeat(pingInterval.toNanos(), pongTimeout.toNanos())),
        system.dispatcher());
    log.info("Rocket.Chat stand-in listening on {}", url);
  }

  /** Base URL, e.g. {@code http://127.0.0.1:41234} (REST at {@code /api/v1/}, DDP at {@code /websocket}). */
  public String url() {
    return url;
  }

  /** The DDP endpoint, e.g. {@code ws://127.0.0.1:41234/websocket}. */
  public String websocketUrl() {
    return url.replaceFirst("^http", "ws") + "/websocket";
  }

  // ================================================================ networking

  /**
   * Each TCP connection runs pekko-http's server layer behind a kill switch of its own, so that a test hook can reset
   * the connection without a WebSocket close frame — what a crashed server or a dead NAT entry looks like to the
   * client.
   */
  @SuppressWarnings({"unchecked", "rawtypes"})
  private void accept(Tcp.IncomingConnection incoming) {
    String connectionId = "c" + connectionIds.incrementAndGet();
    SharedKillSwitch kill = KillSwitches.shared(connectionId);
    connections.put(connectionId, kill);
    // TLSPlacebo emits SessionBytes, a subtype of the SslTlsInbound the server layer consumes
    BidiFlow<TLSProtocol.SslTlsOutbound, ByteString, ByteString, TLSProtocol.SslTlsInbound, NotUsed> placebo =
        (BidiFlow) TLSPlacebo.getInstance();
    BidiFlow<HttpResponse, ByteString, ByteString, HttpRequest, NotUsed> http = Http.get(system)
        .serverLayer(ServerSettings.create(system), Optional.of(incoming.remoteAddress()), system.log())
        .atop(placebo);
    String clientIp = incoming.remoteAddress().getAddress().getHostAddress();
    Flow<HttpRequest, HttpResponse, NotUsed> handler =
        Flow.of(HttpRequest.class).mapAsync(1, req -> handle(req, connectionId, kill, clientIp));
    Flow<ByteString, ByteString, NotUsed> server = Flow.<ByteString>create()
        .via(kill.<ByteString>flow())
        .via(http.reversed().join(handler))
        .via(kill.<ByteString>flow())
        .watchTermination((mat, done) -> {
          done.whenComplete((d, e) -> connections.remove(connectionId));
          return mat;
        });
    incoming.handleWith(server, materializer);
  }

  private CompletionStage<HttpResponse> handle(HttpRequest req, String connectionId, SharedKillSwitch kill,
      String clientIp) {
    String path = req.getUri().path();
    Optional<WebSocketUpgrade> upgrade = req.getAttribute(AttributeKeys.webSocketUpgrade);
    if (path.equals("/websocket")) {
      req.discardEntityBytes(materializer);
      if (upgrade.isEmpty()) {
        return CompletableFuture.completedFuture(HttpResponse.create().withStatus(400)
            .withEntity(ContentTypes.TEXT_PLAIN_UTF8, "Can \"Upgrade\" only to \"WebSocket\"."));
      }
      if (realtimeRefusing) {
        realtimeRefused.incrementAndGet();
        return CompletableFuture.completedFuture(HttpResponse.create().withStatus(503)
            .withEntity(ContentTypes.TEXT_PLAIN_UTF8, "Service Unavailable (stand-in realtime outage)"));
      }
      return CompletableFuture.completedFuture(openRealtime(upgrade.get(), connectionId, kill));
    }
    String endpoint;
    if (path.startsWith("/api/v1/")) {
      endpoint = path.substring("/api/v1/".length());
    } else if (path.equals("/api/info")) {
      endpoint = "info";
    } else {
      req.discardEntityBytes(materializer);
      return CompletableFuture.completedFuture(jsonResponse(404, RestError.notFound().body, Map.of()));
    }
    String method = req.method().value();
    return req.entity().toStrict(10_000, materializer).thenCompose(entity -> {
      String text = entity.getData().utf8String();
      JsonNode body;
      try {
        body = text.isBlank() ? json.createObjectNode() : json.readTree(text);
      } catch (JsonProcessingException e) {
        return CompletableFuture.completedFuture(jsonResponse(400, StandInState.NODES.objectNode()
            .put("success", false).put("error", "Invalid JSON: " + e.getOriginalMessage()), Map.of()));
      }
      if (body == null || !body.isObject()) {
        body = json.createObjectNode();
      }
      Map<String, String> headers = new LinkedHashMap<>();
      for (HttpHeader h : req.getHeaders()) {
        headers.put(h.lowercaseName(), h.value());
      }
      var reply = rest.handle(new RestEndpoints.Request(method, endpoint, req.getUri().query().toMap(), body,
          headers, clientIp));
      HttpResponse response = jsonResponse(reply.status(), reply.body(), reply.headers());
      Duration delay = responseDelay;
      if (delay.isZero()) {
        return CompletableFuture.completedFuture(response);
      }
      return CompletableFuture.supplyAsync(() -> response,
          CompletableFuture.delayedExecutor(delay.toMillis(), TimeUnit.MILLISECONDS));
    });
  }

  private HttpResponse jsonResponse(int status, ObjectNode body, Map<String, String> headers) {
    byte[] bytes;
    try {
      bytes = json.writeValueAsBytes(body);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("cannot render a REST body", e);
    }
    List<HttpHeader> raw = new ArrayList<>();
    headers.forEach((k, v) -> raw.add(RawHeader.create(k, v)));
    return HttpResponse.create().withStatus(status).withEntity(ContentTypes.APPLICATION_JSON, bytes).addHeaders(raw);
  }

  private HttpResponse openRealtime(WebSocketUpgrade upgrade, String connectionId, SharedKillSwitch kill) {
    Pair<BoundedSourceQueue<Message>, Source<Message, NotUsed>> out =
        Source.<Message>queue(4096).preMaterialize(materializer);
    BoundedSourceQueue<Message> queue = out.first();
    String sessionId = connectionId + "-ddp" + realtimeOpened.incrementAndGet();
    DdpSession session = new DdpSession(sessionId, state, json, new DdpSession.Transport() {
      @Override
      public void send(String frame) {
        if (!queue.offer(TextMessage.create(frame)).isEnqueued()) {
          log.warn("DDP session {}: outbound frame dropped (buffer full or socket gone)", sessionId);
        }
      }

      @Override
      public void close() {
        queue.complete();
      }

      @Override
      public void abort() {
        kill.abort(new IOException("connection reset by the stand-in's fault hook"));
      }
    }, this::signal);
    Sink<Message, NotUsed> in = Flow.<Message>create()
        .mapAsync(1, m -> m.isText()
            ? m.asTextMessage().toStrict(10_000, materializer).thenApply(TextMessage::getStrictText)
            : m.asBinaryMessage().getStreamedData().runWith(Sink.ignore(), materializer).thenApply(done -> ""))
        .filter(text -> !text.isEmpty())
        .to(Sink.foreach(session::onFrame));
    Flow<Message, Message, NotUsed> flow = Flow.fromSinkAndSourceCoupled(in, out.second())
        .watchTermination((mat, done) -> {
          done.whenComplete((d, e) -> {
            session.terminated();
            sessions.remove(sessionId);
            signal();
          });
          return mat;
        });
    sessions.put(sessionId, session);
    session.open();
    signal();
    return upgrade.handleMessagesWith(flow);
  }

  private void signal() {
    synchronized (changes) {
      changes.notifyAll();
    }
  }

  private boolean await(BooleanSupplier condition, Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    synchronized (changes) {
      while (!condition.getAsBoolean()) {
        long left = deadline - System.nanoTime();
        if (left <= 0) {
          return false;
        }
        try {
          TimeUnit.NANOSECONDS.timedWait(changes, left);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          return false;
        }
      }
      return true;
    }
  }

  // ================================================================ people acting (hooks)

  /**
   * Creates a user as {@code users.create} with {@code verified:false} and {@code joinDefaultChannels:false} would (no
   * email 2FA, member of no room). Returns the user id.
   */
  public String createUser(String username, String password, String... roles) {
    Set<String> r = roles.length == 0 ? Set.of("user") : Set.of(roles);
    return state.insertUser(username, username, username + "@stand-in.invalid", false, password, r,
        r.contains("bot") ? "bot" : "user", false, null, true).id;
  }

  /** {@code username} posts {@code text} in a room (name or id); joins a public room first, like the web client. */
  public String userSays(String username, String room, String text) {
    return userSays(username, room, text, null);
  }

  /** As {@link #userSays(String, String, String)}, as a thread reply when {@code threadId} is not null. */
  public String userSays(String username, String room, String text, String threadId) {
    synchronized (state) {
      User user = requireUser(username);
      Room r = requireRoom(room);
      if (!r.members.contains(user.id)) {
        if (!"c".equals(r.t)) {
          throw new IllegalArgumentException(username + " is not a member of " + room);
        }
        state.join(r, user);
      }
      return state.insertMessage(r, user, text, threadId, null, null, "hook").id;
    }
  }

  /** {@code from} sends {@code to} a direct message (the DM is opened if needed); returns the message id. */
  public String directMessage(String from, String to, String text) {
    synchronized (state) {
      User a = requireUser(from);
      User b = requireUser(to);
      return state.insertMessage(state.directRoom(a, b), a, text, null, null, null, "hook").id;
    }
  }

  /** The author edits a message: an update event with {@code editedAt}/{@code editedBy}. */
  public void edit(String messageId, String newText) {
    synchronized (state) {
      Msg m = requireMessage(messageId);
      state.editMessage(m, state.userById(m.userId), newText);
    }
  }

  /** {@code username} adds a reaction: an update event with {@code reactions}. */
  public void react(String messageId, String username, String emoji) {
    synchronized (state) {
      state.react(requireMessage(messageId), requireUser(username), emoji, true);
    }
  }

  /**
   * Creates a public channel whose members are only {@code members} (created by {@code rocket.cat}): the bot can see
   * its messages through {@code __my_messages__} with {@code roomParticipant:false}. Returns the room id.
   */
  public String publicChannelNotJoined(String name, String... members) {
    synchronized (state) {
      User cat = state.userById(StandInState.ROCKET_CAT_ID);
      return state.createRoom(cat, name, "c", List.of(members), false, true).id;
    }
  }

  /** Sets a server setting (e.g. {@code Accounts_TwoFactorAuthentication_Enabled} to {@code false}). */
  public void setting(String id, Object value) {
    state.setSetting(id, json.valueToTree(value));
  }

  // ================================================================ faults

  /** Resets every DDP connection at the TCP level, without a close frame. Returns how many were dropped. */
  public int dropSockets() {
    int n = 0;
    for (DdpSession s : List.copyOf(sessions.values())) {
      s.abort();
      n++;
    }
    log.info("stand-in: dropped {} realtime connection(s)", n);
    return n;
  }

  /**
   * Makes every current DDP connection half-open: the server stops pinging, stops answering pings and sends no events;
   * the TCP connection stays up. Only a client-side watchdog notices. Connections opened later work normally.
   */
  public int silence() {
    int n = 0;
    for (DdpSession s : sessions.values()) {
      s.silence();
      n++;
    }
    log.info("stand-in: silenced {} realtime connection(s)", n);
    return n;
  }

  /**
   * Drops every realtime connection and refuses new ones (HTTP 503 on the upgrade) until the returned outage is closed.
   * REST keeps working, so people can post while no client is subscribed.
   */
  public Outage realtimeOutage() {
    realtimeRefusing = true;
    dropSockets();
    return () -> {
      realtimeRefusing = false;
      log.info("stand-in: realtime outage over");
    };
  }

  /** A process restart: every connection (REST keep-alives too) is reset; users, rooms, messages and tokens stay. */
  public void restart() {
    for (SharedKillSwitch k : List.copyOf(connections.values())) {
      k.abort(new IOException("stand-in restarting"));
    }
    log.info("stand-in: restarted (connections reset, data kept)");
  }

  /** Invalidates every login token of {@code username}: REST answers 401, its DDP connections are closed. */
  public int expireTokens(String username) {
    return state.removeTokens(requireUser(username).id, null).size();
  }

  /** The next call of {@code endpoint} (e.g. {@code chat.postMessage}) answers {@code status} with {@code jsonBody}. */
  public void failNext(String endpoint, int status, String jsonBody) {
    try {
      rest.failNext(endpoint, status, (ObjectNode) json.readTree(jsonBody));
    } catch (JsonProcessingException | ClassCastException e) {
      throw new IllegalArgumentException("failNext needs a JSON object body, got: " + jsonBody, e);
    }
  }

  /**
   * The next successful call of {@code endpoint} is carried out (a {@code chat.sendMessage} stores its message), but
   * its answer is replaced by {@code status} with {@code jsonBody}: what a client sees when a proxy in front of the
   * server times out, or the connection breaks, after the server did the work.
   */
  public void loseAnswerNext(String endpoint, int status, String jsonBody) {
    try {
      rest.loseAnswerNext(endpoint, status, (ObjectNode) json.readTree(jsonBody));
    } catch (JsonProcessingException | ClassCastException e) {
      throw new IllegalArgumentException("loseAnswerNext needs a JSON object body, got: " + jsonBody, e);
    }
  }

  /**
   * Every call of {@code endpoint} answers 429 (with {@code X-RateLimit-Reset}) until {@code window} has passed, for
   * every caller including exempt ones. Returns the reset instant.
   */
  public Instant rateLimitUntil(String endpoint, Duration window) {
    return rest.rateLimitUntil(endpoint, window);
  }

  /** Delays every REST response by {@code delay} ({@link Duration#ZERO} to stop). */
  public void delayResponses(Duration delay) {
    this.responseDelay = delay;
  }

  // ================================================================ inspection

  /** Every chat message inserted so far (REST or hook), oldest first; system messages are not included. */
  public List<Posted> posted() {
    return state.posted();
  }

  /**
   * Calls {@code listener} with every chat message as it is inserted (on the inserting thread, under the stand-in's
   * lock: keep it short), e.g. to time replies without polling.
   */
  public void onPosted(java.util.function.Consumer<Posted> listener) {
    state.onPosted(listener);
  }

  /** As {@link #onPosted} for edits: the record carries the new text, the editor and {@code via = "chat.update"}. */
  public void onEdited(java.util.function.Consumer<Posted> listener) {
    state.onEdited(listener);
  }

  public List<Posted> postedBy(String username) {
    return posted().stream().filter(p -> p.username().equals(username)).toList();
  }

  public List<Typing> typingEvents() {
    return state.typing();
  }

  public List<Request> requests() {
    return rest.requests();
  }

  public int failedLogins(String username) {
    return state.failedLogins(username);
  }

  public Object settingValue(String id) {
    JsonNode v = state.setting(id);
    return v.isMissingNode() ? null : json.convertValue(v, Object.class);
  }

  /** A room by name or id. */
  public Optional<RoomView> room(String nameOrId) {
    synchronized (state) {
      Room r = state.roomById(nameOrId);
      if (r == null) {
        r = state.roomByName(nameOrId);
      }
      if (r == null) {
        return Optional.empty();
      }
      List<String> members = r.members.stream().map(state::userById).map(u -> u.username).toList();
      return Optional.of(new RoomView(r.id, r.name, r.t, members, r.readOnly));
    }
  }

  public Optional<UserView> user(String username) {
    synchronized (state) {
      User u = state.userByUsername(username);
      return u == null ? Optional.empty() : Optional.of(new UserView(u.id, u.username, u.name, Set.copyOf(u.roles),
          u.email, u.emailVerified, u.active));
    }
  }

  /** The message's current REST view (with edits, reactions, thread counters), if it exists. */
  public Optional<JsonNode> message(String id) {
    synchronized (state) {
      Msg m = state.message(id);
      return m == null ? Optional.empty() : Optional.of(state.messageJson(m, false));
    }
  }

  /** The roles the permission is granted to. */
  public Set<String> permissionRoles(String permission) {
    return state.rolesOf(permission);
  }

  /** Realtime connections open now. */
  public int openRealtimeConnections() {
    return sessions.size();
  }

  /** Realtime connections accepted since start. */
  public int realtimeConnectionsOpened() {
    return realtimeOpened.get();
  }

  /** WebSocket upgrades refused during {@link #realtimeOutage()}. */
  public int realtimeConnectionsRefused() {
    return realtimeRefused.get();
  }

  /** Live (not silenced) connections of {@code username} subscribed to {@code __my_messages__}. */
  public int myMessagesSubscribers(String username) {
    User u = state.userByUsername(username);
    if (u == null) {
      return 0;
    }
    return (int) sessions.values().stream()
        .filter(s -> s.connected() && !s.silenced() && u.id.equals(s.userId()) && s.subscribedToMyMessages())
        .count();
  }

  /** Waits until {@code username} has at least {@code count} live {@code __my_messages__} subscriptions. */
  public boolean awaitMyMessagesSubscribers(String username, int count, Duration timeout) {
    return await(() -> myMessagesSubscribers(username) >= count, timeout);
  }

  // ================================================================ lifecycle

  @Override
  public void close() {
    heartbeat.cancel();
    binding.unbind();
    for (SharedKillSwitch k : List.copyOf(connections.values())) {
      k.shutdown();
    }
    system.terminate();
    try {
      system.getWhenTerminated().toCompletableFuture().get(15, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (ExecutionException | TimeoutException e) {
      log.warn("the Rocket.Chat stand-in's actor system did not stop in time", e);
    }
  }

  // ================================================================ helpers

  private User requireUser(String username) {
    User u = state.userByUsername(username);
    if (u == null) {
      throw new IllegalArgumentException("no user " + username + " on the stand-in");
    }
    return u;
  }

  private Room requireRoom(String nameOrId) {
    Room r = state.roomById(nameOrId);
    if (r == null) {
      r = state.roomByName(nameOrId);
    }
    if (r == null) {
      throw new IllegalArgumentException("no room " + nameOrId + " on the stand-in");
    }
    return r;
  }

  private Msg requireMessage(String id) {
    Msg m = state.message(id);
    if (m == null) {
      throw new IllegalArgumentException("no message " + id + " on the stand-in");
    }
    return m;
  }
}
