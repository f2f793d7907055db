package heyken.cores.store;

import de.bwaldvogel.mongo.MongoCollection;
import de.bwaldvogel.mongo.backend.Index;
import de.bwaldvogel.mongo.backend.IndexKey;
import de.bwaldvogel.mongo.bson.Document;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongConsumer;
import org.h2.mvstore.Cursor;
import org.h2.mvstore.MVMap;

/**
 * A non-unique index on the string values of its first key, kept in an MVMap of the store's file, so that opening the
 * store opens it and does not rebuild it. mongo-java-server ignores secondary indexes, and every query by persistence
 * id (the journal's replay, its highest sequence number, its deletes) read the whole journal under the collection's
 * lock (bench/startup.sh, 1M events: the fill slowed to 6k events/s, the restart had no active core in 300 s; with this
 * index 43k events/s and healthy in 14 s). This index serves a query that asks its first key to equal a string,
 * alone or inside a top-level {@code $and} (how the driver renders the plugin's {@code and(equal(pid, ..), ..)}); the
 * collection then matches the whole query against the documents it returns, so the index only has to return every
 * document that can match, never exactly those. Other queries (other values, other operators) are not served by it.
 *
 * <p>The map's keys are {@code value + '\0' + position} (the position as class name and text, which is unique for the
 * _id values Mongo clients send: ObjectIds, strings, numbers), its values the positions; one entry per string value
 * of the key's field (each string of an array). The key {@code ""} holds the collection's fingerprint (its number of
 * documents and its last position) when the index was last known to match it: after the one-time build and at a clean
 * close. An open whose collection has another fingerprint builds the index again: a store file written before this
 * index existed (no key), a build cut short or a store killed since its last clean close (the index may be behind its
 * writes), and a file an older version wrote to after this one closed it (a downgrade keeps no index: its appends
 * change the fingerprint).
 */
final class PersistedSecondaryIndex extends Index<Object> {

  private static final String COMPLETE = "";
  private static final char SEPARATOR = '\0';

  private final MVMap<String, Object> map;
  private final MVMap<Object, Document> documents;
  private final String field;
  private final AtomicLong lookups = new AtomicLong();
  private final AtomicLong positionsReturned = new AtomicLong();
  private final long builtFromDocuments;

  private PersistedSecondaryIndex(MVMap<String, Object> map, MVMap<Object, Document> documents, String name,
      List<IndexKey> keys, boolean sparse, long builtFromDocuments) {
    super(name, keys, sparse);
    this.map = map;
    this.documents = documents;
    this.field = keys.get(0).getKey();
    this.builtFromDocuments = builtFromDocuments;
  }

  /** Whether this index can stand for one with these keys: its first key must be a top-level field. */
  static boolean supports(List<IndexKey> keys) {
    return !keys.isEmpty() && !keys.get(0).getKey().contains(".");
  }

  /**
   * Opens the index kept in {@code map}; builds it from {@code documents} (the collection's data map: position to
   * document) when the map is not complete, reporting the number of documents read to {@code progress} now and then.
   */
  static PersistedSecondaryIndex open(MVMap<String, Object> map, MVMap<Object, Document> documents, String name,
      List<IndexKey> keys, boolean sparse, LongConsumer progress) {
    if (fingerprint(documents).equals(map.get(COMPLETE))) {
      return new PersistedSecondaryIndex(map, documents, name, keys, sparse, -1);
    }
    map.clear(); // what a build cut short, a killed store or another version left behind
    PersistedSecondaryIndex building = new PersistedSecondaryIndex(map, documents, name, keys, sparse, 0);
    long read = 0;
    for (Map.Entry<Object, Document> entry : documents.entrySet()) {
      building.add(entry.getValue(), entry.getKey(), null);
      if (++read % 1_000 == 0) {
        progress.accept(read);
      }
    }
    map.put(COMPLETE, fingerprint(documents));
    return new PersistedSecondaryIndex(map, documents, name, keys, sparse, read);
  }

  /** At a clean close, after the last write: the index matches the collection as it is now. */
  void markMatching() {
    if (map.isClosed() || documents.isClosed()) {
      return; // its collection or database was dropped (the upgrade's scratch copy of the journal): nothing to mark
    }
    map.put(COMPLETE, fingerprint(documents));
  }

  /** The collection's number of documents and last position: what any write of another version changes. */
  private static String fingerprint(MVMap<Object, Document> documents) {
    Object last = documents.lastKey();
    return documents.sizeAsLong() + " " + (last == null ? "" : last.getClass().getName() + ":" + last);
  }

  /** Documents read to build the index on this open; -1 when it was complete in the file. */
  long builtFromDocuments() {
    return builtFromDocuments;
  }

  /** Queries served since the open. */
  long lookups() {
    return lookups.get();
  }

  /** Positions the served queries returned (what the collection then read) since the open. */
  long positionsReturned() {
    return positionsReturned.get();
  }

  @Override
  public boolean canHandle(Document query) {
    return queriedValue(query) != null;
  }

  @Override
  public Iterable<Object> getPositions(Document query) {
    String prefix = queriedValue(query) + SEPARATOR;
    List<Object> positions = new ArrayList<>();
    Cursor<String, Object> cursor = map.cursor(prefix);
    while (cursor.hasNext()) {
      String key = cursor.next();
      if (!key.startsWith(prefix)) {
        break;
      }
      positions.add(cursor.getValue());
    }
    lookups.incrementAndGet();
    positionsReturned.addAndGet(positions.size());
    return positions;
  }

  /** The string the query asks the field to equal, or null when it asks something else. */
  private String queriedValue(Document query) {
    if (query.get(field) instanceof String value) {
      return value;
    }
    if (query.get("$and") instanceof List<?> clauses) {
      for (Object clause : clauses) {
        if (clause instanceof Document document && document.get(field) instanceof String value) {
          return value;
        }
      }
    }
    return null;
  }

  private Set<String> keysOf(Document document, Object position) {
    Object value = document.get(field);
    Set<String> keys = new LinkedHashSet<>();
    String suffix = SEPARATOR + position.getClass().getName() + ":" + position;
    if (value instanceof String string) {
      keys.add(string + suffix);
    } else if (value instanceof Collection<?> values) {
      for (Object element : values) {
        if (element instanceof String string) {
          keys.add(string + suffix);
        }
      }
    }
    return keys;
  }

  @Override
  public void add(Document document, Object position, MongoCollection<Object> collection) {
    for (String key : keysOf(document, position)) {
      map.put(key, position);
    }
  }

  @Override
  public Object remove(Document document) {
    // the H2 backend's position of a document is its _id
    Object position = document.get("_id");
    if (position != null) {
      for (String key : keysOf(document, position)) {
        map.remove(key);
      }
    }
    return position;
  }

  @Override
  public void updateInPlace(Document oldDocument, Document newDocument, Object position,
      MongoCollection<Object> collection) {
    Set<String> oldKeys = keysOf(oldDocument, position);
    Set<String> newKeys = keysOf(newDocument, position);
    for (String key : oldKeys) {
      if (!newKeys.contains(key)) {
        map.remove(key);
      }
    }
    for (String key : newKeys) {
      if (!oldKeys.contains(key)) {
        map.put(key, position);
      }
    }
  }

  @Override
  public Object getPosition(Document document) {
    return null; // the _id index says where a document is
  }

  @Override
  public void checkAdd(Document document, MongoCollection<Object> collection) {
    // not unique: nothing to check
  }

  @Override
  public void checkUpdate(Document oldDocument, Document newDocument, MongoCollection<Object> collection) {
    // not unique: nothing to check
  }

  @Override
  public long getCount() {
    return Math.max(0, map.sizeAsLong() - 1);
  }

  @Override
  public boolean isEmpty() {
    return false; // built by open(): mongo-java-server must not scan the collection to "build" it again
  }

  @Override
  public long getDataSize() {
    return getCount();
  }

  @Override
  public void drop() {
    // H2Database.dropIndex removes the map (it has the name of a unique index's map)
  }

  @Override
  public String toString() {
    return "PersistedSecondaryIndex[name=" + getName() + ", field=" + field + "]";
  }
}
