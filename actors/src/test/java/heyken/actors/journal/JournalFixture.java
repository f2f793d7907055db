package heyken.actors.journal;

import com.fasterxml.jackson.annotation.JsonAutoDetect;
import com.fasterxml.jackson.annotation.PropertyAccessor;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.datatype.jdk8.Jdk8Module;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import com.mongodb.client.MongoClients;
import heyken.actors.bot.ChatGateway;
import heyken.actors.bot.Conversation;
import heyken.actors.core.CoreManager;
import heyken.actors.core.DeploymentLedger;
import heyken.actors.core.ServiceLedger;
import heyken.actors.feature.Feature;
import heyken.actors.feature.FeatureAuthor;
import heyken.actors.feature.FeatureCatalog;
import heyken.actors.feature.PipelineRun;
import heyken.actors.gitlab.GitLabSync;
import heyken.actors.registry.ComponentRegistry;
import java.io.IOException;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Function;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.persistence.typed.PersistenceId;
import org.apache.pekko.persistence.typed.javadsl.CommandHandler;
import org.apache.pekko.persistence.typed.javadsl.EventHandler;
import org.apache.pekko.persistence.typed.javadsl.EventSourcedBehavior;
import org.bson.Document;
import org.bson.json.JsonMode;
import org.bson.json.JsonWriterSettings;

/**
 * What the journal fixture is made of: every event-sourced entity of Heyken (its persistence-id prefix, empty state,
 * event interface and state class), a replayer that recovers a persistence id through the real persistence plugin
 * and folds the events with the entity's own {@code State.apply}, and the raw MongoDB documents of the plugin's
 * collections as JSON lines. Used by {@link JournalFixtureWriter} (writes the fixture with the current code) and
 * {@link JournalFixtureTest} (recovers it and compares).
 */
final class JournalFixture {

  private JournalFixture() {}

  /** Where the fixture lives, relative to the actors module (tests run from the module directory). */
  static final Path DIR = Path.of("src/test/resources/journal-fixture");
  static final String STATES = "states.json";

  /** One event-sourced entity: how its persistence ids start, its empty state, and its event and state types. */
  record Entity(String name, String tag, Class<?> event, Class<?> state, Function<String, Object> empty) {

    /** The entity's own {@code State.apply(Event)}: the code that recovery runs. */
    Object apply(Object state, Object event) {
      try {
        Method apply = this.state.getDeclaredMethod("apply", this.event);
        apply.setAccessible(true);
        return apply.invoke(state, event);
      } catch (InvocationTargetException e) {
        throw new IllegalStateException(name + ": applying " + event + " failed", e.getCause());
      } catch (ReflectiveOperationException e) {
        throw new IllegalStateException(name + ".State has no apply(" + this.event.getSimpleName() + ")", e);
      }
    }

    Object fold(String entityId, List<?> events) {
      Object s = empty.apply(entityId);
      for (var e : events) {
        s = apply(s, e);
      }
      return s;
    }
  }

  static final List<Entity> ENTITIES = List.of(
      new Entity("core-manager", CoreManager.TAG, CoreManager.Event.class, CoreManager.State.class,
          id -> new CoreManager.State(null, 0, null, null, null, null, 0, Map.of(), null, Map.of())),
      new Entity("core-deployments", CoreManager.TAG, DeploymentLedger.Event.class, DeploymentLedger.State.class,
          id -> new DeploymentLedger.State(Map.of(), false)),
      new Entity("core-services", CoreManager.TAG, ServiceLedger.Event.class, ServiceLedger.State.class,
          id -> new ServiceLedger.State(null, Map.of(), false)),
      new Entity("feature-catalog", FeatureCatalog.TAG, FeatureCatalog.Event.class, FeatureCatalog.State.class,
          id -> new FeatureCatalog.State(new TreeMap<>(), 0)),
      new Entity("component-registry", ComponentRegistry.TAG, ComponentRegistry.Event.class,
          ComponentRegistry.State.class, id -> new ComponentRegistry.State(Map.of())),
      new Entity("chat-gateway", ChatGateway.TAG, ChatGateway.Event.class, ChatGateway.State.class,
          id -> new ChatGateway.State(Map.of(), new LinkedHashMap<>())),
      new Entity("Feature", Feature.TAG, Feature.Event.class, Feature.State.class,
          id -> new Feature.State(id, null, null, null, List.of(), List.of(), null, List.of(), false)),
      new Entity("PipelineRun", PipelineRun.TAG, PipelineRun.Event.class, PipelineRun.State.class,
          id -> new PipelineRun.State(null, null, null, 0, null, List.of(), List.of(), List.of(), null, null, null,
              null, false)),
      new Entity("FeatureAuthor", FeatureAuthor.TAG, FeatureAuthor.Event.class, FeatureAuthor.State.class,
          id -> new FeatureAuthor.State(null, null, null, null, 0, null, List.of(), null, null, null, false)),
      new Entity("Conversation", Conversation.TAG, Conversation.Event.class, Conversation.State.class,
          id -> new Conversation.State(List.of(), new LinkedHashMap<>(), null)),
      new Entity("GitLabSync", GitLabSync.TAG, GitLabSync.Event.class, GitLabSync.State.class,
          id -> new GitLabSync.State(null, List.of(), null, null)));

  /** The entity a persistence id belongs to: "Feature|12" → Feature, "core-manager" → core-manager. */
  static Entity entityOf(String persistenceId) {
    int bar = persistenceId.indexOf('|');
    String name = bar < 0 ? persistenceId : persistenceId.substring(0, bar);
    for (var e : ENTITIES) {
      if (name.equals(e.name()) || name.startsWith(e.name() + "~")) {
        return e;
      }
    }
    throw new IllegalArgumentException("no entity for persistence id " + persistenceId);
  }

  static String entityId(String persistenceId) {
    int bar = persistenceId.indexOf('|');
    return bar < 0 ? persistenceId : persistenceId.substring(bar + 1);
  }

  // ---------------------------------------------------------------- canonical JSON of a state

  private static final ObjectMapper CANONICAL = new ObjectMapper()
      .registerModule(new JavaTimeModule())
      .registerModule(new Jdk8Module())
      .setVisibility(PropertyAccessor.ALL, JsonAutoDetect.Visibility.NONE)
      .setVisibility(PropertyAccessor.FIELD, JsonAutoDetect.Visibility.ANY)
      .configure(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS, false)
      .configure(SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS, true)
      .configure(com.fasterxml.jackson.databind.MapperFeature.SORT_PROPERTIES_ALPHABETICALLY, true)
      .configure(SerializationFeature.INDENT_OUTPUT, true);

  /** The state as canonical JSON (fields by name, maps by key, instants as ISO text), with its class. */
  static ObjectNode canonical(Object state) {
    var node = CANONICAL.createObjectNode();
    node.put("class", state.getClass().getName());
    node.set("state", CANONICAL.valueToTree(state));
    try {
      // through text, so that numbers compare as the recorded file reads them (an int epoch equals a long one)
      return (ObjectNode) CANONICAL.readTree(CANONICAL.writeValueAsString(node));
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Any value as the canonical JSON the states are recorded in. */
  static com.fasterxml.jackson.databind.JsonNode json(Object value) {
    try {
      return CANONICAL.readTree(CANONICAL.writeValueAsString(value));
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }

  static ObjectMapper mapper() {
    return CANONICAL;
  }

  // ---------------------------------------------------------------- replay through the real plugin

  /** The replayer's only command: answer the recovered state. */
  record GetState(ActorRef<Object> replyTo) {}

  /**
   * Recovers {@code persistenceId} through the configured journal and snapshot plugins (the snapshot as the entity's
   * state class, the events as the entity's event classes) and folds the events with the entity's own apply. It
   * never writes.
   */
  static Behavior<GetState> replayer(String persistenceId) {
    var entity = entityOf(persistenceId);
    return new Replayer(persistenceId, entity);
  }

  private static final class Replayer extends EventSourcedBehavior<GetState, Object, Object> {
    private final Entity entity;
    private final String entityId;

    Replayer(String persistenceId, Entity entity) {
      super(PersistenceId.ofUniqueId(persistenceId));
      this.entity = entity;
      this.entityId = entityId(persistenceId);
    }

    @Override
    public Object emptyState() {
      return entity.empty().apply(entityId);
    }

    @Override
    public CommandHandler<GetState, Object, Object> commandHandler() {
      return newCommandHandlerBuilder().forAnyState()
          .onCommand(GetState.class, (state, get) -> Effect().reply(get.replyTo(), state))
          .build();
    }

    @Override
    public EventHandler<Object, Object> eventHandler() {
      return newEventHandlerBuilder().forAnyState().onAnyEvent(entity::apply);
    }
  }

  // ---------------------------------------------------------------- raw documents

  private static final JsonWriterSettings EXTENDED = JsonWriterSettings.builder().outputMode(JsonMode.EXTENDED)
      .build();

  /** The plugin's collections (journal, snapshots, metadata), one JSON-lines file each, documents in _id order. */
  static void dump(String mongoUri, Path dir) throws IOException {
    try (var client = MongoClients.create(mongoUri)) {
      var db = client.getDatabase(new com.mongodb.ConnectionString(mongoUri).getDatabase());
      for (String name : db.listCollectionNames()) {
        if (!name.startsWith("pekko_persistence")) {
          continue;
        }
        var lines = new ArrayList<String>();
        for (Document doc : db.getCollection(name).find().sort(new Document("_id", 1))) {
          lines.add(doc.toJson(EXTENDED));
        }
        Files.write(dir.resolve(name + ".jsonl"), lines, StandardCharsets.UTF_8);
      }
    }
  }

  /** Waits until the snapshot store holds a snapshot of each of {@code persistenceIds} (saved after the events). */
  static void awaitSnapshots(String mongoUri, long count, java.time.Duration within, List<String> persistenceIds)
      throws InterruptedException {
    long deadline = System.nanoTime() + within.toNanos();
    try (var client = MongoClients.create(mongoUri)) {
      var db = client.getDatabase(new com.mongodb.ConnectionString(mongoUri).getDatabase());
      while (true) {
        var missing = new ArrayList<String>();
        for (String pid : persistenceIds) {
          long found = 0;
          for (String name : db.listCollectionNames()) {
            if (name.startsWith("pekko_persistence_snaps")) {
              found += db.getCollection(name).countDocuments(new Document("pid", pid));
            }
          }
          if (found == 0) {
            missing.add(pid);
          }
        }
        if (missing.isEmpty()) {
          return;
        }
        if (System.nanoTime() > deadline) {
          throw new AssertionError("no snapshot saved for " + missing + " (" + count + " expected)");
        }
        Thread.sleep(100);
      }
    }
  }

  /** Inserts the dumped documents into the (empty) store, unchanged. */
  static int load(String mongoUri, Path dir) throws IOException {
    int count = 0;
    try (var client = MongoClients.create(mongoUri); var files = Files.list(dir)) {
      var db = client.getDatabase(new com.mongodb.ConnectionString(mongoUri).getDatabase());
      for (Path file : files.filter(f -> f.toString().endsWith(".jsonl")).sorted().toList()) {
        String name = file.getFileName().toString().replaceFirst("\\.jsonl$", "");
        var docs = new ArrayList<Document>();
        for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
          if (!line.isBlank()) {
            docs.add(Document.parse(line));
          }
        }
        if (!docs.isEmpty()) {
          db.getCollection(name).insertMany(docs);
          count += docs.size();
        }
      }
    }
    return count;
  }
}
