// Fills the journal with N events through the real persistence plugin, for bench/startup.sh (not a test):
//   java -cp cores/target/heyken-core.jar bench/lib/JournalFill.java MONGO_URI EVENTS
// The events are the CoreManager's FeatureUndeployed (a real persisted class, CBOR like every event), written by
// 1,000 persistence ids "bench-fill-K" in batches of 500 (persistAll), untagged: they make the journal as large as a
// long-lived installation's without changing what any entity of Heyken recovers. Prints its progress every 10 %.
import com.typesafe.config.ConfigFactory;
import heyken.actors.core.CoreManager.FeatureUndeployed;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.persistence.typed.PersistenceId;
import org.apache.pekko.persistence.typed.javadsl.CommandHandler;
import org.apache.pekko.persistence.typed.javadsl.EventHandler;
import org.apache.pekko.persistence.typed.javadsl.EventSourcedBehavior;

public class JournalFill {

  static final int IDS = 1000;
  static final int BATCH = 500;

  record Write(int events, ActorRef<Integer> replyTo) {}

  static final class Filler extends EventSourcedBehavior<Write, FeatureUndeployed, Integer> {
    Filler(String id) {
      // a write the store did not confirm in time (circuit breaker) restarts the filler, which recovers and goes on
      super(PersistenceId.ofUniqueId(id), org.apache.pekko.actor.typed.SupervisorStrategy.restartWithBackoff(
          Duration.ofMillis(200), Duration.ofSeconds(5), 0.2));
    }

    @Override
    public Integer emptyState() {
      return 0;
    }

    @Override
    public CommandHandler<Write, FeatureUndeployed, Integer> commandHandler() {
      return newCommandHandlerBuilder().forAnyState().onCommand(Write.class, (state, w) -> {
        List<FeatureUndeployed> events = new ArrayList<>(w.events());
        Instant now = Instant.now();
        for (int i = 0; i < w.events(); i++) {
          events.add(new FeatureUndeployed(String.valueOf(state + i + 1), 1, now));
        }
        return Effect().persist(events).thenReply(w.replyTo(), s -> w.events());
      }).build();
    }

    @Override
    public EventHandler<Integer, FeatureUndeployed> eventHandler() {
      return newEventHandlerBuilder().forAnyState().onAnyEvent((state, e) -> state + 1);
    }
  }

  public static void main(String[] args) throws Exception {
    String uri = args[0];
    long total = Long.parseLong(args[1]);
    var config = ConfigFactory.parseString("""
        heyken.mongo.uri = "%s"
        pekko.actor.provider = local
        pekko.loglevel = WARNING
        """.formatted(uri)).withFallback(ConfigFactory.load()).resolve();
    var system = ActorSystem.create(Behaviors.<Void>empty(), "journal-fill", config);
    try {
      var fillers = new ArrayList<ActorRef<Write>>();
      for (int k = 0; k < IDS; k++) {
        Behavior<Write> b = new Filler("bench-fill-" + k);
        fillers.add(system.systemActorOf(b, "fill-" + k, org.apache.pekko.actor.typed.Props.empty()));
      }
      AtomicLong written = new AtomicLong();
      long t0 = System.nanoTime();
      long next = total / 10;
      // 4 batches at a time (a burst of 16 x 500 made the store's writes miss the journal's call timeout)
      int inFlight = 4;
      long retried = 0;
      var pending = new ArrayList<CompletableFuture<Integer>>();
      long asked = 0;
      int k = 0;
      while (asked < total) {
        int n = (int) Math.min(BATCH, total - asked);
        var filler = fillers.get(k++ % IDS);
        pending.add(AskPattern.<Write, Integer>ask(filler, r -> new Write(n, r), Duration.ofSeconds(120),
            system.scheduler()).toCompletableFuture());
        asked += n;
        if (pending.size() >= inFlight) {
          for (var f : pending) {
            try {
              written.addAndGet(f.get(180, TimeUnit.SECONDS));
            } catch (java.util.concurrent.ExecutionException e) {
              asked -= n; // not confirmed: asked again below (a filler may have written it: at least once)
              retried++;
            }
          }
          pending.clear();
          if (written.get() >= next) {
            double s = (System.nanoTime() - t0) / 1e9;
            System.out.printf("journal fill: %d of %d events in %.0f s%n", written.get(), total, s);
            next += total / 10;
          }
        }
      }
      for (var f : pending) {
        try {
          written.addAndGet(f.get(180, TimeUnit.SECONDS));
        } catch (java.util.concurrent.ExecutionException e) {
          retried++;
        }
      }
      double s = (System.nanoTime() - t0) / 1e9;
      System.out.printf("journal fill (the real persistence plugin, persistAll of %d, %d at a time): %d events in %.1f s "
          + "= %.0f events/s (%d batches not confirmed in time and written again)%n", BATCH, inFlight, written.get(), s,
          written.get() / s, retried);
    } finally {
      system.terminate();
      system.getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }
  }
}
