package heyken.actors.support;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import de.bwaldvogel.mongo.MongoServer;
import de.bwaldvogel.mongo.backend.memory.MemoryBackend;
import heyken.testkit.postgres.PostgresServer;
import java.io.File;

/**
 * An embedded MongoDB-protocol store for actor tests, a fresh database of the JVM's test PostgreSQL (the log store,
 * {@link PostgresServer#shared()}), and the project's own application.conf pointed at both (so that tests run with
 * the configuration the cores run with, not a copy of it).
 */
public final class TestStore implements AutoCloseable {

  private final MongoServer server = new MongoServer(new MemoryBackend());
  private final String uri;
  private String postgresDatabase;

  /** The log store database of this store's configuration (created on first use). */
  public synchronized String postgresDatabase() {
    if (postgresDatabase == null) {
      postgresDatabase = PostgresServer.shared().createDatabase("actors");
    }
    return postgresDatabase;
  }

  /** The log store settings of {@link #config}. */
  public heyken.actors.postgres.PostgresSettings postgres() {
    var pg = PostgresServer.shared();
    return heyken.actors.postgres.PostgresSettings.of(pg.host(), pg.port(), postgresDatabase(), pg.user(),
        pg.password());
  }

  public TestStore() {
    server.bind("127.0.0.1", 0);
    uri = "mongodb://127.0.0.1:" + server.getLocalAddress().getPort() + "/heyken";
  }

  public String uri() {
    return uri;
  }

  /** The root application.conf with this store, a free cluster port and the given overrides on top. */
  public Config config(String overrides) {
    File root = new File("../application.conf");
    if (!root.exists()) {
      throw new IllegalStateException("tests run from the module directory and read ../application.conf");
    }
    return ConfigFactory.parseString(overrides)
        .withFallback(ConfigFactory.parseString("""
            heyken.mongo.uri = "%s"
            pekko.remote.artery.canonical.port = 0
            pekko.cluster.roles = ["core", "core-1"]
            pekko.cluster.downing-provider-class = ""
            pekko.cluster.singleton.use-lease = ""
            pekko.loglevel = INFO
            heyken.postgres { url = "", host = "%s", port = %d, database = "%s", user = "%s", password = "%s" }
            """.formatted(uri, PostgresServer.shared().host(), PostgresServer.shared().port(), postgresDatabase(),
            PostgresServer.shared().user(), PostgresServer.shared().password())))
        .withFallback(ConfigFactory.parseFile(root))
        .withFallback(ConfigFactory.defaultReference())
        .resolve();
  }

  @Override
  public void close() {
    server.shutdownNow();
  }
}
