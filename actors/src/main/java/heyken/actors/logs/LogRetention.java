package heyken.actors.logs;

import java.time.Instant;
import java.util.function.BooleanSupplier;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Enforces the log retention ({@code heyken.logs.retention}: max age, max lines) every interval. Runs on every
 * core but prunes only while its core is active; a pass is idempotent, so a hand-over during one does no harm.
 */
public final class LogRetention {

  private static final Logger log = LoggerFactory.getLogger(LogRetention.class);

  public interface Command {}

  private enum Prune implements Command {
    INSTANCE
  }

  private record Done(LogStore.Pruned pruned, Throwable error) implements Command {}

  public static Behavior<Command> create(LogStore store, BooleanSupplier active) {
    var retention = store.settings().retention();
    return Behaviors.setup(context -> Behaviors.withTimers(timers -> {
      timers.startTimerWithFixedDelay(Prune.INSTANCE, retention.interval());
      boolean[] busy = {false}; // one pass at a time, however long a pass takes on a large collection
      return Behaviors.receive(Command.class)
          .onMessageEquals(Prune.INSTANCE, () -> {
            if (active.getAsBoolean() && !busy[0]) {
              busy[0] = true;
              context.pipeToSelf(store.pruneAsync(Instant.now(), retention.maxAge(), retention.maxLines()),
                  Done::new);
            }
            return Behaviors.same();
          })
          .onMessage(Done.class, done -> {
            busy[0] = false;
            if (done.error() != null) {
              log.warn("log retention failed, next try in {} s: {}", retention.interval().toSeconds(),
                  done.error().toString());
            } else if (done.pruned().byAge() + done.pruned().bySize() > 0) {
              log.info("log retention deleted {} lines older than {} h and {} beyond the newest {}",
                  done.pruned().byAge(), retention.maxAge().toHours(), done.pruned().bySize(), retention.maxLines());
            }
            return Behaviors.same();
          })
          .build();
    }));
  }
}
