package heyken.actors.logs;

import com.mongodb.client.MongoCollection;
import com.mongodb.client.model.InsertManyOptions;
import heyken.actors.store.MongoStore;
import java.time.Duration;
import java.util.List;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.bson.Document;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Drains the {@link LogBuffer} and writes the lines to MongoDB in batches, one insert at a time. Runs on
 * every core (each core ships its own lines). A failed batch is dropped and counted after one retry:
 * logs must never block the system or grow without bound while the store is away.
 */
public final class LogShipper {

  private static final Logger log = LoggerFactory.getLogger(LogShipper.class);

  public interface Command {}

  private enum Flush implements Command {
    INSTANCE
  }

  private enum ReportDrops implements Command {
    INSTANCE
  }

  private record Written(int count, Throwable error, List<Document> batch, boolean retried) implements Command {}

  public static Behavior<Command> create() {
    return Behaviors.setup(context -> Behaviors.withTimers(timers -> {
      var settings = LogSettings.from(context.getSystem().settings().config());
      var store = MongoStore.get(context.getSystem());
      MongoCollection<Document> collection = store.database().getCollection(settings.collection());
      new LogStore(store, settings).ensureIndexes().whenComplete((n, e) -> {
        if (e != null) {
          log.warn("could not create the log indexes ({}); queries still work, a real MongoDB scans", e.toString());
        }
      });
      timers.startTimerWithFixedDelay(Flush.INSTANCE, settings.flushInterval());
      timers.startTimerWithFixedDelay(ReportDrops.INSTANCE, settings.dropReportInterval());
      var drops = new DropReport(settings.dropReportInterval());
      return idle(context, store, collection, settings.batchSize(), drops);
    }));
  }

  private static Behavior<Command> idle(
      org.apache.pekko.actor.typed.javadsl.ActorContext<Command> context,
      MongoStore store,
      MongoCollection<Document> collection,
      int batchSize,
      DropReport drops) {
    return Behaviors.receive(Command.class)
        .onMessageEquals(ReportDrops.INSTANCE, () -> {
          drops.report();
          return Behaviors.same();
        })
        .onMessageEquals(Flush.INSTANCE, () -> {
          List<Document> batch = LogBuffer.get().drain(batchSize);
          if (batch.isEmpty()) {
            return Behaviors.same();
          }
          write(context, store, collection, batch, false);
          return writing(context, store, collection, batchSize, drops);
        })
        .build();
  }

  private static Behavior<Command> writing(
      org.apache.pekko.actor.typed.javadsl.ActorContext<Command> context,
      MongoStore store,
      MongoCollection<Document> collection,
      int batchSize,
      DropReport drops) {
    return Behaviors.receive(Command.class)
        .onMessageEquals(ReportDrops.INSTANCE, () -> {
          drops.report();
          return Behaviors.same();
        })
        .onMessageEquals(Flush.INSTANCE, Behaviors::same) // one batch in flight at a time
        .onMessage(Written.class, written -> {
          if (written.error() != null) {
            if (!written.retried()) {
              write(context, store, collection, written.batch(), true);
              return Behaviors.same();
            }
            LogBuffer.get().countDropped(written.batch().size());
            drops.failed(written.error());
            return idle(context, store, collection, batchSize, drops);
          }
          LogBuffer.get().countWritten(written.count());
          // keep draining while there is a backlog
          List<Document> next = LogBuffer.get().drain(batchSize);
          if (next.isEmpty()) {
            return idle(context, store, collection, batchSize, drops);
          }
          write(context, store, collection, next, false);
          return Behaviors.same();
        })
        .build();
  }

  /**
   * Says once per interval how many lines were dropped since the last report (the buffer was full, or the store
   * refused a batch twice), with the last error: never silent, never one WARN per lost line.
   */
  static final class DropReport {
    private final Duration interval;
    private long reported = LogBuffer.get().dropped();
    private Throwable lastError;

    DropReport(Duration interval) {
      this.interval = interval;
    }

    void failed(Throwable error) {
      lastError = error;
    }

    void report() {
      long dropped = LogBuffer.get().dropped();
      if (dropped > reported) {
        log.warn("{} log lines were dropped in the last {} s ({} since start, {} waiting){}: the log store is slow "
                + "or unreachable", dropped - reported, interval.toSeconds(), dropped, LogBuffer.get().size(),
            lastError == null ? "" : "; last error: " + lastError);
        reported = dropped;
        lastError = null;
      }
    }
  }

  private static void write(
      org.apache.pekko.actor.typed.javadsl.ActorContext<Command> context,
      MongoStore store,
      MongoCollection<Document> collection,
      List<Document> batch,
      boolean retry) {
    context.pipeToSelf(
        store.async(db -> {
          collection.insertMany(batch, new InsertManyOptions().ordered(false));
          return batch.size();
        }),
        (count, error) -> new Written(count == null ? 0 : count, error, batch, retry));
  }
}
