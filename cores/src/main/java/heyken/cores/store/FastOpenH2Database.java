package heyken.cores.store;

import de.bwaldvogel.mongo.MongoCollection;
import de.bwaldvogel.mongo.backend.CollectionOptions;
import de.bwaldvogel.mongo.backend.CursorRegistry;
import de.bwaldvogel.mongo.backend.EmptyIndex;
import de.bwaldvogel.mongo.backend.Index;
import de.bwaldvogel.mongo.backend.IndexKey;
import de.bwaldvogel.mongo.backend.KeyValue;
import de.bwaldvogel.mongo.backend.h2.H2Database;
import de.bwaldvogel.mongo.bson.Document;
import java.util.ArrayList;
import java.util.List;
import org.h2.mvstore.MVMap;
import org.h2.mvstore.MVStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * mongo-java-server's H2 database with secondary indexes that are opened, not rebuilt, on every open.
 * mongo-java-server keeps only unique indexes: a secondary index (the persistence plugin creates two on the journal,
 * {@code pid, to} and {@code _tg}) was an always-empty placeholder, which it "built" by reading every document of
 * its collection twice, on every open (measured: a 500 MB store took 108 s to open, 80 % of it in these scans), and
 * every query by persistence id read the whole journal. Here a secondary index whose first key is a top-level field
 * is a {@link PersistedSecondaryIndex} kept in the store's file: opened on every open, built once (from a file
 * written before it existed, or when it is created on a collection that has documents) with its progress in the
 * {@code heyken.progress} log. Any other secondary index stays a placeholder that says it is not empty, so nothing is
 * scanned for an index that keeps nothing anyway. Every map of a collection (its documents, its indexes) is opened
 * here first, with {@link StoreObjectType} (a unique index's keys with {@link UniqueIndexKeyType}), before H2Database
 * opens it by name and so gets the map opened here.
 */
final class FastOpenH2Database extends H2Database {

  private static final Logger progress = LoggerFactory.getLogger("heyken.progress");

  // H2Database's constructor opens the indexes, before this class could keep the MVStore (H2Database's is private):
  // the store being opened on this thread, for the indexes opened by that constructor
  private static final ThreadLocal<MVStore> OPENING = new ThreadLocal<>();

  private final MVStore mvStore;
  // the persisted indexes opened so far (also by H2Database's constructor, before this class's fields are set)
  private List<PersistedSecondaryIndex> persisted;

  FastOpenH2Database(String databaseName, MVStore mvStore, CursorRegistry cursorRegistry) {
    super(databaseName, opening(mvStore), cursorRegistry);
    OPENING.remove();
    this.mvStore = mvStore;
    progress.info("opening store: database {} open", databaseName);
  }

  @Override
  protected MongoCollection<Object> openOrCreateCollection(String collectionName, CollectionOptions options) {
    documents(store(), getFullCollectionNamespace(collectionName));
    return super.openOrCreateCollection(collectionName, options);
  }

  @Override
  protected Index<Object> openOrCreateUniqueIndex(String collectionName, String indexName, List<IndexKey> keys,
      boolean sparse) {
    store().openMap(indexMapName(collectionName, indexName),
        new MVMap.Builder<KeyValue, Object>().keyType(new UniqueIndexKeyType()).valueType(new StoreObjectType()));
    return super.openOrCreateUniqueIndex(collectionName, indexName, keys, sparse);
  }

  @Override
  protected Index<Object> openOrCreateSecondaryIndex(String collectionName, String indexName, List<IndexKey> keys,
      boolean sparse) {
    if (!PersistedSecondaryIndex.supports(keys)) {
      return new IgnoredIndex(indexName, keys);
    }
    MVStore mvStore = store();
    String namespace = getFullCollectionNamespace(collectionName);
    // under the name of a unique index's map, so that H2Database's dropIndex removes it
    MVMap<String, Object> map = mvStore.openMap(indexMapName(collectionName, indexName),
        new MVMap.Builder<String, Object>().valueType(new StoreObjectType()));
    MVMap<Object, Document> documents = documents(mvStore, namespace);
    long total = documents.sizeAsLong();
    long t0 = System.nanoTime();
    long[] lastReport = {t0};
    PersistedSecondaryIndex index = PersistedSecondaryIndex.open(map, documents, indexName, keys, sparse, read -> {
      long now = System.nanoTime();
      if (now - lastReport[0] > 5_000_000_000L) {
        lastReport[0] = now;
        progress.info("opening store: building index {} of {} (once): {} of {} documents", indexName, namespace,
            read, total);
      }
    });
    if (persisted == null) {
      persisted = new ArrayList<>();
    }
    persisted.add(index);
    if (index.builtFromDocuments() >= 0) {
      mvStore.commit(); // the build is done once: keep it, with its mark of completeness
      progress.info("opening store: index {} of {} built from {} documents in {} ms (once: later opens open it)",
          indexName, namespace, index.builtFromDocuments(), (System.nanoTime() - t0) / 1_000_000);
    }
    return index;
  }

  /** At a clean close, after the last write: every persisted index matches its collection. */
  void markIndexesMatching() {
    if (persisted != null) {
      persisted.forEach(PersistedSecondaryIndex::markMatching);
    }
  }

  private MVStore store() {
    return mvStore != null ? mvStore : OPENING.get();
  }

  /** The name H2Database gives an index's map (its mapNameForIndex, which is private). */
  private String indexMapName(String collectionName, String indexName) {
    return getFullCollectionNamespace(collectionName) + "._index_" + indexName;
  }

  /** A collection's documents, by the name H2Database gives the map. */
  private static MVMap<Object, Document> documents(MVStore mvStore, String namespace) {
    return mvStore.openMap("databases." + namespace,
        new MVMap.Builder<Object, Document>().keyType(new StoreObjectType()).valueType(new StoreObjectType()));
  }

  private static MVStore opening(MVStore mvStore) {
    OPENING.set(mvStore);
    return mvStore;
  }

  /** Keeps nothing, like mongo-java-server's {@link EmptyIndex}, and needs no build. */
  private static final class IgnoredIndex extends EmptyIndex<Object> {
    IgnoredIndex(String name, List<IndexKey> keys) {
      super(name, keys);
    }

    @Override
    public boolean isEmpty() {
      return false;
    }
  }
}
