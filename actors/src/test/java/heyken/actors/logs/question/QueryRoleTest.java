package heyken.actors.logs.question;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import heyken.actors.postgres.PostgresDatabase;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The second layer: the hostile statements of the guard's corpus run directly as {@code heyken_query} against a real
 * PostgreSQL, without the guard. Each fails with a permission, read-only, unknown-function or timeout error, and the
 * data is the same afterwards.
 */
class QueryRoleTest {

  private static ExecutorService executor;
  private static PostgresDatabase db;

  /** SQLSTATEs a refused statement may end with. */
  private static final Set<String> REFUSED = Set.of(
      "42501",  // insufficient_privilege
      "25006",  // read_only_sql_transaction
      "42883",  // undefined_function (dblink is not installed, and the role cannot install it)
      "57014"); // query_canceled by statement_timeout (pg_sleep, the cross join)

  static final Map<String, String> STATEMENTS = new LinkedHashMap<>();

  static {
    STATEMENTS.put("DROP TABLE log_lines", "42501|25006");
    STATEMENTS.put("DROP VIEW logs", "42501|25006");
    STATEMENTS.put("DELETE FROM logs", "42501|25006");
    STATEMENTS.put("DELETE FROM log_lines", "42501|25006");
    STATEMENTS.put("UPDATE log_lines SET message = 'x'", "42501|25006");
    STATEMENTS.put("INSERT INTO log_lines (ts, level, level_num) VALUES (now(), 'INFO', 2)", "42501|25006");
    STATEMENTS.put("TRUNCATE log_lines", "42501|25006");
    STATEMENTS.put("SELECT 1; DELETE FROM logs", "42501|25006");
    STATEMENTS.put("COPY (SELECT * FROM logs) TO PROGRAM 'id'", "42501|25006");
    STATEMENTS.put("COPY log_lines TO '/tmp/heyken-stolen'", "42501|25006");
    STATEMENTS.put("SELECT pg_read_file('/etc/passwd')", "42501");
    STATEMENTS.put("SELECT lo_import('/etc/passwd')", "42501|25006");
    STATEMENTS.put("SELECT * FROM dblink('host=127.0.0.1', 'SELECT 1') AS t(a int)", "42883");
    STATEMENTS.put("CREATE EXTENSION dblink", "42501|25006");
    STATEMENTS.put("SET ROLE heyken", "42501");
    STATEMENTS.put("WITH gone AS (DELETE FROM logs RETURNING *) SELECT count(*) FROM gone", "42501|25006");
    STATEMENTS.put("SELECT * FROM logs FOR UPDATE", "42501|25006");
    STATEMENTS.put("SELECT * INTO stolen FROM logs", "42501|25006");
    STATEMENTS.put("SELECT rolname, rolpassword FROM pg_authid", "42501");
    STATEMENTS.put("SELECT usename, passwd FROM pg_shadow", "42501");
    STATEMENTS.put("SELECT * FROM log_lines", "42501");
    STATEMENTS.put("SELECT * FROM projected_runs", "42501");
    STATEMENTS.put("SELECT * FROM projection_offsets", "42501");
    STATEMENTS.put("SELECT current_setting('data_directory')", "42501");
    STATEMENTS.put("SELECT pg_sleep(30)", "57014");
    STATEMENTS.put("SELECT count(*) FROM logs a, logs b, logs c, logs d, logs e", "57014");
    STATEMENTS.put("ALTER ROLE heyken_query SET default_transaction_read_only = off", "42501|25006");
    STATEMENTS.put("CREATE TEMP TABLE t (a int)", "42501|25006");
  }

  @BeforeAll
  static void start() throws Exception {
    executor = Executors.newFixedThreadPool(2);
    db = QuestionDatabase.create("role", executor);
    db.withConnection(c -> {
      c.createStatement().execute("INSERT INTO log_lines (ts, level, level_num, component, message) SELECT now() - "
          + "g * INTERVAL '1 second', 'INFO', 2, 'core', 'line ' || g FROM generate_series(1, 2000) g");
      // the planner's estimates (the cost bound) need statistics; autovacuum gathers them on a running installation
      c.createStatement().execute("ANALYZE log_lines");
      return null;
    });
    ReadOnlyQueries.applyPassword(db);
  }

  @AfterAll
  static void stop() {
    db.close();
    executor.shutdownNow();
  }

  private static Connection asQueryRole() throws SQLException {
    var s = db.settings();
    var c = DriverManager.getConnection(s.jdbcUrl(), PostgresDatabase.QUERY_ROLE, s.queryPassword());
    try (var st = c.createStatement()) {
      st.execute("SET statement_timeout = '1s'"); // the role's own default is longer; the test need not wait it out
    }
    return c;
  }

  private static String fingerprint() {
    return db.withConnection(c -> {
      try (var rs = c.createStatement().executeQuery("SELECT count(*), md5(string_agg(message, ',' ORDER BY id)) "
          + "FROM log_lines")) {
        rs.next();
        return rs.getLong(1) + ":" + rs.getString(2);
      }
    });
  }

  @Test
  void everyHostileStatementFailsByTheRolesRightsAndNothingChanges() throws Exception {
    String before = fingerprint();
    for (var e : STATEMENTS.entrySet()) {
      try (var c = asQueryRole(); var s = c.createStatement()) {
        s.execute(e.getKey());
        fail("ran as " + PostgresDatabase.QUERY_ROLE + ": " + e.getKey());
      } catch (SQLException refused) {
        String state = refused.getSQLState();
        assertTrue(REFUSED.contains(state) && List.of(e.getValue().split("\\|")).contains(state),
            () -> e.getKey() + " failed with " + state + " (" + refused.getMessage() + "), expected " + e.getValue());
      }
    }
    assertEquals(before, fingerprint(), "the log lines are unchanged");
  }

  @Test
  void theRoleReadsTheThreeViewsOnlyInReadOnlyTransactions() throws Exception {
    try (var c = asQueryRole(); var s = c.createStatement()) {
      for (String view : List.of("logs", "test_runs", "sandbox_jobs")) {
        try (var rs = s.executeQuery("SELECT count(*) FROM " + view)) {
          assertTrue(rs.next());
        }
      }
      try (var rs = s.executeQuery("SHOW default_transaction_read_only")) {
        rs.next();
        assertEquals("on", rs.getString(1));
      }
      try (var rs = s.executeQuery("SELECT rolsuper, rolcreaterole, rolcreatedb, rolbypassrls FROM pg_roles WHERE "
          + "rolname = current_user")) {
        rs.next();
        assertEquals(List.of(false, false, false, false), List.of(rs.getBoolean(1), rs.getBoolean(2), rs.getBoolean(3),
            rs.getBoolean(4)));
      }
    }
  }

  @Test
  void turningReadOnlyOffInItsSessionStillWritesNothing() throws Exception {
    String before = fingerprint();
    try (var c = asQueryRole(); var s = c.createStatement()) {
      s.execute("SELECT set_config('default_transaction_read_only', 'off', false)");
      for (String write : List.of("DELETE FROM logs", "INSERT INTO log_lines (ts, level, level_num) VALUES (now(), "
          + "'INFO', 2)", "CREATE TABLE stolen (a int)", "CREATE TEMP TABLE t (a int)")) {
        try {
          s.execute(write);
          fail("wrote as " + PostgresDatabase.QUERY_ROLE + ": " + write);
        } catch (SQLException refused) {
          assertEquals("42501", refused.getSQLState(), () -> write + ": " + refused.getMessage());
        }
      }
    }
    assertEquals(before, fingerprint());
  }

  @Test
  void theRunnerRefusesAStatementWhosePlanCostsTooMuch() throws Exception {
    try (var queries = new ReadOnlyQueries(db.settings(), java.time.Duration.ofSeconds(5), 1e6, 500)) {
      var e = org.junit.jupiter.api.Assertions.assertThrows(ReadOnlyQueries.Failed.class,
          () -> queries.run("SELECT count(*) FROM logs a, logs b, logs c"));
      assertTrue(e.getMessage().contains("more than the bound"), e.getMessage());
      assertEquals(2000L, ((Number) queries.run("SELECT count(*) AS n FROM logs").records().get(0).get("n"))
          .longValue());
    }
  }
}
