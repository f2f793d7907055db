package heyken.actors.logs.question;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import heyken.actors.postgres.PostgresDatabase;
import heyken.actors.postgres.PostgresSettings;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs the model's checked SQL as the read-only role {@code heyken_query} through its own small pool: each statement
 * in a read-only transaction with {@code statement_timeout}, after an {@code EXPLAIN} whose estimated cost must stay
 * under a bound, and with a row cap. The role itself may read the three views only (R__query_role), so a statement
 * the {@link SqlGuard} let through by mistake still cannot write or read anything else.
 */
final class ReadOnlyQueries implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(ReadOnlyQueries.class);
  private static final ObjectMapper JSON = new ObjectMapper();

  /** The columns and rows of a result, values as JSON-friendly Java values. */
  record Table(List<String> columns, List<Map<String, Object>> records) {}

  /** The statement was refused before it ran (the cost bound), or failed as SQL (fed back to the model). */
  static final class Failed extends Exception {
    Failed(String message) {
      super(message);
    }
  }

  private final PostgresSettings settings;
  private final Duration timeout;
  private final double maxCost;
  private final int maxRows;
  private volatile HikariDataSource pool;

  ReadOnlyQueries(PostgresSettings settings, Duration timeout, double maxCost, int maxRows) {
    this.settings = settings;
    this.timeout = timeout;
    this.maxCost = maxCost;
    this.maxRows = maxRows;
  }

  /** Without a password for the role (HEYKEN_POSTGRES_QUERY_PASSWORD) the model's SQL is never run. */
  boolean configured() {
    return !settings.queryPassword().isEmpty();
  }

  /**
   * Sets the role's password from the configuration (a changed .env takes effect at the next start), as the schema's
   * owner; once, after the migrations. Blocking.
   */
  static void applyPassword(PostgresDatabase store) {
    if (store.settings().queryPassword().isEmpty()) {
      log.warn("HEYKEN_POSTGRES_QUERY_PASSWORD is empty: the model's SQL is not run and text2sql answers with the "
          + "structured query only; run scripts/init.sh to generate it");
      return;
    }
    try {
      store.withConnection(c -> {
        db.migration.R__query_role.setPassword(c, store.settings().queryPassword());
        return null;
      });
    } catch (RuntimeException e) {
      log.warn("could not set the password of the read-only role {} ({}); the model's SQL will fail to connect and "
          + "text2sql falls back to the structured query; give the core's PostgreSQL user CREATEROLE or set the "
          + "password as an administrator (docs/text2sql.md)", PostgresDatabase.QUERY_ROLE,
          PostgresDatabase.rootMessage(e));
    }
  }

  private HikariDataSource pool() {
    var p = pool;
    if (p == null) {
      synchronized (this) {
        if (pool == null) {
          var c = new HikariConfig();
          c.setPoolName("heyken-query");
          c.setJdbcUrl(settings.jdbcUrl());
          c.setUsername(PostgresDatabase.QUERY_ROLE);
          c.setPassword(settings.queryPassword());
          c.setMaximumPoolSize(2);
          c.setMinimumIdle(0);
          c.setReadOnly(true);
          c.setAutoCommit(false);
          c.setConnectionTimeout(Math.max(250, settings.connectTimeout().toMillis()));
          c.setValidationTimeout(Math.max(250, Math.min(settings.connectTimeout().toMillis(), 2000)));
          c.setInitializationFailTimeout(-1);
          c.addDataSourceProperty("connectTimeout", String.valueOf(Math.max(1, settings.connectTimeout().toSeconds())));
          c.addDataSourceProperty("ApplicationName", "heyken-text2sql");
          pool = new HikariDataSource(c);
        }
        p = pool;
      }
    }
    return p;
  }

  /** Blocking: run it on the PostgreSQL dispatcher. */
  Table run(String sql) throws Failed {
    try (Connection c = pool().getConnection()) {
      try (Statement s = c.createStatement()) {
        s.execute("SET TRANSACTION READ ONLY");
        s.execute("SET LOCAL statement_timeout = " + timeout.toMillis());
        double cost = cost(s, sql);
        if (cost > maxCost) {
          c.rollback();
          throw new Failed("the planner estimates a cost of " + Math.round(cost) + ", more than the bound "
              + Math.round(maxCost) + ": read fewer rows (a shorter time range, a narrower filter, no cross join)");
        }
        s.setMaxRows(maxRows);
        s.setFetchSize(Math.min(maxRows, 500));
        try (ResultSet rs = s.executeQuery(sql)) {
          Table table = table(rs);
          c.commit();
          return table;
        }
      } catch (SQLException e) {
        rollback(c);
        throw e;
      }
    } catch (SQLException e) {
      if (PostgresDatabase.isConnectionProblem(e)) {
        throw new PostgresDatabase.Unavailable("the log store (PostgreSQL " + settings.redactedUrl()
            + ") is unreachable as " + PostgresDatabase.QUERY_ROLE + ": " + PostgresDatabase.rootMessage(e), e);
      }
      if ("57014".equals(e.getSQLState())) {
        throw new Failed("the statement ran longer than " + timeout.toSeconds() + " s and was cancelled");
      }
      throw new Failed("PostgreSQL refused it: " + SqlGuard.firstLine(e.getMessage())
          + (e.getSQLState() == null ? "" : " (SQLSTATE " + e.getSQLState() + ")"));
    }
  }

  private static double cost(Statement s, String sql) throws SQLException {
    try (ResultSet rs = s.executeQuery("EXPLAIN (FORMAT JSON) " + sql)) {
      if (!rs.next()) {
        return 0;
      }
      try {
        JsonNode plan = JSON.readTree(rs.getString(1));
        return plan.path(0).path("Plan").path("Total Cost").asDouble(0);
      } catch (java.io.IOException e) {
        throw new SQLException("unreadable EXPLAIN output", e);
      }
    }
  }

  private static void rollback(Connection c) {
    try {
      c.rollback();
    } catch (SQLException ignored) {
      // the connection is broken: the pool drops it
    }
  }

  static Table table(ResultSet rs) throws SQLException {
    ResultSetMetaData meta = rs.getMetaData();
    int n = meta.getColumnCount();
    var columns = new ArrayList<String>(n);
    for (int i = 1; i <= n; i++) {
      columns.add(meta.getColumnLabel(i));
    }
    var records = new ArrayList<Map<String, Object>>();
    while (rs.next()) {
      var row = new LinkedHashMap<String, Object>();
      for (int i = 1; i <= n; i++) {
        row.put(columns.get(i - 1), value(rs, i, meta.getColumnTypeName(i)));
      }
      records.add(row);
    }
    return new Table(columns, records);
  }

  private static Object value(ResultSet rs, int i, String type) throws SQLException {
    Object v = rs.getObject(i);
    if (v == null) {
      return null;
    }
    switch (type) {
      case "timestamptz":
        return rs.getObject(i, OffsetDateTime.class).toInstant().toString();
      case "timestamp", "date", "time", "interval":
        return rs.getString(i);
      case "json", "jsonb":
        try {
          return JSON.readTree(rs.getString(i));
        } catch (java.io.IOException e) {
          return rs.getString(i);
        }
      default:
        break;
    }
    if (v instanceof Number || v instanceof Boolean || v instanceof String) {
      return v;
    }
    return rs.getString(i);
  }

  @Override
  public void close() {
    var p = pool;
    if (p != null) {
      p.close();
    }
  }
}
