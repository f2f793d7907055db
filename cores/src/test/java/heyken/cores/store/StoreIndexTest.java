package heyken.cores.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.mongodb.client.MongoClient;
import com.mongodb.client.MongoCollection;
import com.mongodb.client.model.Filters;
import com.mongodb.client.model.IndexOptions;
import com.mongodb.client.model.Indexes;
import com.mongodb.client.model.Sorts;
import com.mongodb.client.model.Updates;
import heyken.actors.store.MongoStore;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import org.bson.Document;
import org.bson.conversions.Bson;
import org.h2.mvstore.MVMap;
import org.h2.mvstore.MVStore;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Queries by persistence id are served by an index the store keeps in its file, with the persistence plugin's
 * indexes and queries (pekko-persistence-mongodb 1.5.0: unique {@code pid, from, to}; {@code pid, to -1}; sparse
 * {@code _tg}; its replay asks {@code and(equal(pid), gte(from), lte(to))} sorted by {@code to}). "Served by the
 * index" is measured on the store side: the index counts the queries it answered and the documents it handed to the
 * collection, which reads only those (a full scan reads all of them).
 */
class StoreIndexTest {

  private static final int PIDS = 200;
  private static final int DOCUMENTS_PER_PID = 20;
  private static final String JOURNAL = "akka_persistence_journal";
  private static final String PID_INDEX = "akka_persistence_journal_seq_nr_index";
  private static final String TAG_INDEX = "akka_persistence_journal_tag_index";

  @TempDir
  Path dir;

  @Test
  void aQueryByPersistenceIdReadsOnlyThatIdsDocumentsAndTheIndexIsOpenedNotRebuiltOnReopen() {
    withStore(journal -> {
      createThePluginsIndexes(journal);
      fill(journal);
    }, store -> assertEquals(0, index(store, PID_INDEX).builtFromDocuments(), "built on the empty collection"));

    withStore(journal -> {
      List<Document> replay = journal.find(replayQuery("Feature|7")).sort(Sorts.ascending("to"))
          .into(new ArrayList<>());
      assertEquals(DOCUMENTS_PER_PID, replay.size());
      for (int i = 0; i < replay.size(); i++) {
        assertEquals("Feature|7", replay.get(i).getString("pid"));
        assertEquals((long) i, replay.get(i).getLong("to"), "replayed in order");
      }
      Document highest = journal.find(Filters.eq("pid", "Feature|7")).sort(Sorts.descending("pid", "to")).first();
      assertEquals((long) DOCUMENTS_PER_PID - 1, highest.getLong("to"));
      assertEquals(null, journal.find(Filters.eq("pid", "nobody")).first());
    }, store -> {
      PersistedSecondaryIndex index = index(store, PID_INDEX);
      assertEquals(-1, index.builtFromDocuments(), "the reopen rebuilt the index instead of opening it");
      assertEquals(3, index.lookups(), "every query by pid is served by the index");
      assertEquals(2L * DOCUMENTS_PER_PID, index.positionsReturned(),
          "the queries read other ids' documents too (of " + PIDS * DOCUMENTS_PER_PID + ")");
    });
  }

  @Test
  void deletesAndUpdatesKeepTheIndexRightAcrossReopens() {
    withStore(journal -> {
      createThePluginsIndexes(journal);
      fill(journal);
      // the plugin's deleteFrom, and a tag added to some documents
      journal.deleteMany(Filters.and(Filters.eq("pid", "Feature|3"), Filters.lte("to", 9L)));
      journal.updateMany(Filters.and(Filters.eq("pid", "Feature|4"), Filters.gte("to", 15L)),
          Updates.set("_tg", List.of("feature", "audit")));
      journal.updateMany(Filters.and(Filters.eq("pid", "Feature|4"), Filters.gte("to", 18L)),
          Updates.set("_tg", List.of("audit")));
    }, store -> { });

    withStore(journal -> {
      assertEquals(DOCUMENTS_PER_PID - 10, count(journal, replayQuery("Feature|3")));
      assertEquals(DOCUMENTS_PER_PID, count(journal, replayQuery("Feature|4")));
      assertEquals(3, count(journal, Filters.and(Filters.eq("_tg", "feature"), Filters.gt("to", 0L))));
      assertEquals(5, count(journal, Filters.eq("_tg", "audit")));
      journal.deleteMany(Filters.eq("pid", "Feature|4"));
      assertEquals(0, count(journal, Filters.eq("_tg", "audit")));
      assertEquals(0, count(journal, replayQuery("Feature|4")));
    }, store -> {
      // by pid: Feature|3's 10 left, Feature|4's 20 twice (its replay, the deleteMany), none after the delete
      assertEquals(10 + 2 * DOCUMENTS_PER_PID, index(store, PID_INDEX).positionsReturned(),
          "the queries by pid read documents that do not match");
      // by tag: 3, 5, none after the delete
      assertEquals(3 + 5, index(store, TAG_INDEX).positionsReturned(),
          "the queries by tag read documents that do not match");
    });
  }

  @Test
  void aStoreFileWithoutTheIndexGetsItBuiltOnceOnOpenAndABuildCutShortIsRedone() {
    withStore(journal -> {
      createThePluginsIndexes(journal);
      fill(journal);
    }, store -> { });
    Path file = dir.resolve("store/heyken.mv");
    String mapName = removeIndexMap(dir, JOURNAL, PID_INDEX);
    withStore(journal -> assertEquals(DOCUMENTS_PER_PID, count(journal, replayQuery("Feature|9"))), store -> {
      PersistedSecondaryIndex index = index(store, PID_INDEX);
      assertEquals(PIDS * DOCUMENTS_PER_PID, index.builtFromDocuments(), "not built from the documents on open");
      assertEquals(DOCUMENTS_PER_PID, index.positionsReturned());
    });
    withStore(journal -> assertEquals(DOCUMENTS_PER_PID, count(journal, replayQuery("Feature|9"))),
        store -> assertEquals(-1, index(store, PID_INDEX).builtFromDocuments(), "built twice"));

    // a crash during the build: some entries, one of them for a document that is not there, and no mark of completion
    MVStore raw = MVStore.open(file.toString());
    MVMap<String, Object> map = raw.openMap(mapName);
    map.remove("");
    map.put("Feature|9\0gone", "gone");
    raw.close();
    withStore(journal -> assertEquals(DOCUMENTS_PER_PID, count(journal, replayQuery("Feature|9"))),
        store -> assertEquals(PIDS * DOCUMENTS_PER_PID, index(store, PID_INDEX).builtFromDocuments(),
            "an index without its mark of completion was not rebuilt"));
  }

  @Test
  void aFileAnOlderVersionWroteToAfterThisOneClosedItGetsItsIndexRebuilt() {
    withStore(journal -> {
      createThePluginsIndexes(journal);
      fill(journal);
    }, store -> { });
    // the previous version (no persisted index) opens the file and appends an event of Feature|9: its write reaches
    // the collection's data map and none of this version's index maps
    MVStore raw = MVStore.open(dir.resolve("store/heyken.mv").toString());
    MVMap<Object, de.bwaldvogel.mongo.bson.Document> data = raw.openMap("databases.heyken." + JOURNAL);
    data.put("zz-older-version", new de.bwaldvogel.mongo.bson.Document("_id", "zz-older-version")
        .append("pid", "Feature|9").append("from", 1000L).append("to", 1000L));
    raw.close();
    // the upgrade back: the index no longer matches its collection, so it is built again and the event is replayed
    withStore(journal -> assertEquals(DOCUMENTS_PER_PID + 1, count(journal, replayQuery("Feature|9")),
        "the older version's event is missing from the replay"), store -> assertEquals(PIDS * DOCUMENTS_PER_PID + 1,
        index(store, PID_INDEX).builtFromDocuments(), "the index was opened although another version wrote"));
    withStore(journal -> assertEquals(DOCUMENTS_PER_PID + 1, count(journal, replayQuery("Feature|9"))),
        store -> assertEquals(-1, index(store, PID_INDEX).builtFromDocuments(), "rebuilt after a clean close"));
  }

  /**
   * Makes the store file under {@code dir} look as the store before this index wrote it: the index only in
   * system.indexes, no map for it. Returns the map's name.
   */
  static String removeIndexMap(Path dir, String collection, String index) {
    String mapName = "heyken." + collection + "._index_" + index;
    MVStore raw = MVStore.open(dir.resolve("store/heyken.mv").toString());
    try {
      assertTrue(raw.hasMap(mapName), "the index's map is not in the file: " + raw.getMapNames());
      raw.removeMap(mapName);
    } finally {
      raw.close();
    }
    return mapName;
  }

  @Test
  void aDroppedDatabaseWithIndexesDoesNotKeepTheCleanStopFromMarkingTheOthers() {
    HeykenStore store = new HeykenStore(StoreOpenTest.settings(dir));
    String uri = "mongodb://127.0.0.1:" + store.start().getPort() + "/heyken";
    try (MongoClient client = MongoStore.create(uri, Duration.ofMinutes(2))) {
      var journal = client.getDatabase("heyken").getCollection(JOURNAL);
      createThePluginsIndexes(journal);
      fill(journal);
      // the upgrade's journal check copies the journal into a scratch database and drops it afterwards
      var scratch = client.getDatabase("heyken-upgrade-scratch");
      createThePluginsIndexes(scratch.getCollection(JOURNAL));
      scratch.getCollection(JOURNAL).insertOne(new Document("pid", "Feature|1").append("from", 0L).append("to", 0L));
      scratch.drop();
    } finally {
      store.stop();
    }
    withStore(journal -> assertEquals(DOCUMENTS_PER_PID, count(journal, replayQuery("Feature|9"))),
        reopened -> assertEquals(-1, index(reopened, PID_INDEX).builtFromDocuments(),
            "the clean stop did not mark the index as matching: it was built again"));
  }

  @Test
  void aCleanStopWhileTheFileIsBeingSyncedClosesTheFileCleanly() {
    // the file is fsynced every millisecond, so most stops come while a sync is running; stopping used to interrupt
    // it, which closed the file under the close's commit and compaction (ClosedChannelException, and the index marks
    // were lost)
    HeykenStore.Settings syncingAlways = new HeykenStore.Settings("127.0.0.1", 0, dir.resolve("store/heyken.mv"), 64,
        Duration.ofSeconds(10), Duration.ofMillis(1), Duration.ofSeconds(2), "heyken_leases", 4);
    int stops = 20;
    for (int i = 0; i < stops; i++) {
      int event = i;
      withStore(syncingAlways, journal -> {
        if (event == 0) {
          createThePluginsIndexes(journal);
        }
        journal.insertOne(new Document("pid", "Feature|1").append("from", (long) event).append("to", (long) event));
      }, store -> { });
    }
    withStore(syncingAlways, journal -> assertEquals(stops, count(journal, replayQuery("Feature|1")), "events lost"),
        store -> assertEquals(-1, index(store, PID_INDEX).builtFromDocuments(),
            "a stop did not close the file cleanly: the index was built again"));
  }

  private void withStore(Consumer<MongoCollection<Document>> work, Consumer<HeykenStore> check) {
    withStore(StoreOpenTest.settings(dir), work, check);
  }

  private static void withStore(HeykenStore.Settings settings, Consumer<MongoCollection<Document>> work,
      Consumer<HeykenStore> check) {
    HeykenStore store = new HeykenStore(settings);
    String uri = "mongodb://127.0.0.1:" + store.start().getPort() + "/heyken";
    try (MongoClient client = MongoStore.create(uri, Duration.ofMinutes(2))) {
      work.accept(client.getDatabase("heyken").getCollection(JOURNAL));
      check.accept(store);
    } finally {
      store.stop();
    }
  }

  private static void createThePluginsIndexes(MongoCollection<Document> journal) {
    journal.createIndex(Indexes.ascending("pid", "from", "to"),
        new IndexOptions().unique(true).name("akka_persistence_journal_index"));
    journal.createIndex(Indexes.compoundIndex(Indexes.ascending("pid"), Indexes.descending("to")),
        new IndexOptions().name(PID_INDEX));
    journal.createIndex(Indexes.ascending("_tg"), new IndexOptions().sparse(true).name(TAG_INDEX));
  }

  private static void fill(MongoCollection<Document> journal) {
    List<Document> batch = new ArrayList<>();
    for (int sn = 0; sn < DOCUMENTS_PER_PID; sn++) {
      for (int p = 0; p < PIDS; p++) {
        batch.add(new Document("pid", "Feature|" + p).append("from", (long) sn).append("to", (long) sn)
            .append("events", List.of(new Document("sn", (long) sn).append("p", "event " + sn))));
      }
      journal.insertMany(batch);
      batch.clear();
    }
  }

  private static Bson replayQuery(String pid) {
    return Filters.and(Filters.eq("pid", pid), Filters.gte("from", 0L), Filters.lte("to", Long.MAX_VALUE));
  }

  private static int count(MongoCollection<Document> journal, Bson query) {
    return journal.find(query).into(new ArrayList<>()).size();
  }

  private static PersistedSecondaryIndex index(HeykenStore store, String name) {
    return index(store, JOURNAL, name);
  }

  /** The running store's index {@code name} on {@code collection} of the database heyken. */
  static PersistedSecondaryIndex index(HeykenStore store, String collection, String name) {
    return store.dataBackend().resolveDatabase("heyken").resolveCollection(collection, true).getIndexes().stream()
        .filter(i -> i.getName().equals(name))
        .map(PersistedSecondaryIndex.class::cast)
        .findFirst()
        .orElseThrow(() -> new AssertionError("no index " + name));
  }
}
