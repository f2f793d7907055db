package heyken.actors.support;

import heyken.actors.logs.LogRow;
import heyken.actors.logs.LogSettings;
import heyken.actors.logs.LogStore;
import heyken.actors.logs.LogWriter;
import heyken.actors.postgres.PostgresDatabase;
import heyken.actors.postgres.PostgresSettings;
import heyken.testkit.postgres.PostgresServer;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

/**
 * A log store on a fresh database of a real PostgreSQL (the JVM's shared test server unless one is given): the
 * schema migrated, a {@link LogWriter} (the ingest path's COPY) and a {@link LogStore} (the Logger API's reads).
 */
public final class TestLogStore implements AutoCloseable {

  private final PostgresServer server;
  private final String database;
  private final ExecutorService executor = Executors.newFixedThreadPool(8);
  private final PostgresDatabase db;
  private final LogWriter writer;
  private final LogStore store;

  public TestLogStore(LogSettings settings) {
    this(PostgresServer.shared(), settings);
  }

  public TestLogStore(PostgresServer server, LogSettings settings) {
    this(server, settings, server.createDatabase("logs"));
  }

  /**
   * On a fresh database of the shared server whose encoding is UTF8 and whose ctype and collation are
   * {@code locale} (the test server's own databases have none; heyken-pg's is C.UTF-8).
   */
  public static TestLogStore withLocale(LogSettings settings, String locale) {
    var server = PostgresServer.shared();
    String name = "logs_" + locale.toLowerCase().replaceAll("[^a-z0-9]", "_") + "_" + System.nanoTime();
    try (var c = server.connect("postgres"); var s = c.createStatement()) {
      s.execute("CREATE DATABASE " + name + " TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE '" + locale
          + "' LC_CTYPE '" + locale + "'");
    } catch (java.sql.SQLException e) {
      throw new IllegalStateException("could not create a database with the locale " + locale + ": " + e, e);
    }
    return new TestLogStore(server, settings, name);
  }

  private TestLogStore(PostgresServer server, LogSettings settings, String database) {
    this.server = server;
    this.database = database;
    this.db = new PostgresDatabase(PostgresSettings.of(server.host(), server.port(), database, server.user(),
        server.password()), executor).startMigrating();
    try {
      db.ready().toCompletableFuture().get(60, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new IllegalStateException("the log store schema was not migrated: " + e, e);
    }
    this.writer = new LogWriter(db);
    this.store = new LogStore(db, settings);
  }

  public PostgresServer server() {
    return server;
  }

  public String database() {
    return database;
  }

  public PostgresDatabase db() {
    return db;
  }

  public LogWriter writer() {
    return writer;
  }

  public LogStore store() {
    return store;
  }

  /** Stores the rows as the shipper does (one COPY). */
  public void write(List<LogRow> rows) {
    writer.write(rows);
  }

  /** A line as the appender makes it (the MDC's feature, run, job, room, stream also as columns). */
  public static LogRow row(Instant at, String level, String component, String message, Map<String, String> mdc) {
    return new LogRow(heyken.actors.logs.LogBuffer.nextId(1), LogRow.micros(at), level, 1, 3L, component,
        "heyken.actors." + component + ".X", "t", message, null, mdc.isEmpty() ? null : mdc, mdc.get("feature"),
        mdc.get("run"), mdc.get("job"), mdc.get("room"), mdc.get("stream"));
  }

  /** How many lines the table holds (all partitions). */
  public long count() {
    return db.withConnection(c -> {
      try (var rs = c.createStatement().executeQuery("SELECT count(*) FROM log_lines")) {
        rs.next();
        return rs.getLong(1);
      }
    });
  }

  /** The messages stored, in no particular order. */
  public List<String> messages() {
    return db.withConnection(c -> {
      var out = new java.util.ArrayList<String>();
      try (var rs = c.createStatement().executeQuery("SELECT message FROM log_lines")) {
        while (rs.next()) {
          out.add(rs.getString(1));
        }
      }
      return out;
    });
  }

  @Override
  public void close() {
    db.close();
    executor.shutdownNow();
  }
}
