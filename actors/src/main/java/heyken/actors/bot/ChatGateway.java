package heyken.actors.bot;

import heyken.actors.chat.ChatException;
import heyken.actors.chat.ChatNews;
import heyken.actors.chat.ChatPlatform;
import heyken.actors.chat.ChatSettings;
import heyken.actors.chat.InboundMessage;
import heyken.actors.chat.MessageListener;
import heyken.actors.chat.RealtimeSession;
import heyken.actors.chat.RocketChatPlatform;
import com.fasterxml.jackson.annotation.JsonCreator;
import heyken.actors.Failures;
import heyken.actors.core.CoreManager;
import heyken.protocol.CborSerializable;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.SupervisorStrategy;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.persistence.typed.PersistenceId;
import org.apache.pekko.persistence.typed.RecoveryCompleted;
import org.apache.pekko.persistence.typed.javadsl.CommandHandler;
import org.apache.pekko.persistence.typed.javadsl.Effect;
import org.apache.pekko.persistence.typed.javadsl.EventHandler;
import org.apache.pekko.persistence.typed.javadsl.EventSourcedBehavior;
import org.apache.pekko.persistence.typed.javadsl.RetentionCriteria;
import org.apache.pekko.persistence.typed.javadsl.SignalHandler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Rocket.Chat connection, once in the cluster (a singleton on the active core): it provisions the server, listens
 * in realtime, hands each message meant for the bot (a DM, a mention, a {@code !command}) to the room's
 * {@link Conversation}, posts the answer (in the thread when the question was in one), and records per message that
 * its answer was posted and per room how far it has read. After a failover the new active core's gateway resumes
 * from those marks: messages written while no core listened are caught up and answered once; a message whose answer
 * the conversation recorded but the dead core never posted is posted now. Each start (an activation) is announced
 * in heyken-system. A crash between a post and its record cannot show an answer twice: each reply is posted under an
 * id derived from the question's id ({@code chat.sendMessage} with {@code _id}), which the server refuses a second
 * time.
 *
 * <p>Rooms are answered in parallel, each room one message at a time and in order. A language-model answer streams:
 * the reply is posted once it has been written for about a second (or at once with the question's place in the
 * model's queue) and edited at most about once a second, a last time with the whole answer. It also posts the
 * {@link ChatNews} any actor in the cluster publishes (deduplicated by key).
 */
public final class ChatGateway
    extends EventSourcedBehavior<ChatGateway.Command, ChatGateway.Event, ChatGateway.State> {

  public static final PersistenceId PERSISTENCE_ID = PersistenceId.ofUniqueId("chat-gateway");
  public static final String TAG = "chat";
  private static final Logger log = LoggerFactory.getLogger(ChatGateway.class);
  static final int MAX_REMEMBERED = 5000;
  static final int MAX_NEWS_BACKLOG = 200;
  private static final Duration RETRY = Duration.ofSeconds(5);

  public sealed interface Command extends CborSerializable {}

  public enum Stop implements Command {
    INSTANCE
  }

  enum Connect implements Command {
    INSTANCE
  }

  record Connected(ChatPlatform platform, RealtimeSession session, String error) implements Command {}

  private record Connection(ChatPlatform platform, RealtimeSession session) {}

  record Inbound(InboundMessage message) implements Command {}

  record Answered(InboundMessage message, String answer, String error) implements Command {}

  record Posted(InboundMessage message, String error) implements Command {}

  /** Records the replies posted since the last record, in one write. */
  enum RecordPosted implements Command {
    INSTANCE
  }

  /** The conversation's progress on an answer (through a message adapter). */
  record Streamed(Conversation.Progress progress) implements Command {}

  /** Time to show (post or edit) the latest progress of the answer to {@code messageId}. */
  record ShowProgress(String messageId) implements Command {}

  /** A line of system news to post (through a message adapter of the {@link ChatNews} topic). */
  record News(ChatNews.Item item) implements Command {}

  record NewsRoom(String channel, String roomId, String error) implements Command {}

  public sealed interface Event extends CborSerializable {}

  /** The answer to {@code messageId} is in the room; the room is read up to {@code messageTs}. */
  public record ReplyPosted(String messageId, String roomId, Instant messageTs, Instant at) implements Event {}

  public record State(Map<String, Instant> marks, LinkedHashMap<String, Instant> posted) implements CborSerializable {
    @JsonCreator
    public State {
      marks = marks == null ? Map.of() : Map.copyOf(marks);
      posted = posted == null ? new LinkedHashMap<>() : posted;
    }

    State apply(Event event) {
      var p = (ReplyPosted) event;
      var nextMarks = new HashMap<>(marks);
      nextMarks.merge(p.roomId(), p.messageTs(), (a, b) -> a.isAfter(b) ? a : b);
      var nextPosted = new LinkedHashMap<>(posted);
      nextPosted.put(p.messageId(), p.at());
      while (nextPosted.size() > MAX_REMEMBERED) {
        nextPosted.remove(nextPosted.keySet().iterator().next());
      }
      return new State(nextMarks, nextPosted);
    }
  }

  /**
   * What the gateway needs from the core: the platform, who is an admin, where blocking work runs, how a streamed
   * answer shows ({@link BotSettings#streaming()}).
   */
  public record Wiring(ChatSettings settings, Set<String> admins, Duration answerTimeout, Executor blocking,
      ActorRef<CoreManager.Command> coreManager, Streaming streaming) {}

  /**
   * How a streamed answer shows: the first message goes up once the answer has been written for {@code firstPost}
   * (an answer done sooner is posted once, whole) or at once when the question has to wait in the model's queue;
   * it is then edited at most every {@code editEvery}, and a last time with the whole answer.
   */
  public record Streaming(Duration firstPost, Duration editEvery) {
    /** When {@code heyken.bot.stream-first-post} or {@code stream-edit-every} is not configured. */
    public static final Streaming DEFAULT = new Streaming(Duration.ofSeconds(1), Duration.ofSeconds(1));
  }

  public static Behavior<Command> create(Wiring wiring) {
    return Behaviors.setup(context -> Behaviors.withTimers(timers -> new ChatGateway(context, timers, wiring,
        wiring.streaming())));
  }

  private final ActorContext<Command> context;
  private final TimerScheduler<Command> timers;
  private final Wiring wiring;
  private final Streaming streaming;
  private final Map<String, Boolean> adminCache = new ConcurrentHashMap<>();
  private final ActorRef<Conversation.Progress> progressAdapter;
  private ChatPlatform platform;
  private RealtimeSession session;
  // not state: per room the reply being made (rooms are answered one message at a time, in order) and the
  // messages waiting behind it; per room the chain of its platform calls, so that its posts and edits keep order
  private final Map<String, Reply> replying = new HashMap<>();
  private final Map<String, ArrayDeque<InboundMessage>> waiting = new HashMap<>();
  private final Map<String, CompletableFuture<Void>> lanes = new HashMap<>();
  // system news: keys already posted (dedupe), room ids by channel name, items waiting for a connection or a room
  private final LinkedHashSet<String> newsKeys = new LinkedHashSet<>();
  private final Map<String, String> newsRooms = new HashMap<>();
  private final ArrayDeque<ChatNews.Item> newsBacklog = new ArrayDeque<>();
  private final Set<String> newsRoomLookups = new HashSet<>();
  // replies posted and not yet recorded: written together, so that one journal write serves many rooms
  private final List<ReplyPosted> toRecord = new ArrayList<>();
  private boolean recordScheduled;

  /** One reply in the making: where it goes and what of it the room has seen. */
  private static final class Reply {
    final InboundMessage message;
    final String postId;
    final long startedNanos = System.nanoTime();
    String text;
    int queuePosition;
    boolean shown;
    String shownText;
    long shownNanos;
    boolean showScheduled;

    Reply(InboundMessage message) {
      this.message = message;
      this.postId = replyId(message.id());
    }
  }

  private ChatGateway(ActorContext<Command> context, TimerScheduler<Command> timers, Wiring wiring,
      Streaming streaming) {
    super(PERSISTENCE_ID, SupervisorStrategy.restartWithBackoff(Duration.ofSeconds(1), Duration.ofSeconds(30), 0.2));
    this.context = context;
    this.timers = timers;
    this.wiring = wiring;
    this.streaming = streaming;
    this.progressAdapter = context.messageAdapter(Conversation.Progress.class, Streamed::new);
    ChatNews.get(context.getSystem()).subscribe(context.messageAdapter(ChatNews.Item.class, News::new));
  }

  /**
   * The id of the bot's reply to {@code inboundId}: derived, so that a second attempt to post the same reply (after
   * a crash between posting and recording it, or a send whose answer was lost) finds the first one and edits it to
   * the final text instead of showing twice (ChatPlatform.postOnce). 17 characters of
   * Meteor's id alphabet, like the server's own ids.
   */
  static String replyId(String inboundId) {
    return derivedId("heyken-reply:" + inboundId);
  }

  static String newsId(String key) {
    return derivedId("heyken-news:" + key);
  }

  private static final String ID_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTWXYZabcdefghijkmnopqrstuvwxyz";

  private static String derivedId(String seed) {
    byte[] hash;
    try {
      hash = java.security.MessageDigest.getInstance("SHA-256").digest(seed.getBytes(StandardCharsets.UTF_8));
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is missing from this JVM", e);
    }
    var id = new StringBuilder(17);
    for (int i = 0; i < 17; i++) {
      id.append(ID_ALPHABET.charAt((hash[i] & 0xff) % ID_ALPHABET.length()));
    }
    return id.toString();
  }

  @Override
  public State emptyState() {
    return new State(Map.of(), new LinkedHashMap<>());
  }

  @Override
  public RetentionCriteria retentionCriteria() {
    return RetentionCriteria.snapshotEvery(200, 2).withDeleteEventsOnSnapshot();
  }

  @Override
  public Set<String> tagsFor(Event event) {
    return Set.of(TAG);
  }

  @Override
  public SignalHandler<State> signalHandler() {
    return newSignalHandlerBuilder()
        .onSignal(RecoveryCompleted.instance(), state -> context.getSelf().tell(Connect.INSTANCE))
        .onSignal(PostStop.instance(), state -> close())
        .build();
  }

  private void close() {
    if (session != null) {
      session.close();
      session = null;
    }
    if (platform != null) {
      platform.close();
      platform = null;
    }
  }

  @Override
  public CommandHandler<Command, Event, State> commandHandler() {
    return newCommandHandlerBuilder().forAnyState()
        .onCommand(Connect.class, (state, c) -> connect(state))
        .onCommand(Connected.class, this::onConnected)
        .onCommand(Inbound.class, this::onInbound)
        .onCommand(Answered.class, this::onAnswered)
        .onCommand(Posted.class, this::onPosted)
        .onCommand(RecordPosted.class, (state, r) -> recordPosted())
        .onCommand(Streamed.class, (state, s) -> onStreamed(s.progress()))
        .onCommand(ShowProgress.class, (state, s) -> onShowProgress(s.messageId()))
        .onCommand(News.class, (state, n) -> onNews(n.item()))
        .onCommand(NewsRoom.class, (state, r) -> onNewsRoom(r))
        .onCommand(Stop.class, (state, stop) -> Effect().stop())
        .build();
  }

  private Effect<Event, State> connect(State state) {
    close();
    var self = context.getSelf();
    var marks = state.marks();
    var settings = wiring.settings();
    context.pipeToSelf(CompletableFuture.supplyAsync(() -> {
      var chat = new RocketChatPlatform(settings);
      try {
        if (settings.canProvision()) {
          chat.provision(); // logs its report
        }
        return new Connection(chat, chat.listen(marks, new MessageListener() {
          @Override
          public void onMessage(InboundMessage message) {
            self.tell(new Inbound(message));
          }

          @Override
          public void onStatus(RealtimeSession.Status status, String reason) {
            log.info("Rocket.Chat realtime {}: {}", status, reason);
          }
        }));
      } catch (RuntimeException e) {
        chat.close();
        throw e;
      }
    }, wiring.blocking()), (c, error) -> error == null ? new Connected(c.platform(), c.session(), null)
        : new Connected(null, null, Failures.message(error)));
    return Effect().none();
  }

  private Effect<Event, State> onConnected(State state, Connected connected) {
    if (connected.error() != null) {
      log.warn("Rocket.Chat at {} is not usable ({}); retrying in {} s", wiring.settings().url(), connected.error(),
          RETRY.toSeconds());
      timers.startSingleTimer(Connect.INSTANCE, RETRY);
      return Effect().none();
    }
    platform = connected.platform();
    session = connected.session();
    log.info("Rocket.Chat gateway listening at {} ({} rooms with a mark)", wiring.settings().url(),
        state.marks().size());
    announceActivation();
    flushNewsBacklog();
    return Effect().none();
  }

  /**
   * The gateway runs on the active core and starts with each activation: it tells heyken-system which core is active
   * now, under which epoch and why (first start, failover, planned switch). Best effort: a failed post is logged.
   */
  private void announceActivation() {
    var chat = platform;
    var channel = wiring.settings().systemChannel();
    AskPattern.<CoreManager.Command, CoreManager.ActiveCore>ask(wiring.coreManager(), CoreManager.GetActive::new,
            Duration.ofSeconds(10), context.getSystem().scheduler())
        .thenAcceptAsync(active -> {
          if (active.core() == null || active.fenced()) {
            return;
          }
          var room = chat.findRoom(channel).orElseThrow(() -> new IllegalStateException("no room " + channel));
          chat.post(room.id(), "Core " + active.core() + " is active (epoch " + active.epoch() + "): "
              + active.reason());
        }, wiring.blocking())
        .whenComplete((v, error) -> {
          if (error != null) {
            log.warn("could not announce the active core in {}: {}", channel, Failures.message(error));
          }
        });
  }

  /** DMs, mentions of the bot and feature commands are for the bot; other channel chatter is not. */
  static boolean forTheBot(InboundMessage m) {
    return m.isDirect() || m.mentionsBot() || (m.text() != null && m.text().strip().startsWith("!"));
  }

  private Effect<Event, State> onInbound(State state, Inbound inbound) {
    var m = inbound.message();
    if (!forTheBot(m) || state.posted().containsKey(m.id())
        || toRecord.stream().anyMatch(p -> p.messageId().equals(m.id()))) {
      return Effect().none(); // not for the bot, or answered and posted before (a catch-up overlap after a restart)
    }
    var current = replying.get(m.roomId());
    if (current != null) {
      var queue = waiting.computeIfAbsent(m.roomId(), r -> new ArrayDeque<>());
      boolean known = current.message.id().equals(m.id()) || queue.stream().anyMatch(q -> q.id().equals(m.id()));
      if (!known) {
        queue.addLast(m);
      }
      return Effect().none();
    }
    startReply(m);
    return Effect().none();
  }

  /** Asks the room's conversation for the answer; its progress comes back as {@link Streamed}. */
  private void startReply(InboundMessage m) {
    replying.put(m.roomId(), new Reply(m));
    var room = ClusterSharding.get(context.getSystem()).entityRefFor(Conversation.ENTITY_KEY, "rc:" + m.roomId());
    var answer = CompletableFuture.supplyAsync(() -> isAdmin(m.userId()), wiring.blocking())
        .thenCompose(admin -> room.<Conversation.Answer>ask(reply -> new Conversation.Handle(m.id(), m.text(),
            new BotActions.Speaker(m.userId(), m.username(), admin), reply, progressAdapter), wiring.answerTimeout()));
    // a duplicate answer is posted too when this gateway has no record of posting it: the core that answered may
    // have died before it posted (the derived reply id keeps the room from seeing it twice)
    context.pipeToSelf(answer, (a, error) -> new Answered(m, a == null ? null : a.text(),
        error == null ? null : Failures.message(error)));
  }

  private boolean isAdmin(String userId) {
    if (wiring.admins().contains(userId)) {
      return true;
    }
    return adminCache.computeIfAbsent(userId, id -> {
      try {
        return platform != null && platform.isAdmin(id);
      } catch (RuntimeException e) {
        log.warn("could not tell whether user {} is an admin ({}); treating as not an admin", id, e.getMessage());
        return false;
      }
    });
  }

  private Reply replyFor(String messageId) {
    for (var r : replying.values()) {
      if (r.message.id().equals(messageId)) {
        return r;
      }
    }
    return null;
  }

  private Effect<Event, State> onStreamed(Conversation.Progress p) {
    var r = replyFor(p.messageId());
    if (r == null) {
      return Effect().none(); // the answer is complete (progress and answer raced)
    }
    if (p.text() != null) {
      r.text = p.text();
    }
    r.queuePosition = p.queuePosition();
    showProgress(r);
    return Effect().none();
  }

  private Effect<Event, State> onShowProgress(String messageId) {
    var r = replyFor(messageId);
    if (r != null) {
      r.showScheduled = false;
      showProgress(r);
    }
    return Effect().none();
  }

  /**
   * Posts or edits the reply in the making when it is due: a question waiting in the model's queue is told its place
   * at once; text appears once the answer has taken {@code firstPost}, then at most every {@code editEvery}.
   */
  private void showProgress(Reply r) {
    if (platform == null || r.showScheduled) {
      return;
    }
    String text = progressText(r);
    if (text.equals(r.shownText)) {
      return;
    }
    long now = System.nanoTime();
    long due = !r.shown
        ? (r.queuePosition > 0 && r.text == null ? now : r.startedNanos + streaming.firstPost().toNanos())
        : r.shownNanos + streaming.editEvery().toNanos();
    if (due > now) {
      r.showScheduled = true;
      timers.startSingleTimer("show-" + r.message.id(), new ShowProgress(r.message.id()),
          Duration.ofNanos(due - now));
      return;
    }
    boolean first = !r.shown;
    r.shown = true;
    r.shownText = text;
    r.shownNanos = now;
    var chat = platform;
    var m = r.message;
    String postId = r.postId;
    onLane(m.roomId(), () -> {
      if (first) {
        if (!chat.postOnce(m.roomId(), m.threadId(), postId, text)) {
          chat.update(m.roomId(), postId, text); // a reply a previous core began: carry on in it
        }
      } else {
        chat.update(m.roomId(), postId, text);
      }
    }, error -> log.warn("could not show the progress of the answer to message {} in room {}: {}", m.id(),
        m.roomId(), error));
  }

  private String progressText(Reply r) {
    if (r.text == null || r.text.isBlank()) {
      return r.queuePosition > 0
          ? "You are number " + r.queuePosition + " in the queue for the language model; the answer will appear here."
          : "Writing the answer…";
    }
    return clip(r.text + " …", wiring.settings().maxMessageLength());
  }

  private Effect<Event, State> onAnswered(State state, Answered answered) {
    var m = answered.message();
    var r = replying.get(m.roomId());
    timers.cancel("show-" + m.id());
    if (answered.error() != null || platform == null || r == null) {
      log.warn("no answer for message {} in room {}: {}", m.id(), m.roomId(),
          answered.error() != null ? answered.error() : "not connected to Rocket.Chat");
      return nextInRoom(m.roomId());
    }
    var chat = platform;
    String text = clip(answered.answer(), wiring.settings().maxMessageLength());
    boolean shown = r.shown;
    String postId = r.postId;
    var done = onLane(m.roomId(), () -> {
      if (shown || !chat.postOnce(m.roomId(), m.threadId(), postId, text)) {
        chat.update(m.roomId(), postId, text);
      }
    }, null);
    context.pipeToSelf(done, (v, error) -> new Posted(m, error == null ? null : Failures.message(error)));
    return Effect().none();
  }

  private Effect<Event, State> onPosted(State state, Posted posted) {
    var m = posted.message();
    if (posted.error() != null) {
      log.warn("could not post the answer to message {} in room {}: {}", m.id(), m.roomId(), posted.error());
      return nextInRoom(m.roomId());
    }
    toRecord.add(new ReplyPosted(m.id(), m.roomId(), m.ts(), Instant.now()));
    if (!recordScheduled) {
      recordScheduled = true;
      context.getSelf().tell(RecordPosted.INSTANCE);
    }
    // the room's next message need not wait for the record: a repeat of this one finds its message and edits it
    return nextInRoom(m.roomId());
  }

  private Effect<Event, State> recordPosted() {
    recordScheduled = false;
    if (toRecord.isEmpty()) {
      return Effect().none();
    }
    var events = new ArrayList<Event>(toRecord);
    toRecord.clear();
    return Effect().persist(events);
  }

  private Effect<Event, State> nextInRoom(String roomId) {
    startNextInRoom(roomId);
    return Effect().none();
  }

  private void startNextInRoom(String roomId) {
    replying.remove(roomId);
    var queue = waiting.get(roomId);
    var next = queue == null ? null : queue.pollFirst();
    if (queue != null && queue.isEmpty()) {
      waiting.remove(roomId);
    }
    if (next != null) {
      startReply(next);
    } else {
      lanes.remove(roomId);
    }
  }

  /**
   * Runs a blocking platform call after the room's earlier ones. A failure is logged with {@code onError} when given
   * (progress is best effort), else it fails the returned future.
   */
  private CompletableFuture<Void> onLane(String laneKey, Runnable call,
      java.util.function.Consumer<String> onError) {
    var previous = lanes.getOrDefault(laneKey, CompletableFuture.completedFuture(null));
    var next = previous.exceptionally(e -> null).thenRunAsync(() -> {
      try {
        call.run();
      } catch (RuntimeException e) {
        if (onError == null) {
          throw e;
        }
        onError.accept(e.getMessage());
      }
    }, wiring.blocking());
    lanes.put(laneKey, next);
    return next;
  }

  static String clip(String text, int max) {
    if (text.length() <= max) {
      return text;
    }
    String note = "\n… (cut: the whole text is longer than one chat message)";
    return text.substring(0, Math.max(0, max - note.length())) + note;
  }

  // ---------------------------------------------------------------- system news

  private Effect<Event, State> onNews(ChatNews.Item item) {
    if (item.key() != null) {
      if (!newsKeys.add(item.key())) {
        return Effect().none();
      }
      while (newsKeys.size() > MAX_REMEMBERED) {
        newsKeys.remove(newsKeys.iterator().next());
      }
    }
    if (platform == null || !newsRooms.containsKey(item.channel())) {
      if (newsBacklog.size() >= MAX_NEWS_BACKLOG) {
        newsBacklog.pollFirst();
      }
      newsBacklog.addLast(item);
      flushNewsBacklog();
      return Effect().none();
    }
    postNews(item, newsRooms.get(item.channel()));
    return Effect().none();
  }

  private void flushNewsBacklog() {
    if (platform == null) {
      return;
    }
    var chat = platform;
    for (var item : List.copyOf(newsBacklog)) {
      String roomId = newsRooms.get(item.channel());
      if (roomId != null) {
        newsBacklog.remove(item);
        postNews(item, roomId);
      } else if (newsRoomLookups.add(item.channel())) {
        String channel = item.channel();
        context.pipeToSelf(CompletableFuture.supplyAsync(() -> chat.findRoom(channel)
                .orElseThrow(() -> new ChatException("the bot is in no room named " + channel)).id(), wiring.blocking()),
            (id, error) -> new NewsRoom(channel, id, error == null ? null : Failures.message(error)));
      }
    }
  }

  private Effect<Event, State> onNewsRoom(NewsRoom found) {
    newsRoomLookups.remove(found.channel());
    if (found.error() != null) {
      var dropped = newsBacklog.stream().filter(i -> i.channel().equals(found.channel())).toList();
      newsBacklog.removeAll(dropped);
      log.warn("dropped {} news for {}: {}", dropped.size(), found.channel(), found.error());
      return Effect().none();
    }
    newsRooms.put(found.channel(), found.roomId());
    flushNewsBacklog();
    return Effect().none();
  }

  private void postNews(ChatNews.Item item, String roomId) {
    var chat = platform;
    String text = clip(item.text(), wiring.settings().maxMessageLength());
    onLane("news:" + roomId, () -> {
      if (item.key() != null) {
        chat.postOnce(roomId, null, newsId(item.key()), text); // false: another core posted it already
      } else {
        chat.post(roomId, text);
      }
    }, error -> log.warn("could not post news to {}: {}", item.channel(), error));
  }

  @Override
  public EventHandler<State, Event> eventHandler() {
    return newEventHandlerBuilder().forAnyState().onAnyEvent(State::apply);
  }


}
