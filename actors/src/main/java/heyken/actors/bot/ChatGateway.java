package heyken.actors.bot;

import com.fasterxml.jackson.annotation.JsonCreator;
import heyken.actors.Failures;
import heyken.actors.core.CoreManager;
import heyken.protocol.CborSerializable;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
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
 * in heyken-system. The one window left is a crash between a post and its record, which can post that answer twice.
 */
public final class ChatGateway
    extends EventSourcedBehavior<ChatGateway.Command, ChatGateway.Event, ChatGateway.State> {

  public static final PersistenceId PERSISTENCE_ID = PersistenceId.ofUniqueId("chat-gateway");
  public static final String TAG = "chat";
  private static final Logger log = LoggerFactory.getLogger(ChatGateway.class);
  static final int MAX_REMEMBERED = 5000;
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

  /** What the gateway needs from the core: the platform, who is an admin, where blocking work runs. */
  public record Wiring(ChatSettings settings, Set<String> admins, Duration answerTimeout, Executor blocking,
      ActorRef<CoreManager.Command> coreManager) {}

  public static Behavior<Command> create(Wiring wiring) {
    return Behaviors.setup(context -> Behaviors.withTimers(timers -> new ChatGateway(context, timers, wiring)));
  }

  private final ActorContext<Command> context;
  private final TimerScheduler<Command> timers;
  private final Wiring wiring;
  private final Map<String, Boolean> adminCache = new ConcurrentHashMap<>();
  private ChatPlatform platform;
  private RealtimeSession session;
  private boolean busy;

  private ChatGateway(ActorContext<Command> context, TimerScheduler<Command> timers, Wiring wiring) {
    super(PERSISTENCE_ID, SupervisorStrategy.restartWithBackoff(Duration.ofSeconds(1), Duration.ofSeconds(30), 0.2));
    this.context = context;
    this.timers = timers;
    this.wiring = wiring;
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
          log.info("Rocket.Chat provisioning: {}", chat.provision().summary());
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
    if (!forTheBot(m)) {
      return Effect().none();
    }
    if (busy) {
      return Effect().stash();
    }
    if (state.posted().containsKey(m.id())) {
      return Effect().none(); // answered and posted before (a catch-up overlap after a restart)
    }
    busy = true;
    var room = ClusterSharding.get(context.getSystem()).entityRefFor(Conversation.ENTITY_KEY, "rc:" + m.roomId());
    var answer = CompletableFuture.supplyAsync(() -> isAdmin(m.userId()), wiring.blocking())
        .thenCompose(admin -> room.<Conversation.Answer>ask(reply -> new Conversation.Handle(m.id(), m.text(),
            new BotActions.Speaker(m.userId(), m.username(), admin), reply), wiring.answerTimeout()));
    // a duplicate answer is posted too when this gateway has no record of posting it: the core that answered may
    // have died before it posted
    context.pipeToSelf(answer, (a, error) -> new Answered(m, a == null ? null : a.text(),
        error == null ? null : Failures.message(error)));
    return Effect().none();
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

  private Effect<Event, State> onAnswered(State state, Answered answered) {
    var m = answered.message();
    if (answered.error() != null || platform == null) {
      log.warn("no answer for message {} in room {}: {}", m.id(), m.roomId(), answered.error());
      busy = false;
      return Effect().unstashAll();
    }
    var chat = platform;
    context.pipeToSelf(CompletableFuture.supplyAsync(() -> m.threadId() != null
            ? chat.replyInThread(m.roomId(), m.threadId(), answered.answer())
            : chat.post(m.roomId(), answered.answer()), wiring.blocking()),
        (posted, error) -> new Posted(m, error == null ? null : Failures.message(error)));
    return Effect().none();
  }

  private Effect<Event, State> onPosted(State state, Posted posted) {
    busy = false;
    var m = posted.message();
    if (posted.error() != null) {
      log.warn("could not post the answer to message {} in room {}: {}", m.id(), m.roomId(), posted.error());
      return Effect().unstashAll();
    }
    return Effect().persist(new ReplyPosted(m.id(), m.roomId(), m.ts(), Instant.now())).thenUnstashAll();
  }

  @Override
  public EventHandler<State, Event> eventHandler() {
    return newEventHandlerBuilder().forAnyState().onAnyEvent(State::apply);
  }


}
