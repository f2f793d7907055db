package heyken.actors.journal;

import com.fasterxml.jackson.annotation.JsonAutoDetect;
import com.fasterxml.jackson.annotation.PropertyAccessor;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.datatype.jdk8.Jdk8Module;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import com.mongodb.client.MongoClients;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.pekko.actor.typed.Behavior;
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

  /** One event-sourced entity (see {@link JournalEntities}). */
  static final List<JournalEntities.Entity> ENTITIES = JournalEntities.ENTITIES;

  static JournalEntities.Entity entityOf(String persistenceId) {
    return JournalEntities.entityOf(persistenceId);
  }

  static String entityId(String persistenceId) {
    return JournalEntities.entityId(persistenceId);
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

  static Behavior<JournalEntities.GetState> replayer(String persistenceId) {
    return JournalEntities.replayer(persistenceId);
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
