package heyken.actors.core;

import java.time.Duration;
import java.util.concurrent.CompletionStage;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps "this core acts as the active one" true only while the cluster can reach it as such (issue 16, finding 6).
 * After a lease lapse the CoreManager singleton can start again on the same (oldest) core, where Pekko's singleton
 * proxies never look for it again (they identify a singleton anew only when the oldest member changes): the core then
 * says it is active and holds the documented ports, while every ask of the CoreManager, the registry or the catalog
 * waits in a proxy, {@code /api/status} shows no active core and {@code :5010} answers 503, until a restart. This
 * watch asks the CoreManager through this core's own proxy every {@code interval}, as every route does. When this core
 * is active but that ask has not named it (with its epoch) for {@code stepDownAfter}, and the store answers (the
 * pressure is over), it stops acting at once (its ports go with it) and, as the oldest member, leaves the cluster and
 * rejoins as standby (a planned switch's path): the peer, or this core's fresh actor system, starts the singletons
 * where every proxy finds them.
 */
public final class ActiveCoreWatch {

  private static final Logger log = LoggerFactory.getLogger(ActiveCoreWatch.class);

  /** How the watch sees its surroundings; {@link #of} gives the real ones. */
  public record Probes(BooleanSupplier oldestUpMember, Supplier<CompletionStage<Boolean>> storeAnswers) {}

  public record Settings(Duration interval, Duration askTimeout, Duration stepDownAfter) {
    public static Settings from(com.typesafe.config.Config config) {
      var c = config.getConfig("heyken.core-manager.watch");
      return new Settings(c.getDuration("interval"), c.getDuration("ask-timeout"), c.getDuration("step-down-after"));
    }
  }

  /** The watch's messages (its own ticks and answers). */
  public interface Command {}

  private enum Tick implements Command {
    INSTANCE
  }

  private record Answer(CoreManager.ActiveCore active, Throwable error) implements Command {}

  private record StoreChecked(boolean answers) implements Command {}

  public static Behavior<Command> create(CoreNode node, ActorRef<CoreManager.Command> coreManager, Probes probes,
      Settings settings) {
    return Behaviors.setup(context -> Behaviors.withTimers(timers -> {
      timers.startTimerWithFixedDelay(Tick.INSTANCE, settings.interval());
      return new ActiveCoreWatch(context, node, coreManager, probes, settings).behavior();
    }));
  }

  /** The probes of a running core: the cluster's membership, and the journal's store answering a ping. */
  public static Probes of(org.apache.pekko.actor.typed.ActorSystem<?> system) {
    var cluster = org.apache.pekko.cluster.typed.Cluster.get(system);
    var store = heyken.actors.store.MongoStore.get(system);
    return new Probes(() -> {
      var self = cluster.selfMember();
      if (self.status() != org.apache.pekko.cluster.MemberStatus.up()) {
        return false;
      }
      for (var m : cluster.state().getMembers()) {
        if (!m.equals(self) && m.hasRole("core") && m.status() == org.apache.pekko.cluster.MemberStatus.up()
            && !self.isOlderThan(m)) {
          return false;
        }
      }
      return true;
    }, () -> store.async(db -> {
      heyken.actors.store.MongoStore.serverTime(db);
      return true;
    }).exceptionally(e -> false));
  }

  private final ActorContext<Command> context;
  private final CoreNode node;
  private final ActorRef<CoreManager.Command> coreManager;
  private final Probes probes;
  private final Settings settings;
  private boolean asking;
  private boolean checkingStore;
  private long unreachableSinceNanos; // 0: the last answer named this core (or it is not active)
  private String lastProblem;

  private ActiveCoreWatch(ActorContext<Command> context, CoreNode node, ActorRef<CoreManager.Command> coreManager,
      Probes probes, Settings settings) {
    this.context = context;
    this.node = node;
    this.coreManager = coreManager;
    this.probes = probes;
    this.settings = settings;
  }

  private Behavior<Command> behavior() {
    return Behaviors.receive(Command.class)
        .onMessageEquals(Tick.INSTANCE, this::onTick)
        .onMessage(Answer.class, this::onAnswer)
        .onMessage(StoreChecked.class, this::onStoreChecked)
        .build();
  }

  private Behavior<Command> onTick() {
    if (!node.isActive()) {
      unreachableSinceNanos = 0;
      return Behaviors.same();
    }
    if (!asking) {
      asking = true;
      context.pipeToSelf(AskPattern.ask(coreManager, CoreManager.GetActive::new, settings.askTimeout(),
          context.getSystem().scheduler()), Answer::new);
    }
    return Behaviors.same();
  }

  private Behavior<Command> onAnswer(Answer answer) {
    asking = false;
    long epoch = node.activeEpoch();
    if (epoch == 0) {
      unreachableSinceNanos = 0;
      return Behaviors.same();
    }
    var a = answer.active();
    if (a != null && a.core() != null && a.core() == node.coreId() && a.epoch() == epoch && !a.fenced()) {
      unreachableSinceNanos = 0;
      return Behaviors.same();
    }
    lastProblem = a == null
        ? "its CoreManager does not answer through the cluster (" + answer.error() + ")"
        : "the CoreManager names core " + a.core() + " under epoch " + a.epoch() + (a.fenced() ? " (fenced)" : "");
    long now = System.nanoTime();
    if (unreachableSinceNanos == 0) {
      unreachableSinceNanos = now;
      return Behaviors.same();
    }
    if (now - unreachableSinceNanos >= settings.stepDownAfter().toNanos() && !checkingStore) {
      checkingStore = true;
      context.pipeToSelf(probes.storeAnswers().get(), (ok, e) -> new StoreChecked(e == null && Boolean.TRUE.equals(ok)));
    }
    return Behaviors.same();
  }

  private Behavior<Command> onStoreChecked(StoreChecked checked) {
    checkingStore = false;
    long epoch = node.activeEpoch();
    if (!checked.answers() || epoch == 0 || unreachableSinceNanos == 0) {
      return Behaviors.same(); // the store is still away: nobody can take over now, the lease decides later
    }
    long seconds = Duration.ofNanos(System.nanoTime() - unreachableSinceNanos).toSeconds();
    boolean oldest = probes.oldestUpMember().getAsBoolean();
    log.warn("core {} acts as active under epoch {} but {} for {} s: it stops acting{}. This follows a lease that "
            + "lapsed (see the Lease lines before); check the machine's load and the store (./scripts/status.sh)",
        node.coreId(), epoch, lastProblem, seconds,
        oldest ? " and leaves the cluster to rejoin as standby, so that the singletons start where every core finds "
            + "them" : "");
    node.deactivated(epoch, lastProblem + " for " + seconds + " s");
    unreachableSinceNanos = 0;
    if (oldest) {
      node.switchAway();
      return Behaviors.stopped();
    }
    return Behaviors.same();
  }
}
