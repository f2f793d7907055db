package heyken.actors.cluster;

import com.mongodb.ConnectionString;
import com.mongodb.MongoClientSettings;
import com.mongodb.ReadConcern;
import com.mongodb.WriteConcern;
import com.mongodb.client.MongoClient;
import com.mongodb.client.MongoClients;
import com.mongodb.client.MongoDatabase;
import com.typesafe.config.Config;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.actor.typed.Extension;
import org.apache.pekko.actor.typed.ExtensionId;

/**
 * The lease's own way to the store, one per ActorSystem and shared by its leases (the split brain resolver's and the
 * singleton's): a MongoClient of its own (its own connection pool, so a renewal never waits for a connection that a
 * journal write or a log read holds; the journal plugin and {@link heyken.actors.store.MongoStore} have theirs), with
 * short timeouts, and its own threads ({@code heyken-lease-dispatcher}), so it never queues behind blocking calls of
 * the rest of the core. In the embedded store the lease collection also has its own file and never waits behind
 * journal writes (see {@code heyken.cores.store.HeykenStore}).
 */
public final class LeaseStore implements Extension {

  public static final String DISPATCHER = "heyken-lease-dispatcher";

  /** {@code heyken.lease.*}: where the lease lives and how long one store call may take. */
  public record Settings(String uri, String database, String collection, Duration connectTimeout,
      Duration operationTimeout, Path storeLog) {

    public static Settings from(Config config) {
      String uri = config.hasPath("heyken.lease.uri") ? config.getString("heyken.lease.uri")
          : config.getString("heyken.mongo.uri");
      Duration op = config.hasPath("heyken.lease.operation-timeout")
          ? config.getDuration("heyken.lease.operation-timeout") : Duration.ofSeconds(2);
      Duration connect = config.hasPath("heyken.lease.connect-timeout")
          ? config.getDuration("heyken.lease.connect-timeout") : Duration.ofSeconds(1);
      Path dataDir = Path.of(config.hasPath("heyken.data-dir") ? config.getString("heyken.data-dir") : "data");
      return new Settings(uri, config.getString("heyken.mongo.database"), config.getString("heyken.lease.collection"),
          connect, op, dataDir.resolve("logs").resolve("store.log"));
    }
  }

  private final Settings settings;
  private final MongoClient client;
  private final MongoDatabase database;
  private final Executor executor;

  private LeaseStore(ActorSystem<?> system) {
    Config config = system.settings().config();
    this.settings = Settings.from(config);
    this.client = create(settings);
    this.database = client.getDatabase(settings.database());
    // the lease's own threads when configured (the cores' application.conf does); tests with a bare config share
    // the blocking dispatcher
    String dispatcher = config.hasPath(DISPATCHER) ? DISPATCHER : heyken.actors.store.MongoStore.BLOCKING_DISPATCHER;
    this.executor = system.dispatchers().lookup(DispatcherSelector.fromConfig(dispatcher));
    system.getWhenTerminated().thenRun(client::close);
  }

  /**
   * A small pool (two connections kept open, so a renewal never waits for a TCP connect) whose every wait is
   * bounded: a store that does not answer becomes an error within the operation timeout, and the lease decides.
   */
  static MongoClient create(Settings settings) {
    int connectMs = (int) settings.connectTimeout().toMillis();
    int opMs = (int) settings.operationTimeout().toMillis();
    return MongoClients.create(MongoClientSettings.builder()
        .applyConnectionString(new ConnectionString(settings.uri()))
        .applicationName("heyken-lease")
        .applyToClusterSettings(b -> b.serverSelectionTimeout(connectMs, TimeUnit.MILLISECONDS))
        .applyToConnectionPoolSettings(b -> b.minSize(2).maxSize(4).maxWaitTime(connectMs, TimeUnit.MILLISECONDS))
        .applyToSocketSettings(b -> b.connectTimeout(connectMs, TimeUnit.MILLISECONDS)
            .readTimeout(opMs, TimeUnit.MILLISECONDS))
        .writeConcern(WriteConcern.MAJORITY.withJournal(true))
        .readConcern(ReadConcern.DEFAULT)
        .retryWrites(false)
        .build());
  }

  public Settings settings() {
    return settings;
  }

  public MongoDatabase database() {
    return database;
  }

  public Executor executor() {
    return executor;
  }

  public static LeaseStore get(ActorSystem<?> system) {
    return Id.INSTANCE.apply(system);
  }

  private static final class Id extends ExtensionId<LeaseStore> {
    static final Id INSTANCE = new Id();

    @Override
    public LeaseStore createExtension(ActorSystem<?> system) {
      return new LeaseStore(system);
    }
  }
}
