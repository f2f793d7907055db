package heyken.actors.logs;

import heyken.actors.postgres.PostgresDatabase;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Drains the {@link LogBuffer} and writes the lines to the log store (PostgreSQL, {@link LogWriter}: one COPY per
 * batch) with up to {@code parallel-writes} batches in flight. Runs on every core (each core ships its own lines).
 * A batch the store could not take because it is away (connection refused, killed, shutting down) is kept and sent
 * again, with a growing pause, until the store has it: what reached the buffer and was not dropped there is stored.
 * Before a batch is sent again the store is asked whether its commit went through after all (its first line is
 * there), so that nothing is stored twice. A batch the store refuses as invalid is tried once more, then dropped and
 * counted. Logs never block the system: while the store is away the buffer fills, and newer lines are dropped and
 * counted.
 */
public final class LogShipper {

  private static final Logger log = LoggerFactory.getLogger(LogShipper.class);
  private static final Duration MIN_BACKOFF = Duration.ofMillis(200);
  private static final Duration MAX_BACKOFF = Duration.ofSeconds(5);

  public interface Command {}

  private enum Flush implements Command {
    INSTANCE
  }

  private enum ReportDrops implements Command {
    INSTANCE
  }

  private record Written(Batch batch, Throwable error) implements Command {}

  private record Retry(Batch batch) implements Command {}

  /** A batch on its way: how often it failed, and whether a failure left its commit unclear. */
  private record Batch(long key, List<LogRow> rows, int attempts, int invalid) {
    Batch failed(boolean byData) {
      return new Batch(key, rows, attempts + 1, byData ? invalid + 1 : invalid);
    }
  }

  public static Behavior<Command> create() {
    return Behaviors.setup(context -> {
      var settings = LogSettings.from(context.getSystem().settings().config());
      var db = PostgresDatabase.get(context.getSystem());
      return create(new LogWriter(db), db, settings);
    });
  }

  /** A shipper writing with {@code writer} (tests give it their own database). */
  public static Behavior<Command> create(LogWriter writer, PostgresDatabase db, LogSettings settings) {
    return Behaviors.setup(context -> Behaviors.withTimers(timers -> {
      timers.startTimerWithFixedDelay(Flush.INSTANCE, settings.flushInterval());
      timers.startTimerWithFixedDelay(ReportDrops.INSTANCE, settings.dropReportInterval());
      return new Shipper(context, timers, writer, db, settings).behavior();
    }));
  }

  private static final class Shipper {
    private final ActorContext<Command> context;
    private final TimerScheduler<Command> timers;
    private final LogWriter writer;
    private final PostgresDatabase db;
    private final LogSettings settings;
    private final DropReport drops;
    private int inFlight;
    private long keys;
    private boolean storeAway;

    Shipper(ActorContext<Command> context, TimerScheduler<Command> timers, LogWriter writer, PostgresDatabase db,
        LogSettings settings) {
      this.context = context;
      this.timers = timers;
      this.writer = writer;
      this.db = db;
      this.settings = settings;
      this.drops = new DropReport(settings.dropReportInterval());
    }

    Behavior<Command> behavior() {
      return Behaviors.receive(Command.class)
          .onMessageEquals(ReportDrops.INSTANCE, () -> {
            drops.report();
            return Behaviors.same();
          })
          .onMessageEquals(Flush.INSTANCE, () -> {
            startWrites();
            return Behaviors.same();
          })
          .onMessage(Retry.class, retry -> {
            resend(retry.batch());
            return Behaviors.same();
          })
          .onMessage(Written.class, this::onWritten)
          .build();
    }

    /** Starts batches while slots are free and the buffer has lines (not while a batch waits for the store). */
    private void startWrites() {
      if (!db.isReady() || storeAway) {
        return; // the schema is not there yet, or the store is away: lines wait in the buffer (bounded)
      }
      while (inFlight < settings.parallelWrites()) {
        List<LogRow> rows = LogBuffer.get().drain(settings.batchSize());
        if (rows.isEmpty()) {
          return;
        }
        inFlight++;
        send(new Batch(++keys, rows, 0, 0), false);
      }
    }

    private void send(Batch batch, boolean checkFirst) {
      context.pipeToSelf(CompletableFuture.runAsync(() -> {
        // a failure may have come after the commit: if its first line is there, the whole batch is
        if (checkFirst && writer.stored(batch.rows())) {
          return;
        }
        writer.write(batch.rows());
      }, db.executor()), (ok, error) -> new Written(batch, error));
    }

    private void resend(Batch batch) {
      send(batch, true);
    }

    private Behavior<Command> onWritten(Written written) {
      Batch batch = written.batch();
      if (written.error() == null) {
        inFlight--;
        if (storeAway) {
          storeAway = false;
          log.info("the log store takes lines again; {} lines buffered, {} dropped since start",
              LogBuffer.get().buffered(), LogBuffer.get().dropped());
        }
        LogBuffer.get().settled(batch.rows().size(), true);
        startWrites(); // keep draining while there is a backlog
        return Behaviors.same();
      }
      boolean away = PostgresDatabase.isConnectionProblem(written.error());
      Batch next = batch.failed(!away);
      if (!away && next.invalid() >= 2) {
        inFlight--;
        LogBuffer.get().settled(batch.rows().size(), false);
        drops.failed(written.error());
        startWrites();
        return Behaviors.same();
      }
      if (away && !storeAway) {
        storeAway = true;
        log.warn("the log store is unreachable ({}); {} lines are kept and sent again when it is back, newer lines "
                + "wait in the buffer (dropped and counted when it is full). Check heyken-pg: scripts/status.sh",
            PostgresDatabase.rootMessage(written.error()), batch.rows().size());
      }
      long backoff = Math.min(MAX_BACKOFF.toMillis(), MIN_BACKOFF.toMillis() << Math.min(5, next.attempts() - 1));
      timers.startSingleTimer("retry-" + batch.key(), new Retry(next), Duration.ofMillis(backoff));
      return Behaviors.same();
    }
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
                + "or unreachable; check heyken-pg with scripts/status.sh", dropped - reported, interval.toSeconds(),
            dropped, LogBuffer.get().buffered(), lastError == null ? "" : "; last error: "
                + PostgresDatabase.rootMessage(lastError));
        reported = dropped;
        lastError = null;
      }
    }
  }
}
