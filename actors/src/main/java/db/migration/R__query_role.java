package db.migration;

import heyken.actors.postgres.PostgresDatabase;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Savepoint;
import java.sql.Statement;
import java.util.List;
import org.flywaydb.core.api.migration.BaseJavaMigration;
import org.flywaydb.core.api.migration.Context;
import org.postgresql.PGConnection;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The read-only role of text2sql ({@code heyken_query}): LOGIN with {@code heyken.postgres.query-password}, read-only
 * transactions by default, a statement timeout, USAGE on the schema and SELECT on the three views
 * {@code logs}, {@code test_runs}, {@code sandbox_jobs} only. A repeatable Flyway migration: it runs again whenever
 * {@link #GRANTS_VERSION} changes; the password is set again at every start ({@link #setPassword}). The password is never written into SQL text: the driver computes
 * its SCRAM verifier ({@code PGConnection.alterUserPassword}).
 *
 * <p>Statements that need more than the schema owner's rights (revoking PUBLIC's rights on the schema or the database
 * on a server where the core's user does not own them) are tried one by one and only logged when refused, so that the
 * log store's migration never fails because of them; docs/text2sql.md says what an administrator runs instead.
 */
public class R__query_role extends BaseJavaMigration {

  private static final Logger log = LoggerFactory.getLogger(R__query_role.class);
  /** Raise when the statements below change: the migration then runs again on every installation. */
  static final int GRANTS_VERSION = 1;
  public static final List<String> VIEWS = List.of("logs", "test_runs", "sandbox_jobs");
  static final String ROLE = PostgresDatabase.QUERY_ROLE;

  @Override
  public Integer getChecksum() {
    return GRANTS_VERSION;
  }

  @Override
  public boolean canExecuteInTransaction() {
    return true;
  }

  @Override
  public void migrate(Context context) throws Exception {
    Connection c = context.getConnection();
    String password = context.getConfiguration().getPlaceholders().getOrDefault("query_password", "");
    boolean login = !password.isEmpty();
    String attributes = (login ? "LOGIN" : "NOLOGIN")
        + " NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS NOINHERIT CONNECTION LIMIT 16";
    try (Statement s = c.createStatement()) {
      s.execute("DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '" + ROLE + "') THEN "
          + "CREATE ROLE " + ROLE + " " + attributes + "; END IF; END $$");
      s.execute("ALTER ROLE " + ROLE + " " + attributes);
      s.execute("ALTER ROLE " + ROLE + " SET default_transaction_read_only = on");
      s.execute("ALTER ROLE " + ROLE + " SET statement_timeout = '10s'");
      s.execute("ALTER ROLE " + ROLE + " SET idle_in_transaction_session_timeout = '30s'");
      s.execute("ALTER ROLE " + ROLE + " SET search_path = public");
      s.execute("ALTER ROLE " + ROLE + " SET work_mem = '16MB'");
      s.execute("REVOKE ALL ON ALL TABLES IN SCHEMA public FROM " + ROLE);
      s.execute("REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM " + ROLE);
      s.execute("GRANT USAGE ON SCHEMA public TO " + ROLE);
      s.execute("GRANT SELECT ON " + String.join(", ", VIEWS) + " TO " + ROLE);
      s.execute("DO $$ BEGIN EXECUTE format('GRANT CONNECT ON DATABASE %I TO " + ROLE + "', current_database()); "
          + "END $$");
    }
    // PUBLIC's defaults: CREATE on the schema (already gone in PostgreSQL 15) and TEMPORARY on the database, which
    // would let the role write temporary tables in a transaction it made read-write
    bestEffort(c, "REVOKE CREATE ON SCHEMA public FROM PUBLIC");
    bestEffort(c, "DO $$ BEGIN EXECUTE format('REVOKE TEMPORARY ON DATABASE %I FROM PUBLIC', current_database()); "
        + "END $$");
    if (login) {
      setPassword(c, password);
    }
    log.info("read-only role {} of text2sql is set up (login={}, SELECT on {})", ROLE, login, VIEWS);
  }

  private static void bestEffort(Connection c, String sql) throws SQLException {
    Savepoint sp = c.setSavepoint();
    try (Statement s = c.createStatement()) {
      s.execute(sql);
      c.releaseSavepoint(sp);
    } catch (SQLException e) {
      c.rollback(sp);
      log.warn("text2sql role setup: '{}' was refused ({}); the role still has no rights beyond the three views, "
          + "but an administrator should run it once as the owner (docs/text2sql.md)", sql, e.getMessage());
    }
  }

  /**
   * Sets the role's password (and LOGIN) from the configured one: at the migration and at every start (a password
   * changed in .env takes effect). The driver computes the SCRAM verifier, so the password is never in SQL text.
   */
  public static void setPassword(Connection c, String password) throws SQLException {
    c.unwrap(PGConnection.class).alterUserPassword(ROLE, password.toCharArray(), "scram-sha-256");
    try (Statement s = c.createStatement()) {
      s.execute("ALTER ROLE " + ROLE + " LOGIN");
    }
  }
}
