package heyken.cores.store;

import de.bwaldvogel.mongo.backend.KeyValue;
import org.h2.mvstore.type.ObjectDataType;

/**
 * The key type of a unique index's map: H2's {@link ObjectDataType}, with the same file format and the same order,
 * without its cost. mongo-java-server keys a unique index by {@link KeyValue}, which is not {@link Comparable}, so
 * ObjectDataType orders two of them by their Java serializations and serialized both keys again on every compare: a
 * lookup in a 1M-entry index serialized some 40 objects through a new {@code ObjectOutputStream} each, and in a flight
 * recording of the soak benchmark's store these serializations (every journal write and lease renewal looks its keys
 * up) were 28 % of what the store allocated. Here the searched key is serialized once per lookup, and a stored key
 * (the same object in a cached page at every visit) once while it stays in a small cache by identity. The order is
 * ObjectDataType's own (its comparison of the serialized bytes), so files written before keep their order and open as
 * they are; the bytes are written as {@link StoreObjectType} writes them.
 */
public final class UniqueIndexKeyType extends StoreObjectType {

  // a direct-mapped cache of stored keys' serializations, by identity, shared by every unique index of the store:
  // slots are replaced whole (an immutable entry), so a race loses at most a cache entry, never a wrong answer
  private static final int SLOTS = 1 << 14;
  private static final Serialized[] STORED = new Serialized[SLOTS];

  // the key a lookup searches for, from one page to the next: MVMap searches every level with the same object
  private static final ThreadLocal<Serialized> SEARCHED = new ThreadLocal<>();

  private record Serialized(Object key, byte[] bytes) {}

  @Override
  public int compare(Object a, Object b) {
    if (a instanceof KeyValue && b instanceof KeyValue) {
      return a == b ? 0 : compareNotNull(stored(a), stored(b));
    }
    return super.compare(a, b);
  }

  @Override
  public int binarySearch(Object key, Object storageObj, int size, int initialGuess) {
    if (!(key instanceof KeyValue)) {
      return super.binarySearch(key, storageObj, size, initialGuess);
    }
    byte[] searched = searched(key);
    Object[] storage = (Object[]) storageObj;
    // BasicDataType's binary search, with the searched key's bytes at hand
    int low = 0;
    int high = size - 1;
    int x = initialGuess - 1;
    if (x < 0 || x > high) {
      x = high >>> 1;
    }
    while (low <= high) {
      Object other = storage[x];
      int compare = other instanceof KeyValue
          ? (other == key ? 0 : compareNotNull(searched, stored(other)))
          : super.compare(key, other);
      if (compare > 0) {
        low = x + 1;
      } else if (compare < 0) {
        high = x - 1;
      } else {
        return x;
      }
      x = (low + high) >>> 1;
    }
    return ~low;
  }

  private static byte[] searched(Object key) {
    Serialized last = SEARCHED.get();
    if (last != null && last.key == key) {
      return last.bytes;
    }
    Serialized now = new Serialized(key, serialized(key));
    SEARCHED.set(now);
    return now.bytes;
  }

  private static byte[] stored(Object key) {
    int hash = System.identityHashCode(key);
    int slot = (hash ^ (hash >>> 16)) & (SLOTS - 1);
    Serialized cached = STORED[slot];
    if (cached != null && cached.key == key) {
      return cached.bytes;
    }
    byte[] bytes = serialized(key);
    STORED[slot] = new Serialized(key, bytes);
    return bytes;
  }
}
