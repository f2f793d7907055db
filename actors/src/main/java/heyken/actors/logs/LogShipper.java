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

  private record Written(int count, Throwable error, List<Document> batch, boolean retried) implements Command {}

  public static Behavior<Command> create() {
    return Behaviors.setup(context -> Behaviors.withTimers(timers -> {
      var config = context.getSystem().settings().config();
      var store = MongoStore.get(context.getSystem());
      MongoCollection<Document> collection =
          store.database().getCollection(config.getString("heyken.logs.collection"));
      int batchSize = config.getInt("heyken.logs.batch-size");
      Duration interval = config.getDuration("heyken.logs.flush-interval");
      timers.startTimerWithFixedDelay(Flush.INSTANCE, interval);
      return idle(context, store, collection, batchSize);
    }));
  }

  private static Behavior<Command> idle(
      org.apache.pekko.actor.typed.javadsl.ActorContext<Command> context,
      MongoStore store,
      MongoCollection<Document> collection,
      int batchSize) {
    return Behaviors.receive(Command.class)
        .onMessageEquals(Flush.INSTANCE, () -> {
          List<Document> batch = LogBuffer.get().drain(batchSize);
          if (batch.isEmpty()) {
            return Behaviors.same();
          }
          write(context, store, collection, batch, false);
          return writing(context, store, collection, batchSize);
        })
        .build();
  }

  private static Behavior<Command> writing(
      org.apache.pekko.actor.typed.javadsl.ActorContext<Command> context,
      MongoStore store,
      MongoCollection<Document> collection,
      int batchSize) {
    return Behaviors.receive(Command.class)
        .onMessageEquals(Flush.INSTANCE, Behaviors::same) // one batch in flight at a time
        .onMessage(Written.class, written -> {
          if (written.error() != null) {
            if (!written.retried()) {
              write(context, store, collection, written.batch(), true);
              return Behaviors.same();
            }
            LogBuffer.get().countDropped(written.batch().size());
            // goes to the console/file log; the line itself will be buffered and tried later
            log.warn("dropped {} log lines: the store did not take them ({})",
                written.batch().size(), written.error().getMessage());
            return idle(context, store, collection, batchSize);
          }
          LogBuffer.get().countWritten(written.count());
          // keep draining while there is a backlog
          List<Document> next = LogBuffer.get().drain(batchSize);
          if (next.isEmpty()) {
            return idle(context, store, collection, batchSize);
          }
          write(context, store, collection, next, false);
          return Behaviors.same();
        })
        .build();
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
