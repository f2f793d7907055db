package heyken.actors.bot;

import heyken.actors.chat.ChatMdc;
import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonProperty;
import heyken.actors.Failures;
import heyken.actors.llm.LanguageModel;
import heyken.protocol.CborSerializable;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.SupervisorStrategy;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.Entity;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityTypeKey;
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
 * One chat room's conversation with heyken_bot ({@code rc:<roomId>} for Rocket.Chat, {@code web:<session>} for the
 * web console): sharded and event-sourced. It answers each message id once (a repeated delivery gets the same answer
 * back, marked as a duplicate), keeps a trimmed history for the language model, and guards the admin-only commands:
 * only an admin may ask, and only the same user's "yes" in the same room within the TTL executes. Every decision
 * (executed, denied, cancelled, expired) is an event. Messages of one room are answered in order.
 */
public final class Conversation
    extends EventSourcedBehavior<Conversation.Command, Conversation.Event, Conversation.State> {

  public static final EntityTypeKey<Command> ENTITY_KEY = EntityTypeKey.create(Command.class, "Conversation");
  public static final String TAG = "conversation";
  private static final Logger log = LoggerFactory.getLogger(Conversation.class);
  static final int MAX_HISTORY = 40;
  static final int MAX_REMEMBERED_ANSWERS = 500;
  static final Duration PROGRESS_EVERY = Duration.ofMillis(100);

  // ---------------------------------------------------------------- protocol

  public sealed interface Command extends CborSerializable {}

  /**
   * A message to answer; {@code messageId} is the platform's id (answered once, whatever the deliveries).
   * {@code progress}, when set, hears the queue position and the text so far while the language model answers.
   */
  public record Handle(String messageId, String text, BotActions.Speaker speaker, ActorRef<Answer> replyTo,
      ActorRef<Progress> progress) implements Command {
    @JsonCreator
    public Handle {
    }

    public Handle(String messageId, String text, BotActions.Speaker speaker, ActorRef<Answer> replyTo) {
      this(messageId, text, speaker, replyTo, null);
    }
  }

  /**
   * An answer being written: {@code text} so far (null while it waits), {@code queuePosition} its place in the
   * language model's queue (0 once it is being written). Sent at most every {@link #PROGRESS_EVERY}.
   */
  public record Progress(String messageId, String text, int queuePosition) implements CborSerializable {}

  public record GetHistory(ActorRef<History> replyTo) implements Command {}

  /** The answer to post; {@code duplicate} when this message id was answered before (do not post it again). */
  public record Answer(String messageId, String text, boolean duplicate) implements CborSerializable {}

  /** The room's answered turns, a pending confirmation, and the answer being written now (null when none). */
  public record History(String room, List<Turn> turns, Pending pending, Partial partial)
      implements CborSerializable {}

  /** An answer being written: the text so far, or its place in the language model's queue (0 = being written). */
  public record Partial(@JsonProperty("message_id") String messageId, String question, String text,
      @JsonProperty("queue_position") int queuePosition) implements CborSerializable {}

  record Executed(String messageId, String question, String answer, String kind, String token,
      BotActions.Speaker speaker, ActorRef<Answer> replyTo) implements Command {}

  record Expire(String token) implements Command {}

  record Progressed(String messageId, String text, int queuePosition) implements Command {}

  public sealed interface Event extends CborSerializable {}

  /** {@code kind}: command, llm, feature, confirmation, denied, usage. */
  public record MessageAnswered(String messageId, String userId, String username, String question, String answer,
      String kind, Instant at) implements Event {}

  public record ConfirmationRequested(String token, String userId, BotCommand command, Instant expiresAt,
      Instant at) implements Event {}

  /** {@code outcome}: executed, denied (not an admin), cancelled (the user said no), expired. */
  public record ActionDecided(String token, String userId, String action, String outcome, String detail, Instant at)
      implements Event {}

  public record Turn(@JsonProperty("user_id") String userId, String username, String question, String answer,
      Instant at) implements CborSerializable {}

  public record Pending(String token, @JsonProperty("user_id") String userId, BotCommand command,
      @JsonProperty("expires_at") Instant expiresAt) implements CborSerializable {}

  public record State(List<Turn> turns, LinkedHashMap<String, String> answers, Pending pending)
      implements CborSerializable {

    @JsonCreator
    public State {
      turns = turns == null ? List.of() : turns;
      answers = answers == null ? new LinkedHashMap<>() : answers;
    }

    State apply(Event event) {
      if (event instanceof MessageAnswered a) {
        var nextTurns = new ArrayList<>(turns);
        nextTurns.add(new Turn(a.userId(), a.username(), a.question(), a.answer(), a.at()));
        while (nextTurns.size() > MAX_HISTORY) {
          nextTurns.remove(0);
        }
        var nextAnswers = new LinkedHashMap<>(answers);
        nextAnswers.put(a.messageId(), a.answer());
        while (nextAnswers.size() > MAX_REMEMBERED_ANSWERS) {
          nextAnswers.remove(nextAnswers.keySet().iterator().next());
        }
        return new State(nextTurns, nextAnswers, pending);
      }
      if (event instanceof ConfirmationRequested c) {
        return new State(turns, answers, new Pending(c.token(), c.userId(), c.command(), c.expiresAt()));
      }
      var decided = (ActionDecided) event;
      boolean settles = pending != null && pending.token().equals(decided.token());
      return new State(turns, answers, settles ? null : pending);
    }
  }

  // ---------------------------------------------------------------- sharding

  public static void init(ActorSystem<?> system, BotActions actions, Duration confirmationTtl, String botUsername) {
    ClusterSharding.get(system).init(Entity.of(ENTITY_KEY, ctx -> create(ctx.getEntityId(), actions,
        confirmationTtl, botUsername)).withRole("core"));
  }

  public static Behavior<Command> create(String room, BotActions actions, Duration confirmationTtl,
      String botUsername) {
    return Behaviors.setup(context -> Behaviors.withTimers(timers ->
        new Conversation(context, timers, room, actions, confirmationTtl, botUsername)));
  }

  // ---------------------------------------------------------------- behaviour

  private final ActorContext<Command> context;
  private final TimerScheduler<Command> timers;
  private final String room;
  private final BotActions actions;
  private final Duration confirmationTtl;
  private final String botUsername;
  // not state: a command or a question is being executed; the room's next messages wait for its answer
  private boolean busy;
  // not state: the answer being written now, and who hears its progress
  private Partial partial;
  private ActorRef<Progress> progressTo;

  private Conversation(ActorContext<Command> context, TimerScheduler<Command> timers, String room,
      BotActions actions, Duration confirmationTtl, String botUsername) {
    super(PersistenceId.of(ENTITY_KEY.name(), room),
        SupervisorStrategy.restartWithBackoff(Duration.ofMillis(200), Duration.ofSeconds(5), 0.2));
    this.context = context;
    this.timers = timers;
    this.room = room;
    this.actions = actions;
    this.confirmationTtl = confirmationTtl;
    this.botUsername = botUsername;
  }

  @Override
  public State emptyState() {
    return new State(List.of(), new LinkedHashMap<>(), null);
  }

  @Override
  public RetentionCriteria retentionCriteria() {
    return RetentionCriteria.snapshotEvery(100, 2).withDeleteEventsOnSnapshot();
  }

  @Override
  public Set<String> tagsFor(Event event) {
    return Set.of(TAG);
  }

  @Override
  public SignalHandler<State> signalHandler() {
    return newSignalHandlerBuilder()
        .onSignal(RecoveryCompleted.instance(), state -> {
          if (state.pending() != null) {
            // the TTL timer died with the core that started it
            Duration left = Duration.between(Instant.now(), state.pending().expiresAt());
            timers.startSingleTimer(new Expire(state.pending().token()),
                left.isNegative() ? Duration.ZERO : left);
          }
        })
        .build();
  }

  @Override
  public CommandHandler<Command, Event, State> commandHandler() {
    return newCommandHandlerBuilder().forAnyState()
        .onCommand(Handle.class, this::onHandle)
        .onCommand(Executed.class, this::onExecuted)
        .onCommand(Expire.class, this::onExpire)
        .onCommand(Progressed.class, this::onProgressed)
        .onCommand(GetHistory.class, (state, get) ->
            Effect().reply(get.replyTo(), new History(room, state.turns(), state.pending(), partial)))
        .build();
  }

  private Effect<Event, State> onHandle(State state, Handle handle) {
    if (busy) {
      return Effect().stash();
    }
    String previous = state.answers().get(handle.messageId());
    if (previous != null) {
      return Effect().reply(handle.replyTo(), new Answer(handle.messageId(), previous, true));
    }
    var speaker = handle.speaker();
    var now = Instant.now();
    var pending = state.pending();
    var events = new ArrayList<Event>();
    if (pending != null && !now.isBefore(pending.expiresAt())) {
      events.add(new ActionDecided(pending.token(), pending.userId(), pending.command().action(), "expired",
          "no answer within " + confirmationTtl.toSeconds() + " s", now));
      pending = null;
    }
    String word = handle.text() == null ? "" : handle.text().strip().toLowerCase(Locale.ROOT).replaceAll("[.!]+$", "");
    boolean yes = word.equals("yes") || word.equals("y");
    boolean no = word.equals("no") || word.equals("n");
    if (pending != null && (yes || no) && pending.userId().equals(speaker.userId())) {
      if (no) {
        String answer = "Cancelled: " + describe(pending.command()) + " was not done.";
        events.add(new ActionDecided(pending.token(), speaker.userId(), pending.command().action(), "cancelled",
            "the user said no", now));
        events.add(answered(handle, answer, "confirmation", now));
        return persistAndAnswer(events, handle, answer);
      }
      return execute(state, events, handle, pending.command(), pending.token());
    }
    if (expiredConfirmationAnswer(state, events, yes || no)) {
      String answer = "There is nothing to confirm: the last request expired after " + confirmationTtl.toSeconds()
          + " s. Ask again.";
      events.add(answered(handle, answer, "confirmation", now));
      return persistAndAnswer(events, handle, answer);
    }
    if ((yes || no) && pending == null) {
      // a bare yes or no is never a question for the model: most likely the request it answers has expired
      String answer = "There is nothing to confirm: no request waits for a yes or no in this room (a confirmation "
          + "expires after " + confirmationTtl.toSeconds() + " s). Ask again.";
      events.add(answered(handle, answer, "confirmation", now));
      return persistAndAnswer(events, handle, answer);
    }
    BotCommand command = BotCommand.parse(handle.text(), botUsername);
    if (command instanceof BotCommand.Malformed m) {
      String answer = "Usage: " + m.usage();
      events.add(answered(handle, answer, "usage", now));
      return persistAndAnswer(events, handle, answer);
    }
    if (command.adminOnly()) {
      String token = UUID.randomUUID().toString();
      if (!speaker.admin()) {
        String answer = "Only an admin may " + describe(command) + ". (Admins: the Rocket.Chat admin role or "
            + "HEYKEN_CHAT_ADMINS, by user id.)";
        events.add(new ActionDecided(token, speaker.userId(), command.action(), "denied", "not an admin", now));
        events.add(answered(handle, answer, "denied", now));
        return persistAndAnswer(events, handle, answer);
      }
      Instant expires = now.plus(confirmationTtl);
      String answer = "Confirm: " + describe(command) + "? Answer yes or no within " + confirmationTtl.toSeconds()
          + " s.";
      events.add(new ConfirmationRequested(token, speaker.userId(), command, expires, now));
      events.add(answered(handle, answer, "confirmation", now));
      timers.startSingleTimer(new Expire(token), confirmationTtl);
      return persistAndAnswer(events, handle, answer);
    }
    return execute(state, events, handle, command, null);
  }

  /** A yes/no after the only request had already expired (and was recorded as expired just now). */
  private static boolean expiredConfirmationAnswer(State state, List<Event> events, boolean yesOrNo) {
    return yesOrNo && events.stream().anyMatch(e -> e instanceof ActionDecided d && d.outcome().equals("expired"))
        && state.pending() != null;
  }

  private Effect<Event, State> execute(State state, List<Event> before, Handle handle, BotCommand command,
      String token) {
    busy = true;
    var speaker = handle.speaker();
    CompletionStage<String> work;
    if (command instanceof BotCommand.Question q) {
      partial = new Partial(handle.messageId(), handle.text(), null, 0);
      progressTo = handle.progress();
      work = actions.answer(q.text(), history(state), speaker, progressOf(handle.messageId()));
    } else {
      work = actions.execute(command, speaker);
    }
    String kind = command instanceof BotCommand.Question ? "llm"
        : command instanceof BotCommand.Invoke ? "feature" : "command";
    context.pipeToSelf(work, (text, error) -> new Executed(handle.messageId(), handle.text(),
        error == null ? text : "Sorry, that failed: " + Failures.message(error), kind, token, speaker, handle.replyTo()));
    inRoom(() -> log.info("room {}: message {} of {}: runs {} ({})", room, handle.messageId(), speaker.userId(),
        command.action(), kind));
    logDecisions(before);
    // decisions made before the execution (an expiry noticed just now) are recorded at once; the answer follows
    return before.isEmpty() ? Effect().none() : Effect().persist(before);
  }

  /** Turns the model's progress (on its own thread) into messages to this entity, at most every PROGRESS_EVERY. */
  private BotActions.Progress progressOf(String messageId) {
    var self = context.getSelf();
    return new BotActions.Progress() {
      private long last = System.nanoTime() - PROGRESS_EVERY.toNanos();

      @Override
      public void queued(int position) {
        self.tell(new Progressed(messageId, null, position));
      }

      @Override
      public synchronized void partial(String textSoFar) {
        long now = System.nanoTime();
        if (now - last >= PROGRESS_EVERY.toNanos()) {
          last = now;
          self.tell(new Progressed(messageId, textSoFar, 0));
        }
      }
    };
  }

  private Effect<Event, State> onProgressed(State state, Progressed p) {
    if (partial == null || !partial.messageId().equals(p.messageId())) {
      return Effect().none(); // the answer is complete already
    }
    partial = new Partial(p.messageId(), partial.question(), p.text() != null ? p.text() : partial.text(),
        p.queuePosition());
    if (progressTo != null) {
      progressTo.tell(new Progress(p.messageId(), partial.text(), p.queuePosition()));
    }
    return Effect().none();
  }

  /** The room's history for the language model, oldest first; the model's client trims it to its budget. */
  private static List<LanguageModel.Message> history(State state) {
    var messages = new ArrayList<LanguageModel.Message>();
    for (var turn : state.turns()) {
      messages.add(LanguageModel.Message.user(turn.username() + ": " + turn.question()));
      messages.add(LanguageModel.Message.assistant(turn.answer()));
    }
    return messages;
  }

  private Effect<Event, State> onExecuted(State state, Executed done) {
    busy = false;
    partial = null;
    progressTo = null;
    var now = Instant.now();
    var events = new ArrayList<Event>();
    if (done.token() != null) {
      var pending = state.pending();
      String action = pending != null ? pending.command().action() : "?";
      events.add(new ActionDecided(done.token(), done.speaker().userId(), action, "executed",
          done.answer().length() > 300 ? done.answer().substring(0, 300) + "…" : done.answer(), now));
    }
    events.add(new MessageAnswered(done.messageId(), done.speaker().userId(), done.speaker().username(),
        done.question(), done.answer(), done.kind(), now));
    logDecisions(events);
    return Effect().persist(events)
        .thenReply(done.replyTo(), s -> new Answer(done.messageId(), done.answer(), false))
        .thenUnstashAll();
  }

  private Effect<Event, State> onExpire(State state, Expire expire) {
    var pending = state.pending();
    if (pending == null || !pending.token().equals(expire.token()) || busy) {
      return Effect().none();
    }
    if (Instant.now().isBefore(pending.expiresAt())) {
      timers.startSingleTimer(expire, Duration.between(Instant.now(), pending.expiresAt()));
      return Effect().none();
    }
    var expired = new ActionDecided(pending.token(), pending.userId(), pending.command().action(),
        "expired", "no answer within " + confirmationTtl.toSeconds() + " s", Instant.now());
    logDecisions(List.of(expired));
    return Effect().persist(expired);
  }

  private Effect<Event, State> persistAndAnswer(List<Event> events, Handle handle, String answer) {
    logDecisions(events);
    return Effect().persist(events)
        .thenReply(handle.replyTo(), s -> new Answer(handle.messageId(), answer, false));
  }

  private static MessageAnswered answered(Handle handle, String answer, String kind, Instant now) {
    return new MessageAnswered(handle.messageId(), handle.speaker().userId(), handle.speaker().username(),
        handle.text(), answer, kind, now);
  }

  static String describe(BotCommand command) {
    if (command instanceof BotCommand.Deploy d) {
      return "deploy feature " + d.featureId();
    }
    if (command instanceof BotCommand.Rollback r) {
      return "roll feature " + r.featureId() + " back to its previous revision";
    }
    if (command instanceof BotCommand.Switch s) {
      return "switch the active core to core " + s.core();
    }
    if (command instanceof BotCommand.SelfUpgrade u) {
      return "upgrade Heyken to " + u.ref() + " (build, check, standby first; rolled back on any failure)";
    }
    if (command instanceof BotCommand.ServiceChange c) {
      return c.verb().equals("add") ? "add the Docker service " + c.name() + " from " + c.image()
          + (c.command().isEmpty() ? "" : " running " + String.join(" ", c.command()))
          : c.verb() + " the Docker service " + c.name();
    }
    return command.action();
  }



  /**
   * Every decision of the bot goes to the log (and so to the Logger API) with the room in MDC, as it is made: not
   * in the event handler, which also runs on recovery.
   */
  private void logDecisions(List<Event> events) {
    inRoom(() -> {
      for (Event e : events) {
        if (e instanceof ActionDecided d) {
          log.info("room {}: {} by {} {} ({})", room, d.action(), d.userId(), d.outcome(), d.detail());
        } else if (e instanceof ConfirmationRequested c) {
          log.info("room {}: {} by {} waits for confirmation until {}", room, c.command().action(), c.userId(),
              c.expiresAt());
        } else if (e instanceof MessageAnswered a) {
          log.info("room {}: answered message {} of {} ({})", room, a.messageId(), a.userId(), a.kind());
        }
      }
    });
  }

  private void inRoom(Runnable logging) {
    try (var mdc = ChatMdc.of(room, null)) {
      logging.run();
    }
  }

  @Override
  public EventHandler<State, Event> eventHandler() {
    return newEventHandlerBuilder().forAnyState().onAnyEvent(State::apply);
  }
}
