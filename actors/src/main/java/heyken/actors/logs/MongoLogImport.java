package heyken.actors.logs;

import com.mongodb.client.MongoCollection;
import com.mongodb.client.MongoDatabase;
import heyken.actors.postgres.PostgresDatabase;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import org.bson.Document;
import org.bson.types.ObjectId;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Copies the log lines and run output that an older version kept in MongoDB ({@code heyken_logs},
 * {@code heyken_run_logs}) into PostgreSQL once per installation, in batches, then drops the collections. Recorded in
 * {@code log_store_jobs} so that it happens once; one core at a time (an advisory lock); idempotent if interrupted
 * (a line's id comes from its ObjectId, and rows already copied are skipped). Blocking: run it in the background.
 */
public final class MongoLogImport {

  private static final Logger log = LoggerFactory.getLogger(MongoLogImport.class);
  static final String JOB = "import-mongo-logs";
  private static final long LOCK = 0x6865796b656e494dL;
  private static final int BATCH = 2_000;
  private static final String INSERT = "INSERT INTO log_lines (id, ts, level, level_num, core, epoch, component, "
      + "logger, thread, message, exception, mdc, feature, run, job, room, stream) "
      + "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?::jsonb, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING";
  private static final String INSERT_CHUNK = "INSERT INTO run_log_chunks (run, attempt, seq, job, stream, text, at) "
      + "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING";

  /**
   * What one pass did: lines and chunks copied ({@code ran}), and whether the copy is done for this installation
   * ({@code done}: false while the other core holds the lock, so that this one looks again later).
   */
  public record Result(long lines, long chunks, boolean ran, boolean done) {}

  private final PostgresDatabase db;
  private final MongoDatabase mongo;
  private final String lines;
  private final String runLogs;

  public MongoLogImport(PostgresDatabase db, MongoDatabase mongo, String lines, String runLogs) {
    this.db = db;
    this.mongo = mongo;
    this.lines = lines;
    this.runLogs = runLogs;
  }

  /** Copies everything unless done before or running on the other core; then drops the collections. Blocking. */
  public Result run() {
    return db.withConnection(c -> {
      if (done(c)) {
        return new Result(0, 0, false, true);
      }
      if (!tryLock(c)) {
        return new Result(0, 0, false, false); // the other core copies
      }
      try {
        if (done(c)) {
          return new Result(0, 0, false, true);
        }
        long copied = copyLines(c, mongo.getCollection(lines));
        long chunks = copyChunks(c, mongo.getCollection(runLogs));
        try (PreparedStatement s = c.prepareStatement(
            "INSERT INTO log_store_jobs (name, detail) VALUES (?, ?) ON CONFLICT DO NOTHING")) {
          s.setString(1, JOB);
          s.setString(2, copied + " lines from " + lines + ", " + chunks + " run output chunks from " + runLogs);
          s.executeUpdate();
        }
        mongo.getCollection(lines).drop();
        mongo.getCollection(runLogs).drop();
        return new Result(copied, chunks, true, true);
      } finally {
        unlock(c);
      }
    });
  }

  private static boolean done(Connection c) throws SQLException {
    try (PreparedStatement s = c.prepareStatement("SELECT 1 FROM log_store_jobs WHERE name = ?")) {
      s.setString(1, JOB);
      try (ResultSet rs = s.executeQuery()) {
        return rs.next();
      }
    }
  }

  private static boolean tryLock(Connection c) throws SQLException {
    try (var s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT pg_try_advisory_lock(" + LOCK + ")")) {
      rs.next();
      return rs.getBoolean(1);
    }
  }

  private static void unlock(Connection c) throws SQLException {
    try (var s = c.createStatement()) {
      s.execute("SELECT pg_advisory_unlock(" + LOCK + ")");
    }
  }

  private static long copyLines(Connection c, MongoCollection<Document> from) throws SQLException {
    long copied = 0;
    var batch = new ArrayList<LogRow>(BATCH);
    for (Document d : from.find().batchSize(BATCH)) {
      LogRow row = row(d);
      if (row != null) {
        batch.add(row);
      }
      if (batch.size() == BATCH) {
        copied += insert(c, batch);
        batch.clear();
      }
    }
    copied += insert(c, batch);
    return copied;
  }

  /** An old document as a row; its id derives from its ObjectId, so a second copy of it is recognised. */
  static LogRow row(Document d) {
    Date ts = d.getDate("ts");
    if (ts == null) {
      return null;
    }
    ObjectId oid = d.getObjectId("_id");
    long id = oid == null ? LogBuffer.nextId(0) : idOf(oid);
    Map<String, String> mdc = LogStore.mdcOf(d);
    Number core = d.get("core", Number.class);
    Number epoch = d.get("epoch", Number.class);
    return new LogRow(id, ts.getTime() * 1000L, d.getString("level") == null ? "INFO" : d.getString("level"),
        core == null ? null : core.intValue(), epoch == null ? null : epoch.longValue(), d.getString("component"),
        d.getString("logger"), d.getString("thread"), d.getString("message"), d.getString("exception"), mdc,
        d.getString("feature"), d.getString("run"), mdc == null ? null : mdc.get("job"), d.getString("room"),
        mdc == null ? null : mdc.get("stream"));
  }

  /** The last 8 of an ObjectId's 12 bytes (process random + counter), as a positive long. */
  static long idOf(ObjectId oid) {
    byte[] b = oid.toByteArray();
    long v = 0;
    for (int i = 4; i < 12; i++) {
      v = (v << 8) | (b[i] & 0xff);
    }
    return v & Long.MAX_VALUE;
  }

  private static int insert(Connection c, List<LogRow> rows) throws SQLException {
    if (rows.isEmpty()) {
      return 0;
    }
    var days = new TreeSet<LocalDate>();
    rows.forEach(r -> days.add(LogPartitions.day(r.time())));
    LogPartitions.ensure(c, days);
    int n = 0;
    try (PreparedStatement s = c.prepareStatement(INSERT)) {
      for (LogRow r : rows) {
        int i = 0;
        s.setLong(++i, r.id());
        s.setObject(++i, LogStore.at(r.time()), java.sql.Types.TIMESTAMP_WITH_TIMEZONE);
        s.setString(++i, r.level());
        s.setShort(++i, (short) LogRow.levelNum(r.level()));
        s.setObject(++i, r.core(), java.sql.Types.INTEGER);
        s.setObject(++i, r.epoch(), java.sql.Types.BIGINT);
        s.setString(++i, clean(r.component()));
        s.setString(++i, clean(r.logger()));
        s.setString(++i, clean(r.thread()));
        s.setString(++i, clean(r.message()));
        s.setString(++i, clean(r.exception()));
        s.setString(++i, r.mdc() == null ? null : clean(new com.fasterxml.jackson.databind.ObjectMapper()
            .valueToTree(r.mdc()).toString()));
        s.setString(++i, clean(r.feature()));
        s.setString(++i, clean(r.run()));
        s.setString(++i, clean(r.job()));
        s.setString(++i, clean(r.room()));
        s.setString(++i, clean(r.stream()));
        s.addBatch();
      }
      for (int k : s.executeBatch()) {
        n += k == java.sql.Statement.SUCCESS_NO_INFO ? 1 : Math.max(0, k);
      }
    }
    return n;
  }

  private static long copyChunks(Connection c, MongoCollection<Document> from) throws SQLException {
    long copied = 0;
    try (PreparedStatement s = c.prepareStatement(INSERT_CHUNK)) {
      int pending = 0;
      for (Document d : from.find().batchSize(BATCH)) {
        if (d.getString("run") == null || d.get("attempt") == null || d.get("seq") == null) {
          continue;
        }
        Date at = d.getDate("at");
        s.setString(1, d.getString("run"));
        s.setInt(2, ((Number) d.get("attempt")).intValue());
        s.setLong(3, ((Number) d.get("seq")).longValue());
        s.setString(4, clean(d.getString("job")));
        s.setString(5, d.getString("stream") == null ? "stdout" : d.getString("stream"));
        s.setString(6, d.getString("text") == null ? "" : clean(d.getString("text")));
        s.setObject(7, (at == null ? new Date() : at).toInstant().atOffset(java.time.ZoneOffset.UTC),
            java.sql.Types.TIMESTAMP_WITH_TIMEZONE);
        s.addBatch();
        if (++pending == BATCH) {
          copied += sum(s.executeBatch());
          pending = 0;
        }
      }
      if (pending > 0) {
        copied += sum(s.executeBatch());
      }
    }
    return copied;
  }

  private static long sum(int[] counts) {
    long n = 0;
    for (int k : counts) {
      n += k == java.sql.Statement.SUCCESS_NO_INFO ? 1 : Math.max(0, k);
    }
    return n;
  }

  private static String clean(String s) {
    return s == null ? null : s.replace("\u0000", "");
  }

  /** Logs what a pass did. */
  public static void report(Result r) {
    if (r.ran()) {
      log.info("copied {} log lines and {} run output chunks of the older MongoDB log store into PostgreSQL; the "
          + "MongoDB collections are dropped", r.lines(), r.chunks());
    }
  }
}
