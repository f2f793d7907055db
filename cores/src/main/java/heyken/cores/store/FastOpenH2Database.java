package heyken.cores.store;

import de.bwaldvogel.mongo.backend.CursorRegistry;
import de.bwaldvogel.mongo.backend.EmptyIndex;
import de.bwaldvogel.mongo.backend.Index;
import de.bwaldvogel.mongo.backend.IndexKey;
import de.bwaldvogel.mongo.backend.h2.H2Database;
import java.util.List;
import org.h2.mvstore.MVStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * mongo-java-server's H2 database without the full scans of ignored indexes. The store keeps only unique indexes;
 * a secondary index (the persistence plugin creates several on the journal) becomes an always-empty placeholder,
 * and mongo-java-server "builds" an empty index by reading every document of its collection twice. It did that for
 * every secondary index on every open: measured, a 500 MB store took 108 s to open, 80 % of it in these scans
 * (JFR), and the cores' start waited for it. The placeholder here says it is not empty, so nothing is scanned for
 * an index that keeps nothing anyway.
 */
final class FastOpenH2Database extends H2Database {

  private static final Logger progress = LoggerFactory.getLogger("heyken.progress");

  FastOpenH2Database(String databaseName, MVStore mvStore, CursorRegistry cursorRegistry) {
    super(databaseName, mvStore, cursorRegistry);
    progress.info("opening store: database {} open", databaseName);
  }

  @Override
  protected Index<Object> openOrCreateSecondaryIndex(String collectionName, String indexName, List<IndexKey> keys,
      boolean sparse) {
    return new IgnoredIndex(indexName, keys);
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
