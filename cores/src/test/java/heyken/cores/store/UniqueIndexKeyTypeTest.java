package heyken.cores.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import de.bwaldvogel.mongo.backend.KeyValue;
import de.bwaldvogel.mongo.bson.Document;
import de.bwaldvogel.mongo.bson.ObjectId;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import org.h2.mvstore.MVMap;
import org.h2.mvstore.MVStore;
import org.h2.mvstore.type.ObjectDataType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A unique index's key type keeps the order and the file format of H2's ObjectDataType (what every store file so far
 * was written with): the same answer for every compare and every search, and a file written with one opens with the
 * other, both ways.
 */
class UniqueIndexKeyTypeTest {

  @TempDir
  Path dir;

  private final Random random = new Random(20261207);

  /** The keys the persistence plugin's and the lease's unique indexes hold: ObjectIds, strings, pairs, numbers. */
  private KeyValue randomKey() {
    return switch (random.nextInt(6)) {
      case 0 -> new KeyValue(new ObjectId());
      case 1 -> new KeyValue("pid-" + random.nextInt(500));
      case 2 -> new KeyValue("pid-" + random.nextInt(50), (long) random.nextInt(100_000));
      case 3 -> new KeyValue((double) random.nextInt(1000) / 8);
      case 4 -> new KeyValue(new Document("core", "core-" + random.nextInt(3)).append("n", random.nextInt(9)));
      default -> new KeyValue(random.nextInt(1_000_000));
    };
  }

  private List<KeyValue> randomKeys(int n) {
    List<KeyValue> keys = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      keys.add(randomKey());
    }
    return keys;
  }

  @Test
  void everyCompareGivesObjectDataTypesAnswer() {
    ObjectDataType plain = new ObjectDataType();
    UniqueIndexKeyType fast = new UniqueIndexKeyType();
    List<KeyValue> keys = randomKeys(300);
    for (KeyValue a : keys) {
      for (KeyValue b : keys) {
        assertEquals(Integer.signum(plain.compare(a, b)), Integer.signum(fast.compare(a, b)), a + " vs " + b);
      }
      // an equal key in another object, as a lookup builds one
      assertEquals(0, fast.compare(a, new KeyValue(a.stream().toList())));
    }
  }

  @Test
  void everySearchFindsWhereObjectDataTypeFinds() {
    ObjectDataType plain = new ObjectDataType();
    UniqueIndexKeyType fast = new UniqueIndexKeyType();
    List<KeyValue> stored = new ArrayList<>(randomKeys(400));
    stored.sort(plain::compare);
    // no duplicates, as in a unique index's page
    List<KeyValue> page = new ArrayList<>();
    for (KeyValue key : stored) {
      if (page.isEmpty() || plain.compare(page.get(page.size() - 1), key) != 0) {
        page.add(key);
      }
    }
    Object[] storage = page.toArray();
    List<KeyValue> searched = new ArrayList<>(randomKeys(400)); // mostly absent
    page.forEach(key -> searched.add(new KeyValue(key.stream().toList()))); // present, as other objects
    searched.addAll(page); // present, the stored objects themselves
    for (KeyValue key : searched) {
      int guess = random.nextInt(storage.length + 2);
      assertEquals(plain.binarySearch(key, storage, storage.length, guess),
          fast.binarySearch(key, storage, storage.length, guess), "search for " + key);
    }
  }

  @Test
  void aFileWrittenWithObjectDataTypeOpensWithTheSameEntriesAndBack() {
    String file = dir.resolve("keys.mv").toString();
    // what the map must hold, in ObjectDataType's order
    TreeMap<KeyValue, Integer> model = new TreeMap<>(new ObjectDataType()::compare);
    List<KeyValue> keys = randomKeys(6_000);
    try (MVStore store = new MVStore.Builder().fileName(file).keysPerPage(16).open()) {
      MVMap<KeyValue, Object> map = store.openMap("index"); // as every version so far opened it
      for (int i = 0; i < keys.size(); i++) {
        map.putIfAbsent(keys.get(i), i);
        model.putIfAbsent(keys.get(i), i);
      }
      store.commit();
    }
    try (MVStore store = new MVStore.Builder().fileName(file).keysPerPage(16).open()) {
      MVMap<KeyValue, Object> map = store.openMap("index",
          new MVMap.Builder<KeyValue, Object>().keyType(new UniqueIndexKeyType()));
      assertHolds(model, map);
      List<KeyValue> more = randomKeys(2_000);
      for (int i = 0; i < more.size(); i++) {
        map.putIfAbsent(more.get(i), keys.size() + i);
        model.putIfAbsent(more.get(i), keys.size() + i);
      }
      for (int i = 0; i < 1_000; i++) {
        KeyValue lookup = new KeyValue(keys.get(i).stream().toList());
        assertEquals(model.remove(lookup), map.remove(lookup), "removing " + lookup);
      }
      assertHolds(model, map);
      store.commit();
    }
    // opened again as an older version opens it: what the new type wrote is where the old type looks
    try (MVStore store = new MVStore.Builder().fileName(file).keysPerPage(16).open()) {
      assertHolds(model, store.openMap("index"));
    }
  }

  /** The map holds exactly the model's entries, in its order, and finds each by an equal key of its own. */
  private static void assertHolds(TreeMap<KeyValue, Integer> model, MVMap<KeyValue, Object> map) {
    assertEquals(model.size(), map.size());
    Iterator<KeyValue> it = map.keyIterator(null);
    for (Map.Entry<KeyValue, Integer> expected : model.entrySet()) {
      assertEquals(expected.getKey(), it.next());
      assertEquals(expected.getValue(), map.get(new KeyValue(expected.getKey().stream().toList())),
          "value of " + expected.getKey());
    }
  }
}
