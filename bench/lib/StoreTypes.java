// What the store's data types cost, H2's ObjectDataType (every version before) against the store's own
// (heyken.cores.store.UniqueIndexKeyType for a unique index's keys, heyken.cores.store.StoreObjectType for documents
// and index values), for bench/store_types.sh (not a test):
//   java -cp cores/target/heyken-core.jar bench/lib/StoreTypes.java DIR ENTRIES...
// With the store's settings (16 keys per page, 64 MB cache) in MVStore files under DIR, for each size:
// - a unique index of the journal's kind (KeyValue(ObjectId) -> ObjectId, as the _id index of every collection),
//   filled with ENTRIES entries, then opened once with each type (same file: same format and order): 5,000 lookups
//   and inserts to warm up, then 20,000 lookups of recent keys (among the last 1,000 filled: the hot path, as a lease
//   renewal or the journal's newest entries, whose pages stay in the cache), 20,000 lookups of any key (pages mostly
//   read from the file) and 20,000 inserts;
// - a collection of journal documents (ObjectId -> Document of some 600 bytes), 20,000 written with each type with a
//   commit every 50 (each commit writes the changed pages, serializing every document on them again).
// It prints the microseconds and the bytes allocated per operation.
import de.bwaldvogel.mongo.backend.KeyValue;
import de.bwaldvogel.mongo.bson.Document;
import de.bwaldvogel.mongo.bson.ObjectId;
import heyken.cores.store.StoreObjectType;
import heyken.cores.store.UniqueIndexKeyType;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.function.Supplier;
import org.h2.mvstore.MVMap;
import org.h2.mvstore.MVStore;
import org.h2.mvstore.type.ObjectDataType;

public class StoreTypes {

  static final com.sun.management.ThreadMXBean THREADS =
      (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();

  public static void main(String[] args) throws Exception {
    Path dir = Path.of(args[0]);
    for (int a = 1; a < args.length; a++) {
      int entries = Integer.parseInt(args[a]);
      Path file = dir.resolve("index-" + entries + ".mv");
      Files.deleteIfExists(file);
      List<KeyValue> keys = new ArrayList<>(entries);
      long t0 = System.nanoTime();
      try (MVStore store = open(file)) {
        MVMap<KeyValue, Object> map = store.openMap("index", new MVMap.Builder<KeyValue, Object>()
            .keyType(new UniqueIndexKeyType()).valueType(new StoreObjectType()));
        for (int i = 0; i < entries; i++) {
          ObjectId id = new ObjectId();
          KeyValue key = new KeyValue(id);
          keys.add(key);
          map.putIfAbsent(key, id);
          if (i % 50_000 == 49_999) {
            store.commit();
          }
        }
        store.commit();
      }
      System.out.printf("unique index, %,d entries: filled in %.1f s (%d MB file)%n", entries,
          (System.nanoTime() - t0) / 1e9, Files.size(file) >> 20);
      index("ObjectDataType (before)", file, keys, ObjectDataType::new, ObjectDataType::new);
      index("the store's types      ", file, keys, UniqueIndexKeyType::new, StoreObjectType::new);
    }
    System.out.println("journal documents, 20,000 written, a commit every 50:");
    documents("ObjectDataType (before)", dir.resolve("documents-before.mv"), ObjectDataType::new);
    documents("the store's types      ", dir.resolve("documents-after.mv"), StoreObjectType::new);
  }

  static MVStore open(Path file) {
    return new MVStore.Builder().fileName(file.toString()).keysPerPage(16).cacheSize(64).autoCommitDisabled().open();
  }

  static void index(String name, Path file, List<KeyValue> keys, Supplier<ObjectDataType> keyType,
      Supplier<ObjectDataType> valueType) {
    Random random = new Random(7);
    try (MVStore store = open(file)) {
      MVMap<KeyValue, Object> map = store.openMap("index",
          new MVMap.Builder<KeyValue, Object>().keyType(keyType.get()).valueType(valueType.get()));
      for (int i = 0; i < 5_000; i++) { // warm-up
        map.get(new KeyValue(keys.get(random.nextInt(keys.size())).get(0)));
        ObjectId id = new ObjectId();
        map.putIfAbsent(new KeyValue(id), id);
      }
      int n = 20_000;
      int recent = Math.min(1_000, keys.size());
      long[] hot = lookups(map, keys.subList(keys.size() - recent, keys.size()), random, n, name);
      long[] any = lookups(map, keys, random, n, name);
      long[] inserts = measure(() -> {
        for (int i = 0; i < n; i++) {
          ObjectId id = new ObjectId();
          map.putIfAbsent(new KeyValue(id), id);
        }
      });
      System.out.printf("  %s: lookup of a recent key %6.1f us %,8d B; of any key %6.1f us %,8d B;"
              + " insert %6.1f us %,8d B (time and bytes allocated per operation)%n", name,
          hot[0] / 1e3 / n, hot[1] / n, any[0] / 1e3 / n, any[1] / n, inserts[0] / 1e3 / n, inserts[1] / n);
      store.rollback(); // the file stays as filled, for the other types
    }
  }

  /** n lookups of keys drawn from {@code among}: {nanoseconds, bytes allocated}. */
  static long[] lookups(MVMap<KeyValue, Object> map, List<KeyValue> among, Random random, int n, String name) {
    return measure(() -> {
      for (int i = 0; i < n; i++) {
        // an equal key in a new object, as the index builds one from the queried document
        KeyValue key = among.get(random.nextInt(among.size()));
        if (map.get(new KeyValue(key.get(0))) == null) {
          throw new IllegalStateException(key + " not found with " + name);
        }
      }
    });
  }

  static void documents(String name, Path file, Supplier<ObjectDataType> type) throws Exception {
    Files.deleteIfExists(file);
    Random random = new Random(11);
    byte[] payload = new byte[300];
    try (MVStore store = open(file)) {
      MVMap<Object, Document> map = store.openMap("journal",
          new MVMap.Builder<Object, Document>().keyType(type.get()).valueType(type.get()));
      int[] sequence = {0};
      Runnable write = () -> {
        for (int i = 0; i < 50; i++) {
          random.nextBytes(payload);
          ObjectId id = new ObjectId();
          int sn = ++sequence[0];
          map.put(id, new Document("_id", id).append("pid", "feature|f-" + (sn % 100)).append("from", (long) sn)
              .append("to", (long) sn).append("events", List.of(new Document("payload", payload.clone())
                  .append("manifest", "heyken.features.FeatureEvent$RunFinished").append("sn", (long) sn)
                  .append("_tg", List.of()))));
        }
        store.commit();
      };
      for (int i = 0; i < 100; i++) { // warm-up: 5,000 documents
        write.run();
      }
      int n = 20_000;
      long[] writes = measure(() -> {
        for (int i = 0; i < n / 50; i++) {
          write.run();
        }
      });
      System.out.printf("  %s: a document written and committed %6.1f us %,8d B (time and bytes allocated per"
          + " document)%n", name, writes[0] / 1e3 / n, writes[1] / n);
    }
  }

  /** {nanoseconds, bytes allocated on this thread} of {@code work}. */
  static long[] measure(Runnable work) {
    long thread = Thread.currentThread().getId();
    long bytes = THREADS.getThreadAllocatedBytes(thread);
    long t0 = System.nanoTime();
    work.run();
    return new long[] {System.nanoTime() - t0, THREADS.getThreadAllocatedBytes(thread) - bytes};
  }
}
