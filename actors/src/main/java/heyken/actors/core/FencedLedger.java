package heyken.actors.core;

import java.time.Duration;
import java.util.Set;
import java.util.function.BiFunction;
import java.util.function.LongFunction;
import java.util.function.Predicate;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.SupervisorStrategy;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.apache.pekko.persistence.typed.PersistenceId;
import org.apache.pekko.persistence.typed.RecoveryCompleted;
import org.apache.pekko.persistence.typed.javadsl.EventSourcedBehavior;
import org.apache.pekko.persistence.typed.javadsl.RetentionCriteria;
import org.apache.pekko.persistence.typed.javadsl.SignalHandler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What a fenced ledger is, shared by {@link DeploymentLedger} and {@link ServiceLedger}: a singleton next to the
 * {@link CoreManager} that holds one kind of the active core's side effects. It
 * <ul>
 *   <li>follows this core's activation ({@link CoreNode#onActivationChange}, as its own command, into
 *       {@link #activation}), so its handlers can be split by activating / active / not active;</li>
 *   <li>takes over, once, what the CoreManager's own journal held before the ledger existed (the
 *       {@link CoreManager.Legacy} read after recovery, retried every second until it answers);</li>
 *   <li>confirms every change with {@link FencedWrites} before it persists it ({@link #fencedWrite}), and reports a
 *       newer epoch to the CoreManager, which alone fences the core ({@link #supersededBy}).</li>
 * </ul>
 * A subclass gives its own commands for these steps (they are in its protocol, so its persisted and wire names stay
 * its own), its state, and its rules.
 *
 * @param <C> the ledger's commands
 * @param <E> its events
 * @param <S> its state
 * @param <R> the answer to a change
 */
abstract class FencedLedger<C, E, S, R> extends EventSourcedBehavior<C, E, S> {

  protected final ActorContext<C> context;
  protected final TimerScheduler<C> timers;
  protected final CoreNode node;
  protected final ActorRef<CoreManager.Command> coreManager;
  // not state: where this core stands, from the CoreManager's activation
  protected final Activation activation;
  private final FencedWrites writes;
  private final Runnable unfollow;
  private final String kind;
  private final Steps<C, E, S, R> steps;
  private final Logger log = LoggerFactory.getLogger(getClass());

  /**
   * @param kind what the ledger holds ("deployment", "service"): in its log lines and in the reason it gives the
   *     CoreManager when it finds itself superseded ("deployment change")
   */
  protected FencedLedger(PersistenceId persistenceId, ActorContext<C> context, TimerScheduler<C> timers,
      CoreNode node, FencedWrites writes, ActorRef<CoreManager.Command> coreManager, Steps<C, E, S, R> steps,
      String kind) {
    super(persistenceId, SupervisorStrategy.restartWithBackoff(Duration.ofMillis(200), Duration.ofSeconds(5), 0.2));
    this.context = context;
    this.timers = timers;
    this.node = node;
    this.coreManager = coreManager;
    this.writes = writes;
    this.kind = kind;
    this.steps = steps;
    this.activation = new Activation(node.coreId());
    var self = context.getSelf();
    this.unfollow = node.onActivationChange(epoch -> self.tell(steps.activationChanged().apply(epoch)));
  }

  /**
   * The subclass's own commands for the shared steps, and how its state says it imported the CoreManager's journal.
   *
   * @param activationChanged this core's epoch changed (0: not active)
   * @param legacyRead the CoreManager's answer, or the error ({@code legacy} null)
   * @param retryImport ask the CoreManager again
   * @param writeChecked the fence's verdict on an event, with whom to answer
   */
  protected record Steps<C, E, S, R>(LongFunction<C> activationChanged,
      BiFunction<CoreManager.Legacy, String, C> legacyRead, C retryImport, VerdictCommand<C, E, R> writeChecked,
      Predicate<S> imported) {}

  /** Makes the command that brings the fence's verdict on {@code event} back to the ledger. */
  @FunctionalInterface
  protected interface VerdictCommand<C, E, R> {
    C of(E event, ActorRef<R> replyTo, FencedWrites.Verdict verdict);
  }

  @Override
  public RetentionCriteria retentionCriteria() {
    return RetentionCriteria.snapshotEvery(100, 2).withDeleteEventsOnSnapshot();
  }

  @Override
  public Set<String> tagsFor(E event) {
    return Set.of(CoreManager.TAG);
  }

  @Override
  public SignalHandler<S> signalHandler() {
    return newSignalHandlerBuilder()
        .onSignal(RecoveryCompleted.instance(), state -> {
          if (!steps.imported().test(state)) {
            readLegacy();
          }
        })
        .onSignal(PostStop.instance(), state -> unfollow.run())
        .build();
  }

  /** Asks the CoreManager for what its journal held before this ledger existed. */
  protected final void readLegacy() {
    context.ask(CoreManager.Legacy.class, coreManager, Duration.ofSeconds(30), CoreManager.GetLegacy::new,
        (legacy, error) -> steps.legacyRead().apply(legacy, error == null ? null : String.valueOf(error.getMessage())));
  }

  /** The CoreManager did not answer: says so and asks again in a second; changes wait (stashed) meanwhile. */
  protected final void retryImportLater(String error) {
    log.warn("the {}s of the CoreManager's journal could not be read yet ({}); retrying in 1 s. {}{} changes wait "
        + "meanwhile; check scripts/status.sh", kind, error, Character.toUpperCase(kind.charAt(0)), kind.substring(1));
    timers.startSingleTimer(steps.retryImport(), Duration.ofSeconds(1));
  }

  /**
   * A change is a side effect of the active core: the fence confirms this core's epoch before it is persisted. The
   * verdict comes back as the subclass's {@link Steps#writeChecked} command.
   */
  protected final void fencedWrite(E event, ActorRef<R> replyTo) {
    context.pipeToSelf(writes.check(activation.epoch()), (verdict, error) ->
        steps.writeChecked().of(event, replyTo, verdict != null ? verdict : FencedWrites.verdict(error)));
  }

  /**
   * Whether the fence refused the write; a newer epoch is reported to the CoreManager (it fences the core), a store
   * that could not confirm is only refused (the caller tries again).
   */
  protected final boolean refusedBy(FencedWrites.Verdict verdict) {
    if (verdict.allowed()) {
      return false;
    }
    if (verdict.supersededBy() > 0) {
      supersededBy(verdict.supersededBy());
    }
    return true;
  }

  /** Tells the CoreManager that a newer epoch exists than the one this ledger acted under. */
  protected final void supersededBy(long epoch) {
    coreManager.tell(new CoreManager.Superseded(epoch, kind + " change"));
  }
}
