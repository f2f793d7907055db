package heyken.actors.projection;

import com.typesafe.config.Config;
import heyken.actors.feature.Feature;
import heyken.actors.feature.PipelineRun;
import heyken.actors.postgres.PostgresDatabase;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.CompletionStage;
import java.util.function.BooleanSupplier;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.persistence.query.EventEnvelope;
import org.apache.pekko.persistence.query.Offset;
import org.apache.pekko.persistence.query.PersistenceQuery;
import org.apache.pekko.stream.javadsl.Sink;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import pekko.contrib.persistence.mongodb.JavaDslMongoReadJournal;
import pekko.contrib.persistence.mongodb.MongoReadJournal;
import pekko.contrib.persistence.mongodb.ObjectIdOffset;

/**
 * Projects the test runs and their jobs from the MongoDB journal into PostgreSQL ({@code projected_runs},
 * {@code projected_jobs}, {@code projected_features}, read through the views {@code test_runs} and
 * {@code sandbox_jobs} of text2sql). Only the active core runs it. Live queries do not work on the embedded store, so
 * it polls {@code currentEventsByTag} from its stored offset, starting {@code overlap} earlier (two cores' writes may
 * land slightly out of ObjectId order), and skips every event whose sequence number its entity's row has already
 * seen: a replay or an overlap never duplicates or rewinds a row. Rows, their sequence numbers and the offset are
 * written in one transaction.
 */
public final class RunProjection {

  private static final Logger log = LoggerFactory.getLogger(RunProjection.class);
  static final List<String> TAGS = List.of(Feature.TAG, PipelineRun.TAG);
  // both cores may run a pass around a hand-over: one at a time
  private static final long LOCK = 0x68657931L;

  /** {@code heyken.runs-projection}. */
  public record Settings(Duration interval, int batchSize, Duration overlap) {
    public static Settings from(Config config) {
      Config c = config.getConfig("heyken.runs-projection");
      return new Settings(c.getDuration("interval"), c.getInt("batch-size"), c.getDuration("overlap"));
    }
  }

  public interface Command {}

  private enum Poll implements Command {
    INSTANCE
  }

  private record Polled(int applied, boolean more, Throwable error) implements Command {}

  public static Behavior<Command> create(PostgresDatabase db, BooleanSupplier active, Settings settings) {
    return Behaviors.setup(context -> Behaviors.withTimers(timers -> {
      var projection = new RunProjection(context.getSystem(), db, settings);
      timers.startTimerWithFixedDelay(Poll.INSTANCE, settings.interval());
      boolean[] busy = {false};
      return Behaviors.receive(Command.class)
          .onMessageEquals(Poll.INSTANCE, () -> {
            if (active.getAsBoolean() && db.isReady() && !busy[0]) {
              busy[0] = true;
              context.pipeToSelf(projection.pass(), (r, error) -> error != null ? new Polled(0, false, error) : r);
            }
            return Behaviors.same();
          })
          .onMessage(Polled.class, polled -> {
            busy[0] = false;
            if (polled.error() != null) {
              log.warn("the runs projection could not read the journal or write PostgreSQL; it retries in {} ms "
                  + "(test_runs / sandbox_jobs of text2sql lag meanwhile; check scripts/status.sh): {}",
                  settings.interval().toMillis(), PostgresDatabase.rootMessage(polled.error()));
            } else if (polled.more()) {
              context.getSelf().tell(Poll.INSTANCE);
            }
            return Behaviors.same();
          })
          .build();
    }));
  }

  private final ActorSystem<?> system;
  private final PostgresDatabase db;
  private final Settings settings;
  private final JavaDslMongoReadJournal journal;

  RunProjection(ActorSystem<?> system, PostgresDatabase db, Settings settings) {
    this.system = system;
    this.db = db;
    this.settings = settings;
    this.journal = PersistenceQuery.get(system.classicSystem())
        .getReadJournalFor(JavaDslMongoReadJournal.class, MongoReadJournal.Identifier());
  }

  /** Where a tag was read up to. */
  record Position(String objectId, long millis) {}

  /** One pass over both tags: the events after the stored offsets (with the overlap), applied and the offsets kept. */
  CompletionStage<Polled> pass() {
    return db.async(RunProjection::positions).thenCompose(positions -> {
      CompletionStage<Polled> chain = java.util.concurrent.CompletableFuture.completedFuture(new Polled(0, false,
          null));
      for (String tag : TAGS) {
        Position from = positions.get(tag);
        chain = chain.thenCompose(sum -> journal.currentEventsByTag(tag, start(from)).take(settings.batchSize())
            .runWith(Sink.seq(), system)
            .thenCompose(envelopes -> db.async(c -> apply(c, tag, from, envelopes)))
            .thenApply(r -> new Polled(sum.applied() + r.applied(), sum.more() || r.more(), null)));
      }
      return chain;
    });
  }

  private Offset start(Position from) {
    if (from == null) {
      return Offset.noOffset();
    }
    long millis = Math.max(0, from.millis() - settings.overlap().toMillis());
    // an ObjectId of that second with the rest zero: before every id written from then on
    return ObjectIdOffset.apply(String.format("%08x", millis / 1000) + "0".repeat(16), millis);
  }

  private static java.util.Map<String, Position> positions(Connection c) throws SQLException {
    var map = new java.util.HashMap<String, Position>();
    try (var rs = c.createStatement().executeQuery("SELECT projection, offset_id, offset_millis FROM "
        + "projection_offsets")) {
      while (rs.next()) {
        map.put(rs.getString(1), new Position(rs.getString(2), rs.getLong(3)));
      }
    }
    return map;
  }

  private Polled apply(Connection c, String tag, Position from, List<EventEnvelope> envelopes) throws SQLException {
    if (envelopes.isEmpty()) {
      return new Polled(0, false, null);
    }
    boolean auto = c.getAutoCommit();
    c.setAutoCommit(false);
    try {
      try (var s = c.createStatement()) {
        s.execute("SELECT pg_advisory_xact_lock(" + LOCK + ")");
      }
      var sorted = new ArrayList<>(envelopes);
      sorted.sort(Comparator.comparing(EventEnvelope::persistenceId).thenComparingLong(EventEnvelope::sequenceNr));
      int applied = 0;
      for (EventEnvelope env : sorted) {
        if (applyOne(c, env)) {
          applied++;
        }
      }
      Position last = from;
      for (EventEnvelope env : envelopes) {
        if (env.offset() instanceof ObjectIdOffset o && (last == null || o.hexStr().compareTo(last.objectId()) > 0)) {
          last = new Position(o.hexStr(), o.time());
        }
      }
      if (last != null) {
        try (var s = c.prepareStatement("INSERT INTO projection_offsets (projection, offset_id, offset_millis, events) "
            + "VALUES (?, ?, ?, ?) ON CONFLICT (projection) DO UPDATE SET offset_id = EXCLUDED.offset_id, "
            + "offset_millis = EXCLUDED.offset_millis, events = projection_offsets.events + EXCLUDED.events, "
            + "updated_at = now()")) {
          s.setString(1, tag);
          s.setString(2, last.objectId());
          s.setLong(3, last.millis());
          s.setLong(4, applied);
          s.executeUpdate();
        }
      }
      c.commit();
      if (applied > 0) {
        log.debug("runs projection applied {} {} events", applied, tag);
      }
      return new Polled(applied, envelopes.size() >= settings.batchSize() && applied > 0, null);
    } catch (SQLException | RuntimeException e) {
      c.rollback();
      throw e;
    } finally {
      c.setAutoCommit(auto);
    }
  }

  /** Applies one event unless its entity's row has seen its sequence number; true when applied. */
  static boolean applyOne(Connection c, EventEnvelope env) throws SQLException {
    String pid = env.persistenceId();
    long seq = env.sequenceNr();
    Object event = env.event();
    if (pid.startsWith(PipelineRun.ENTITY_KEY.name() + "|") && event instanceof PipelineRun.Event e) {
      String runId = pid.substring(pid.indexOf('|') + 1);
      update(c, "INSERT INTO projected_runs (run_id, feature_id, status, last_seq) VALUES (?, ?, 'running', 0) "
          + "ON CONFLICT (run_id) DO NOTHING", runId, featureOf(runId));
      if (!newer(c, "SELECT last_seq FROM projected_runs WHERE run_id = ? FOR UPDATE", runId, seq)) {
        return false;
      }
      run(c, runId, e);
      update(c, "UPDATE projected_runs SET last_seq = ? WHERE run_id = ?", seq, runId);
      return true;
    }
    if (pid.startsWith(Feature.ENTITY_KEY.name() + "|") && event instanceof Feature.Event e) {
      String featureId = pid.substring(pid.indexOf('|') + 1);
      update(c, "INSERT INTO projected_features (feature_id, last_seq) VALUES (?, 0) ON CONFLICT (feature_id) "
          + "DO NOTHING", featureId);
      if (!newer(c, "SELECT last_seq FROM projected_features WHERE feature_id = ? FOR UPDATE", featureId, seq)) {
        return false;
      }
      if (e instanceof Feature.FeatureCreated created) {
        update(c, "UPDATE projected_features SET name = ?, created_at = ? WHERE feature_id = ?", created.name(),
            created.at(), featureId);
      } else if (e instanceof Feature.FeatureDeleted deleted) {
        update(c, "UPDATE projected_features SET deleted_at = ? WHERE feature_id = ?", deleted.at(), featureId);
      }
      update(c, "UPDATE projected_features SET last_seq = ? WHERE feature_id = ?", seq, featureId);
      return true;
    }
    return false;
  }

  private static void run(Connection c, String runId, PipelineRun.Event event) throws SQLException {
    if (event instanceof PipelineRun.RunRequested r) {
      update(c, "UPDATE projected_runs SET feature_id = ?, revision = ?, requested_by = ?, status = 'running', "
          + "started_at = ? WHERE run_id = ?", r.featureId(), r.revision(), r.requestedBy(), r.at(), runId);
    } else if (event instanceof PipelineRun.AttemptStarted a) {
      update(c, "UPDATE projected_runs SET attempts = ?, core = ? WHERE run_id = ?", a.attempt(), a.core(), runId);
    } else if (event instanceof PipelineRun.PipelinePlanned p) {
      update(c, "UPDATE projected_runs SET job_count = ? WHERE run_id = ?", p.jobs().size(), runId);
      for (int i = 0; i < p.jobs().size(); i++) {
        var job = p.jobs().get(i);
        update(c, "INSERT INTO projected_jobs (run_id, job_index, name, stage, image, status) VALUES (?, ?, ?, ?, ?, "
            + "'pending') ON CONFLICT (run_id, job_index) DO NOTHING", runId, i, job.name(), job.stage(), job.image());
      }
    } else if (event instanceof PipelineRun.JobFinished f) {
      var job = f.job();
      Instant started = job.durationMs() == null ? null : f.at().minusMillis(job.durationMs());
      update(c, "INSERT INTO projected_jobs (run_id, job_index, name, stage, status, reason, exit_code, backend, image, "
          + "detail, attempt, core, started_at, finished_at, duration_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
          + "?, ?) ON CONFLICT (run_id, job_index) DO UPDATE SET name = EXCLUDED.name, stage = EXCLUDED.stage, "
          + "status = EXCLUDED.status, reason = EXCLUDED.reason, exit_code = EXCLUDED.exit_code, backend = "
          + "EXCLUDED.backend, image = EXCLUDED.image, detail = EXCLUDED.detail, attempt = EXCLUDED.attempt, core = "
          + "EXCLUDED.core, started_at = EXCLUDED.started_at, finished_at = EXCLUDED.finished_at, duration_ms = "
          + "EXCLUDED.duration_ms", runId, f.index(), job.name(), job.stage(), job.status(), job.reason(),
          job.exitCode(), job.backend(), job.image(), job.detail(), f.attempt(), f.core(), started, f.at(),
          job.durationMs());
    } else if (event instanceof PipelineRun.RunFinished f) {
      update(c, "UPDATE projected_runs SET status = ?, detail = ?, finished_at = ? WHERE run_id = ?", f.status().json(),
          f.detail(), f.at(), runId);
      update(c, "UPDATE projected_jobs SET status = 'skipped' WHERE run_id = ? AND status = 'pending'", runId);
    }
  }

  /** Run ids are {@code <feature id>-<n>}. */
  static String featureOf(String runId) {
    int dash = runId.lastIndexOf('-');
    return dash > 0 ? runId.substring(0, dash) : runId;
  }

  private static boolean newer(Connection c, String sql, String id, long seq) throws SQLException {
    try (PreparedStatement s = c.prepareStatement(sql)) {
      s.setString(1, id);
      try (var rs = s.executeQuery()) {
        return rs.next() && rs.getLong(1) < seq;
      }
    }
  }

  private static void update(Connection c, String sql, Object... values) throws SQLException {
    try (PreparedStatement s = c.prepareStatement(sql)) {
      for (int i = 0; i < values.length; i++) {
        Object v = values[i];
        if (v instanceof Instant t) {
          s.setTimestamp(i + 1, Timestamp.from(t));
        } else {
          s.setObject(i + 1, v);
        }
      }
      s.executeUpdate();
    }
  }
}
