package heyken.actors.store;

import heyken.protocol.CborSerializable;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.persistence.typed.PersistenceId;
import org.apache.pekko.persistence.typed.RecoveryCompleted;
import org.apache.pekko.persistence.typed.javadsl.CommandHandler;
import org.apache.pekko.persistence.typed.javadsl.EventHandler;
import org.apache.pekko.persistence.typed.javadsl.EventSourcedBehavior;
import org.apache.pekko.persistence.typed.javadsl.SignalHandler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Recovers an empty persistent actor once at start-up so that the journal and snapshot plugins (driver,
 * connections, collections) are ready before this core has to take over: a failover then pays only for
 * the CoreManager's own recovery. It writes nothing and stops.
 */
public final class JournalWarmup extends EventSourcedBehavior<JournalWarmup.Nothing, JournalWarmup.Nothing, String> {

  private static final Logger log = LoggerFactory.getLogger(JournalWarmup.class);

  /** The only command, sent to itself after recovery; never persisted. */
  public enum Nothing implements CborSerializable {
    STOP
  }

  public static Behavior<Nothing> create(int coreId) {
    return Behaviors.setup(context -> new JournalWarmup(context.getSelf(), coreId));
  }

  private final long started = System.nanoTime();
  private final ActorRef<Nothing> self;

  private JournalWarmup(ActorRef<Nothing> self, int coreId) {
    super(PersistenceId.ofUniqueId("heyken-journal-warmup-core-" + coreId));
    this.self = self;
  }

  @Override
  public String emptyState() {
    return "";
  }

  @Override
  public CommandHandler<Nothing, Nothing, String> commandHandler() {
    return newCommandHandlerBuilder().forAnyState().onAnyCommand((state, cmd) -> Effect().stop());
  }

  @Override
  public EventHandler<String, Nothing> eventHandler() {
    return newEventHandlerBuilder().forAnyState().onAnyEvent((state, event) -> state);
  }

  @Override
  public SignalHandler<String> signalHandler() {
    return newSignalHandlerBuilder().onSignal(RecoveryCompleted.instance(), state -> {
      log.info("journal ready in {} ms", (System.nanoTime() - started) / 1_000_000);
      self.tell(Nothing.STOP);
    }).build();
  }
}
