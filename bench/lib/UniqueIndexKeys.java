// What a lookup and an insert cost in a unique index of the store, with H2's ObjectDataType (every version before)
// and with heyken.cores.store.UniqueIndexKeyType, for bench/store_keys.sh (not a test):
//   java -cp cores/target/heyken-core.jar bench/lib/UniqueIndexKeys.java DIR ENTRIES...
// For each size it fills an index of the journal's kind (KeyValue(ObjectId) -> ObjectId, as the _id index of every
// collection) in an MVStore file under DIR, then opens that same file once with each key type (same format and
// order) and runs 5,000 lookups + 5,000 inserts to warm up, then 20,000 lookups of recent keys (among the last 1,000
// filled: the hot path, as a lease renewal or the journal's newest entries, whose pages stay in the cache), 20,000
// lookups of any present key (pages mostly read from the file) and 20,000 inserts of new ones, and prints the
// microseconds and the bytes allocated per operation.
import de.bwaldvogel.mongo.backend.KeyValue;
import de.bwaldvogel.mongo.bson.ObjectId;
import heyken.cores.store.UniqueIndexKeyType;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.h2.mvstore.MVMap;
import org.h2.mvstore.MVStore;
import org.h2.mvstore.type.ObjectDataType;

public class UniqueIndexKeys {

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
        MVMap<KeyValue, Object> map = store.openMap("index",
            new MVMap.Builder<KeyValue, Object>().keyType(new UniqueIndexKeyType()));
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
      System.out.printf("%,d entries: filled in %.1f s (%d MB file)%n", entries, (System.nanoTime() - t0) / 1e9,
          Files.size(file) >> 20);
      measure("ObjectDataType (before)", file, keys, new ObjectDataType());
      measure("UniqueIndexKeyType     ", file, keys, new UniqueIndexKeyType());
    }
  }

  static MVStore open(Path file) {
    return new MVStore.Builder().fileName(file.toString()).keysPerPage(16).cacheSize(64).autoCommitDisabled().open();
  }

  static void measure(String name, Path file, List<KeyValue> keys, ObjectDataType keyType) {
    Random random = new Random(7);
    try (MVStore store = open(file)) {
      MVMap<KeyValue, Object> map = store.openMap("index",
          new MVMap.Builder<KeyValue, Object>().keyType(keyType));
      run(map, keys, random, 5_000); // warm-up
      int n = 20_000;
      int recent = Math.min(1_000, keys.size());
      long[] hot = lookups(map, keys.subList(keys.size() - recent, keys.size()), random, n, name);
      long[] any = lookups(map, keys, random, n, name);
      long thread = Thread.currentThread().getId();
      long bytes = THREADS.getThreadAllocatedBytes(thread);
      long t0 = System.nanoTime();
      for (int i = 0; i < n; i++) {
        ObjectId id = new ObjectId();
        map.putIfAbsent(new KeyValue(id), id);
      }
      long insertNanos = System.nanoTime() - t0;
      long insertBytes = THREADS.getThreadAllocatedBytes(thread) - bytes;
      System.out.printf("  %s: lookup of a recent key %6.1f us %,8d B; of any key %6.1f us %,8d B;"
              + " insert %6.1f us %,8d B (time and bytes allocated per operation)%n", name,
          hot[0] / 1e3 / n, hot[1] / n, any[0] / 1e3 / n, any[1] / n, insertNanos / 1e3 / n, insertBytes / n);
      store.rollback(); // the file stays as filled, for the other key type
    }
  }

  /** n lookups of keys drawn from {@code among}: {nanoseconds, bytes allocated}. */
  static long[] lookups(MVMap<KeyValue, Object> map, List<KeyValue> among, Random random, int n, String name) {
    long thread = Thread.currentThread().getId();
    long bytes = THREADS.getThreadAllocatedBytes(thread);
    long t0 = System.nanoTime();
    for (int i = 0; i < n; i++) {
      // an equal key in a new object, as the index builds one from the queried document
      KeyValue key = among.get(random.nextInt(among.size()));
      if (map.get(new KeyValue(key.get(0))) == null) {
        throw new IllegalStateException(key + " not found with " + name);
      }
    }
    return new long[] {System.nanoTime() - t0, THREADS.getThreadAllocatedBytes(thread) - bytes};
  }

  static void run(MVMap<KeyValue, Object> map, List<KeyValue> keys, Random random, int n) {
    for (int i = 0; i < n; i++) {
      map.get(new KeyValue(keys.get(random.nextInt(keys.size())).get(0)));
      ObjectId id = new ObjectId();
      map.putIfAbsent(new KeyValue(id), id);
    }
  }
}
