package heyken.actors.postgres;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import heyken.testkit.postgres.PostgresServer;
import java.util.ArrayList;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class PostgresDatabaseTest {

  private static PostgresSettings settings(PostgresServer server, String database) {
    return PostgresSettings.of(server.host(), server.port(), database, server.user(), server.password());
  }

  @Test
  void theSchemaIsMigratedOnceAndASecondCoreFindsItCurrent() throws Exception {
    var server = PostgresServer.shared();
    String db = server.createDatabase("migrate");
    var executor = Executors.newFixedThreadPool(2);
    try (var first = new PostgresDatabase(settings(server, db), executor).startMigrating();
        var second = new PostgresDatabase(settings(server, db), executor).startMigrating()) {
      int a = first.ready().toCompletableFuture().get(60, TimeUnit.SECONDS);
      int b = second.ready().toCompletableFuture().get(60, TimeUnit.SECONDS);
      long migrations = first.async(c -> {
        try (var rs = c.createStatement().executeQuery("SELECT count(*) FROM flyway_schema_history WHERE success")) {
          rs.next();
          return rs.getLong(1);
        }
      }).toCompletableFuture().get(10, TimeUnit.SECONDS);
      assertTrue(migrations >= 1, "V1 at least");
      assertEquals(migrations, a + b, "each migration is applied by exactly one of the two");
      var columns = first.async(c -> {
        var names = new ArrayList<String>();
        try (var rs = c.createStatement().executeQuery("SELECT column_name FROM information_schema.columns "
            + "WHERE table_name = 'log_lines' ORDER BY ordinal_position")) {
          while (rs.next()) {
            names.add(rs.getString(1));
          }
        }
        return names;
      }).toCompletableFuture().get(10, TimeUnit.SECONDS);
      assertEquals(java.util.List.of("id", "ts", "level", "level_num", "core", "epoch", "component", "logger", "thread",
          "message", "exception", "mdc", "feature", "run", "job", "room", "stream"), columns);
    } finally {
      executor.shutdownNow();
    }
  }

  @Test
  void aServerThatIsDownMakesCallsFailAsUnavailableQuickly() throws Exception {
    var server = PostgresServer.start();
    var executor = Executors.newFixedThreadPool(2);
    try (var db = new PostgresDatabase(settings(server, "postgres"), executor).startMigrating()) {
      db.ready().toCompletableFuture().get(60, TimeUnit.SECONDS);
      server.kill9();
      long t0 = System.nanoTime();
      var e = assertThrows(java.util.concurrent.ExecutionException.class,
          () -> db.async(c -> c.createStatement().execute("SELECT 1")).toCompletableFuture().get(30, TimeUnit.SECONDS));
      assertInstanceOf(PostgresDatabase.Unavailable.class, e.getCause() instanceof CompletionException ce
          ? ce.getCause() : e.getCause(), () -> "got " + e.getCause());
      assertTrue(System.nanoTime() - t0 < TimeUnit.SECONDS.toNanos(10), "fails within the connect timeout");
      server.restart();
      // the pool reconnects by itself
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      while (true) {
        try {
          assertTrue(db.async(c -> c.createStatement().execute("SELECT 1")).toCompletableFuture()
              .get(10, TimeUnit.SECONDS));
          break;
        } catch (java.util.concurrent.ExecutionException again) {
          if (System.nanoTime() > deadline) {
            throw again;
          }
          Thread.sleep(100);
        }
      }
    } finally {
      executor.shutdownNow();
      server.close();
    }
  }
}
