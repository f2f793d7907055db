package heyken.actors.logs.question;

import heyken.actors.postgres.PostgresDatabase;
import heyken.actors.postgres.PostgresSettings;
import heyken.testkit.postgres.PostgresServer;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;

/** A fresh database on the shared test PostgreSQL, migrated, with a default partition, and seeding helpers. */
final class QuestionDatabase {

  private QuestionDatabase() {}

  static PostgresSettings settings(PostgresServer server, String database) {
    String queryPassword = server.environment(database).get("HEYKEN_POSTGRES_QUERY_PASSWORD");
    return new PostgresSettings("", server.host(), server.port(), database, server.user(), server.password(),
        queryPassword, 4, Duration.ofSeconds(2), Duration.ofSeconds(5), Duration.ofSeconds(2), 2);
  }

  /** Migrated and ready, with a default partition of log_lines (the cores create day partitions; tests need none). */
  static PostgresDatabase create(String prefix, Executor executor) {
    var server = PostgresServer.shared();
    String database = server.createDatabase(prefix);
    var db = new PostgresDatabase(settings(server, database), executor).startMigrating();
    try {
      db.ready().toCompletableFuture().get(60, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new IllegalStateException("the test database did not migrate: " + e, e);
    }
    db.withConnection(c -> {
      c.createStatement().execute("CREATE TABLE IF NOT EXISTS log_lines_default PARTITION OF log_lines DEFAULT");
      return null;
    });
    return db;
  }

  static void line(Connection c, Instant ts, String level, String component, int core, String feature,
      String message) throws SQLException {
    int num = switch (level) {
      case "ERROR" -> 4;
      case "WARN" -> 3;
      case "INFO" -> 2;
      case "DEBUG" -> 1;
      default -> 0;
    };
    try (var s = c.prepareStatement("INSERT INTO log_lines (ts, level, level_num, core, epoch, component, logger, "
        + "thread, message, mdc, feature, run) VALUES (?, ?, ?, ?, 7, ?, ?, 't', ?, ?::jsonb, ?, ?)")) {
      s.setTimestamp(1, Timestamp.from(ts));
      s.setString(2, level);
      s.setInt(3, num);
      s.setInt(4, core);
      s.setString(5, component);
      s.setString(6, "heyken." + component + ".X");
      s.setString(7, message);
      s.setString(8, feature == null ? null : "{\"feature\":\"" + feature + "\",\"run\":\"r1\"}");
      s.setString(9, feature);
      s.setString(10, feature == null ? null : "r1");
      s.executeUpdate();
    }
  }

  static void feature(Connection c, String id, String name) throws SQLException {
    try (var s = c.prepareStatement("INSERT INTO projected_features (feature_id, name, created_at, last_seq) "
        + "VALUES (?, ?, now(), 1)")) {
      s.setString(1, id);
      s.setString(2, name);
      s.executeUpdate();
    }
  }

  static void run(Connection c, String runId, String featureId, String status, Instant startedAt, long durationMs)
      throws SQLException {
    try (var s = c.prepareStatement("INSERT INTO projected_runs (run_id, feature_id, revision, status, attempts, core, "
        + "job_count, started_at, finished_at, last_seq) VALUES (?, ?, 'abc', ?, 1, 1, 1, ?, ?, 9)")) {
      s.setString(1, runId);
      s.setString(2, featureId);
      s.setString(3, status);
      s.setTimestamp(4, Timestamp.from(startedAt));
      s.setTimestamp(5, Timestamp.from(startedAt.plusMillis(durationMs)));
      s.executeUpdate();
    }
  }

  static void job(Connection c, String runId, int index, String status, String reason, Instant startedAt,
      long durationMs) throws SQLException {
    try (var s = c.prepareStatement("INSERT INTO projected_jobs (run_id, job_index, name, stage, status, reason, "
        + "exit_code, backend, image, attempt, core, started_at, finished_at, duration_ms) VALUES (?, ?, ?, 'test', ?, "
        + "?, ?, 'bubblewrap', 'sandbox/python:1', 1, 1, ?, ?, ?)")) {
      s.setString(1, runId);
      s.setInt(2, index);
      s.setString(3, "job" + index);
      s.setString(4, status);
      s.setString(5, reason);
      s.setInt(6, "ok".equals(reason) ? 0 : 1);
      s.setTimestamp(7, Timestamp.from(startedAt));
      s.setTimestamp(8, Timestamp.from(startedAt.plusMillis(durationMs)));
      s.setLong(9, durationMs);
      s.executeUpdate();
    }
  }
}
