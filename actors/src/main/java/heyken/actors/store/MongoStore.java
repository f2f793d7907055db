package heyken.actors.store;

import com.mongodb.ConnectionString;
import com.mongodb.MongoClientSettings;
import com.mongodb.ReadConcern;
import com.mongodb.WriteConcern;
import com.mongodb.client.MongoClient;
import com.mongodb.client.MongoClients;
import com.mongodb.client.MongoDatabase;
import com.typesafe.config.Config;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.actor.typed.Extension;
import org.apache.pekko.actor.typed.ExtensionId;
import org.bson.Document;

/**
 * The cores' own connection to MongoDB (lease, epoch fence, logs, probes), one per ActorSystem.
 * The journal has its own client inside the persistence plugin; both point at {@code heyken.mongo.uri}.
 * Every call runs on {@code heyken-blocking-dispatcher}: the sync driver blocks.
 */
public final class MongoStore implements Extension {

  public static final String BLOCKING_DISPATCHER = "heyken-blocking-dispatcher";

  private final MongoClient client;
  private final MongoDatabase database;
  private final Executor blocking;
  private final Duration operationTimeout;
  private final String uri;

  private MongoStore(ActorSystem<?> system) {
    Config config = system.settings().config();
    this.uri = config.getString("heyken.mongo.uri");
    this.operationTimeout = config.getDuration("heyken.mongo.operation-timeout");
    this.client = create(uri, operationTimeout);
    this.database = client.getDatabase(config.getString("heyken.mongo.database"));
    this.blocking = system.dispatchers().lookup(DispatcherSelector.fromConfig(BLOCKING_DISPATCHER));
    system.getWhenTerminated().thenRun(client::close);
  }

  /** A client with short timeouts: a store that does not answer must turn into an error, not a hang. */
  public static MongoClient create(String uri, Duration operationTimeout) {
    long ms = operationTimeout.toMillis();
    MongoClientSettings settings =
        MongoClientSettings.builder()
            .applyConnectionString(new ConnectionString(uri))
            .applyToClusterSettings(b -> b.serverSelectionTimeout(ms, TimeUnit.MILLISECONDS))
            .applyToSocketSettings(
                b -> b.connectTimeout((int) ms, TimeUnit.MILLISECONDS).readTimeout((int) ms * 2, TimeUnit.MILLISECONDS))
            .writeConcern(WriteConcern.MAJORITY.withJournal(true))
            .readConcern(ReadConcern.DEFAULT)
            .retryWrites(false)
            .build();
    return MongoClients.create(settings);
  }

  public MongoDatabase database() {
    return database;
  }

  /** The client behind {@link #database()}: for another database on the same store (the upgrade's scratch copy). */
  public MongoClient client() {
    return client;
  }

  public String uri() {
    return uri;
  }

  /** The URI without credentials, for status pages and logs. */
  public String redactedUri() {
    return uri.replaceAll("//[^@/]*@", "//***@");
  }

  public Duration operationTimeout() {
    return operationTimeout;
  }

  public Executor blockingExecutor() {
    return blocking;
  }

  /** Runs a blocking database call on the blocking dispatcher. */
  public <T> CompletionStage<T> async(Function<MongoDatabase, T> call) {
    return CompletableFuture.supplyAsync(() -> call.apply(database), blocking);
  }

  /** The store's own clock: leases and fences never trust host clocks. */
  public java.util.Date serverTime() {
    return serverTime(database);
  }

  // Real MongoDB answers hello, isMaster and serverStatus with localTime; mongo-java-server 1.47 has no hello
  // (error "no such command") but answers isMaster and serverStatus. The command that answered last is asked first.
  private static final String[] TIME_COMMANDS = {"hello", "isMaster", "serverStatus"};
  private static volatile int timeCommand = 0;

  /** The clock of the store behind {@code db}, for code that has a database but no ActorSystem. */
  public static java.util.Date serverTime(MongoDatabase db) {
    int first = timeCommand;
    RuntimeException refused = null;
    for (int i = 0; i < TIME_COMMANDS.length; i++) {
      int candidate = (first + i) % TIME_COMMANDS.length;
      try {
        Document reply = db.runCommand(new Document(TIME_COMMANDS[candidate], 1));
        if (reply.get("localTime") instanceof java.util.Date date) {
          timeCommand = candidate;
          return date;
        }
      } catch (com.mongodb.MongoCommandException e) {
        refused = e; // the store does not know this command: ask the next; timeouts and I/O errors propagate
      }
    }
    throw new IllegalStateException("the store answers none of hello, isMaster, serverStatus with localTime", refused);
  }

  public static MongoStore get(ActorSystem<?> system) {
    return Id.INSTANCE.apply(system);
  }

  private static final class Id extends ExtensionId<MongoStore> {
    static final Id INSTANCE = new Id();

    @Override
    public MongoStore createExtension(ActorSystem<?> system) {
      return new MongoStore(system);
    }
  }
}
