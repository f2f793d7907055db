package heyken.actors.postgres;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import javax.sql.DataSource;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.actor.typed.Extension;
import org.apache.pekko.actor.typed.ExtensionId;
import org.flywaydb.core.Flyway;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A core's connection pool to the log store (PostgreSQL), one per ActorSystem. At creation it starts migrating the
 * schema (Flyway, {@code db/migration}), retrying while the server is away; {@link #ready()} completes once the
 * schema is current. Every call runs on {@code heyken-postgres-dispatcher}, apart from the MongoDB calls, so that a
 * slow or absent PostgreSQL never holds the threads of the lease or the journal. A server that is down makes a call
 * fail within {@code connect-timeout} with an {@link Unavailable}.
 */
public final class PostgresDatabase implements Extension, AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(PostgresDatabase.class);
  public static final String DISPATCHER = "heyken-postgres-dispatcher";
  /** The read-only role of text2sql: Flyway placeholders {@code ${query_role}} and {@code ${query_password}}. */
  public static final String QUERY_ROLE = "heyken_query";

  /** A JDBC call that may throw. */
  @FunctionalInterface
  public interface SqlCall<T> {
    T apply(Connection connection) throws SQLException;
  }

  /** The log store cannot be reached (or its schema is not ready yet): the Logger API answers 503. */
  public static final class Unavailable extends RuntimeException {
    public Unavailable(String detail, Throwable cause) {
      super(detail, cause);
    }
  }

  private final PostgresSettings settings;
  private final HikariDataSource pool;
  private final Executor executor;
  private final CompletableFuture<Integer> ready = new CompletableFuture<>();
  private final ScheduledExecutorService retries = Executors.newSingleThreadScheduledExecutor(r -> {
    Thread t = new Thread(r, "heyken-postgres-migrate");
    t.setDaemon(true);
    return t;
  });
  private volatile boolean closed;

  public PostgresDatabase(PostgresSettings settings, Executor executor) {
    this.settings = settings;
    this.executor = executor;
    this.pool = new HikariDataSource(poolConfig(settings));
  }

  private static HikariConfig poolConfig(PostgresSettings s) {
    var c = new HikariConfig();
    c.setPoolName("heyken-postgres");
    c.setJdbcUrl(s.jdbcUrl());
    c.setUsername(s.user());
    c.setPassword(s.password());
    c.setMaximumPoolSize(s.poolSize());
    c.setMinimumIdle(1);
    c.setConnectionTimeout(Math.max(250, s.connectTimeout().toMillis()));
    c.setValidationTimeout(Math.max(250, Math.min(s.connectTimeout().toMillis(), 2000)));
    // the server may be down when the core starts: the pool starts anyway and connects on demand
    c.setInitializationFailTimeout(-1);
    c.addDataSourceProperty("connectTimeout", String.valueOf(Math.max(1, s.connectTimeout().toSeconds())));
    c.addDataSourceProperty("socketTimeout", "120");
    c.addDataSourceProperty("tcpKeepAlive", "true");
    c.addDataSourceProperty("ApplicationName", "heyken-core");
    c.addDataSourceProperty("reWriteBatchedInserts", "true");
    return c;
  }

  /** Starts migrating the schema now, and again every {@code migrate-retry-interval} until it worked. */
  public PostgresDatabase startMigrating() {
    retries.execute(this::migrateOnce);
    return this;
  }

  private void migrateOnce() {
    if (closed || ready.isDone()) {
      return;
    }
    try {
      int applied = migrate(pool, settings);
      log.info("log store schema is current at {} ({} migrations applied now)", settings.redactedUrl(), applied);
      ready.complete(applied);
    } catch (RuntimeException e) {
      log.warn("log store {} is not reachable or its schema could not be migrated, retrying in {} ms "
              + "(log lines wait in the buffer; check that heyken-pg runs: scripts/status.sh): {}",
          settings.redactedUrl(), settings.migrateRetryInterval().toMillis(), rootMessage(e));
      if (!closed) {
        retries.schedule(this::migrateOnce, settings.migrateRetryInterval().toMillis(), TimeUnit.MILLISECONDS);
      }
    }
  }

  /** Applies the migrations of {@code db/migration} (idempotent; Flyway's lock serialises two cores). */
  public static int migrate(DataSource dataSource, PostgresSettings settings) {
    var flyway = Flyway.configure()
        .dataSource(dataSource)
        .locations("classpath:db/migration")
        .placeholders(Map.of("query_role", QUERY_ROLE, "query_password", settings.queryPassword()))
        .connectRetries(0)
        .load();
    return flyway.migrate().migrationsExecuted;
  }

  /** Completes when the schema is current; never fails (it retries until the server is there). */
  public CompletionStage<Integer> ready() {
    return ready;
  }

  public boolean isReady() {
    return ready.isDone() && !ready.isCompletedExceptionally();
  }

  public PostgresSettings settings() {
    return settings;
  }

  public DataSource dataSource() {
    return pool;
  }

  public Executor executor() {
    return executor;
  }

  /** A blocking call with a connection of the pool, on the PostgreSQL dispatcher; {@link Unavailable} when down. */
  public <T> CompletionStage<T> async(SqlCall<T> call) {
    return CompletableFuture.supplyAsync(() -> withConnection(call), executor);
  }

  /**
   * A read-only call in its own transaction with {@code statement_timeout} set (Logger API queries: a huge scan is
   * cancelled by the server, never left running).
   */
  public <T> CompletionStage<T> read(SqlCall<T> call) {
    return async(c -> inTransaction(c, tx -> {
      try (Statement s = tx.createStatement()) {
        // one round trip for both (a page of 10 lines takes a few of them in all)
        s.execute("SET TRANSACTION READ ONLY; SET LOCAL statement_timeout = " + settings.statementTimeout().toMillis());
      }
      return call.apply(tx);
    }));
  }

  /** Runs {@code body} in one transaction of {@code c}: committed when it returns, rolled back when it throws. */
  public static <T> T inTransaction(Connection c, SqlCall<T> body) throws SQLException {
    boolean auto = c.getAutoCommit();
    c.setAutoCommit(false);
    try {
      T result = body.apply(c);
      c.commit();
      return result;
    } catch (SQLException | RuntimeException e) {
      try {
        c.rollback();
      } catch (SQLException gone) {
        // the connection broke: the transaction is gone with it; the first error says why
      }
      throw e;
    } finally {
      try {
        c.setAutoCommit(auto);
      } catch (SQLException gone) {
        // a broken connection is evicted by the pool
      }
    }
  }

  /** Runs a call now on this thread (callers already on a blocking thread). */
  public <T> T withConnection(SqlCall<T> call) {
    if (!ready.isDone()) {
      throw new Unavailable("the log store's schema is not ready yet (PostgreSQL " + settings.redactedUrl()
          + " not reached since this core started)", null);
    }
    try (Connection c = pool.getConnection()) {
      return call.apply(c);
    } catch (SQLException e) {
      if (isConnectionProblem(e)) {
        throw new Unavailable("the log store (PostgreSQL " + settings.redactedUrl() + ") is unreachable: "
            + rootMessage(e), e);
      }
      throw new CompletionException(e);
    }
  }

  /** SQL states of a server that is away, shutting down or overloaded: worth retrying, never the statement's fault. */
  public static boolean isConnectionProblem(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
      if (t instanceof SQLException s) {
        String state = s.getSQLState();
        if (state != null && (state.startsWith("08") || state.startsWith("57P") || state.startsWith("53"))) {
          return true;
        }
        if (t instanceof java.sql.SQLTransientConnectionException || t instanceof java.sql.SQLRecoverableException) {
          return true; // the pool's "connection is not available, request timed out"
        }
        String m = s.getMessage();
        if (m != null && (m.contains("onnection is closed") || m.contains("has been closed"))) {
          return true;
        }
      }
      if (t instanceof Unavailable || t instanceof java.net.ConnectException || t instanceof java.io.EOFException) {
        return true;
      }
    }
    return false;
  }

  public static String rootMessage(Throwable e) {
    Throwable t = e;
    while (t.getCause() != null && t.getCause() != t) {
      t = t.getCause();
    }
    return t.getClass().getSimpleName() + ": " + t.getMessage();
  }

  @Override
  public void close() {
    closed = true;
    retries.shutdownNow();
    pool.close();
  }

  public static PostgresDatabase get(ActorSystem<?> system) {
    return Id.INSTANCE.apply(system);
  }

  private static final class Id extends ExtensionId<PostgresDatabase> {
    static final Id INSTANCE = new Id();

    @Override
    public PostgresDatabase createExtension(ActorSystem<?> system) {
      var db = new PostgresDatabase(PostgresSettings.from(system.settings().config()),
          system.dispatchers().lookup(DispatcherSelector.fromConfig(DISPATCHER)));
      system.getWhenTerminated().thenRun(db::close);
      return db.startMigrating();
    }
  }

  /** How long a caller should wait for {@link #ready()} in tests and tools. */
  public static final Duration READY_WAIT = Duration.ofSeconds(30);
}
