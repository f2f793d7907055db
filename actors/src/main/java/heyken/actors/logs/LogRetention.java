package heyken.actors.logs;

import java.time.Duration;
import java.time.Instant;
import java.util.function.BooleanSupplier;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Looks after the log store every interval ({@code heyken.logs.retention}), only while its core is active: creates
 * the day partitions ahead, enforces the retention (max age, max lines; whole partitions dropped where it can), and
 * until it is done, copies the lines an older version kept in MongoDB ({@link MongoLogImport}); and every
 * {@code search-index.interval} builds the trigram indexes of {@code contains=} ({@link LogSearchIndex}). The first pass comes
 * a few seconds after the start. A pass is idempotent, so a hand-over during one does no harm.
 */
public final class LogRetention {

  private static final Logger log = LoggerFactory.getLogger(LogRetention.class);
  static final Duration FIRST_PASS = Duration.ofSeconds(3);

  public interface Command {}

  private enum Prune implements Command {
    INSTANCE
  }

  private enum Index implements Command {
    INSTANCE
  }

  private record Indexed(LogSearchIndex.Built built, Throwable error) implements Command {}

  private record Done(LogStore.Pruned pruned, MongoLogImport.Result imported, Throwable error) implements Command {}

  public static Behavior<Command> create(LogStore store, BooleanSupplier active) {
    return create(store, active, null, 2);
  }

  /** With the one-time copy out of MongoDB ({@code importer}, null for none) and partitions {@code ahead} days. */
  public static Behavior<Command> create(LogStore store, BooleanSupplier active, MongoLogImport importer, int ahead) {
    var retention = store.settings().retention();
    return Behaviors.setup(context -> Behaviors.withTimers(timers -> {
      timers.startSingleTimer(Prune.INSTANCE,
          retention.interval().compareTo(FIRST_PASS) < 0 ? retention.interval() : FIRST_PASS);
      timers.startTimerWithFixedDelay(Prune.INSTANCE, retention.interval());
      var searchIndex = store.settings().searchIndex();
      timers.startTimerWithFixedDelay(Index.INSTANCE, searchIndex.interval());
      boolean[] busy = {false}; // one pass at a time, however long a pass takes
      boolean[] indexing = {false};
      boolean[] imported = {importer == null};
      return Behaviors.receive(Command.class)
          .onMessageEquals(Prune.INSTANCE, () -> {
            if (active.getAsBoolean() && !busy[0] && store.database().isReady()) {
              busy[0] = true;
              boolean runImport = !imported[0];
              context.pipeToSelf(store.database().async(c -> {
                Instant now = Instant.now();
                LogPartitions.ensureAhead(c, now, ahead);
                MongoLogImport.Result result = runImport ? importer.run() : null;
                return new Done(LogPartitions.prune(c, now, retention.maxAge(), retention.maxLines()), result, null);
              }), (done, error) -> error != null ? new Done(null, null, error) : done);
            }
            return Behaviors.same();
          })
          .onMessageEquals(Index.INSTANCE, () -> {
            if (active.getAsBoolean() && !indexing[0] && store.database().isReady()) {
              indexing[0] = true;
              context.pipeToSelf(store.database().async(c -> LogSearchIndex.maintain(c, Instant.now(), searchIndex)),
                  Indexed::new);
            }
            return Behaviors.same();
          })
          .onMessage(Indexed.class, done -> {
            indexing[0] = false;
            if (done.error() != null) {
              log.warn("building the search index of the log store failed, next try in {} s (contains= reads the "
                      + "unindexed lines in time order meanwhile; check heyken-pg with scripts/status.sh): {}",
                  searchIndex.interval().toSeconds(),
                  heyken.actors.postgres.PostgresDatabase.rootMessage(done.error()));
            } else if (!done.built().names().isEmpty()) {
              log.info("log search index built: {} in {} ms", done.built().names(), done.built().took().toMillis());
            }
            return Behaviors.same();
          })
          .onMessage(Done.class, done -> {
            busy[0] = false;
            if (done.error() != null) {
              log.warn("log retention failed, next try in {} s (check heyken-pg with scripts/status.sh): {}",
                  retention.interval().toSeconds(), heyken.actors.postgres.PostgresDatabase.rootMessage(done.error()));
              return Behaviors.same();
            }
            if (done.imported() != null) {
              MongoLogImport.report(done.imported());
              imported[0] = done.imported().done();
            }
            if (done.pruned().byAge() + done.pruned().bySize() > 0) {
              log.info("log retention removed {} lines older than {} h and {} beyond the newest {}",
                  done.pruned().byAge(), retention.maxAge().toHours(), done.pruned().bySize(), retention.maxLines());
            }
            return Behaviors.same();
          })
          .build();
    }));
  }
}
