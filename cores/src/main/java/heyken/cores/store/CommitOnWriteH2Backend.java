package heyken.cores.store;

import de.bwaldvogel.mongo.backend.h2.H2Backend;
import de.bwaldvogel.mongo.bson.Document;
import io.netty.channel.Channel;
import java.time.Duration;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.h2.mvstore.MVStore;
import org.h2.mvstore.MVStoreException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * mongo-java-server's H2 backend, made crash-safe for acknowledged writes: it commits the MVStore after every
 * command that can change data, before the reply leaves (the plain backend commits about once a second, and a
 * {@code kill -9} lost 20 of 30 acknowledged events in the persistence spike). A commit hands the data to the OS,
 * which is what survives a killed process. The file is also fsynced every {@code syncInterval} (not per write): that
 * keeps H2's assumption that written chunks are on disk well within the retention time, which lets the store run with
 * a retention of seconds (see {@link HeykenStore.Settings}). Power loss was not tested.
 */
public class CommitOnWriteH2Backend extends H2Backend {

  private static final Logger log = LoggerFactory.getLogger(CommitOnWriteH2Backend.class);

  // Commands that only read. Every other command commits: a command we do not know (a new write command, aggregate
  // with $out) then costs one commit call, which returns at once when nothing changed; a write we forgot would
  // silently lose acknowledged data after a crash.
  private static final Set<String> READ_ONLY = Set.of(
      "find", "getmore", "killcursors", "count", "distinct", "listcollections", "listindexes",
      "listdatabases", "dbstats", "collstats", "datasize", "validate", "explain",
      "hello", "ismaster", "buildinfo", "ping", "serverstatus", "whatsmyuri", "hostinfo", "getcmdlineopts",
      "getparameter", "getlog", "getlasterror", "getfreemonitoringstatus", "connectionstatus", "replsetgetstatus",
      "endsessions", "startsession", "saslstart", "saslcontinue", "currentop", "features");

  private final int closeCompactMillis;
  private java.util.List<FastOpenH2Database> databases;
  private final ScheduledExecutorService syncer;

  /**
   * @param mvStore the opened store (see {@link HeykenStore.Settings} for the settings that keep its file small)
   * @param syncInterval how often the file is fsynced (0: never); it must stay well below the store's retention time,
   *     see {@link HeykenStore.Settings}
   * @param closeCompactMillis how long a clean shutdown may spend compacting the file before closing it
   */
  public CommitOnWriteH2Backend(MVStore mvStore, Duration syncInterval, int closeCompactMillis) {
    super(mvStore);
    this.closeCompactMillis = closeCompactMillis;
    if (syncInterval.isZero()) {
      this.syncer = null;
    } else {
      this.syncer = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "heyken-store-fsync");
        t.setDaemon(true);
        return t;
      });
      long ms = syncInterval.toMillis();
      syncer.scheduleWithFixedDelay(this::sync, ms, ms, TimeUnit.MILLISECONDS);
    }
  }

  private void sync() {
    try {
      MVStore store = getMvStore();
      if (!store.isClosed()) {
        store.sync();
      }
    } catch (RuntimeException e) {
      log.warn("fsync of the store file failed: {}", e.toString());
    }
  }

  // Writes run one at a time. mongo-java-server creates a collection (implicitly on the first insert, or by `create`)
  // with a check-then-insert into system.namespaces: two clients creating the same collection at once made one of
  // them fail with "Document with key ... already existed", and the persistence plugin keeps that failure for the
  // collection, so a core whose recoveries raced at a cold start never recovered. Commits are serialized by the
  // MVStore anyway, so the lock costs little.
  private final Object writeLock = new Object();

  @Override
  public Document handleCommand(Channel channel, String databaseName, String command, Document query) {
    if (!mutates(command, query)) {
      return super.handleCommand(channel, databaseName, command, query);
    }
    synchronized (writeLock) {
      try {
        return super.handleCommand(channel, databaseName, command, query);
      } finally {
        // also after a failed command: an ordered insert may have stored some documents before its error
        commit();
      }
    }
  }

  static boolean mutates(String command, Document query) {
    String name = command.toLowerCase(Locale.ROOT);
    if (name.equals("aggregate")) {
      return query != null && String.valueOf(query.get("pipeline")).matches("(?s).*\\$(out|merge)\\b.*");
    }
    return !READ_ONLY.contains(name);
  }

  @Override
  protected de.bwaldvogel.mongo.MongoDatabase openOrCreateDatabase(String databaseName) {
    // called from H2Backend's constructor too, for every database in the file
    var database = new FastOpenH2Database(databaseName, getMvStore(), getCursorRegistry());
    if (databases == null) { // H2Backend's constructor opens the file's databases before this class's fields are set
      databases = new java.util.ArrayList<>();
    }
    databases.add(database);
    return database;
  }

  /** Waits for a sync in progress; returns whether the waiting thread was interrupted meanwhile. */
  private boolean awaitSyncer() {
    boolean interrupted = false;
    while (true) {
      try {
        if (!syncer.awaitTermination(30, TimeUnit.SECONDS)) {
          log.warn("store close: the file's fsync has not returned after 30 s; closing without waiting for it");
        }
        return interrupted;
      } catch (InterruptedException e) {
        interrupted = true;
      }
    }
  }

  @Override
  public void close() {
    // the close's own file I/O must not run with an interrupt pending (it would close the channel as below): the
    // flag is cleared here and set again at the end
    boolean interrupted = Thread.interrupted();
    try {
      if (syncer != null) {
        // shutdown, not shutdownNow: an interrupt that reaches the fsync thread inside force() closes the file's
        // channel for every thread (FileChannel is interruptible), and the commit and compaction below then failed
        // with ClosedChannelException, so the next open built every index again
        syncer.shutdown();
        interrupted |= awaitSyncer();
      }
      closeStore();
    } finally {
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
    }
  }

  private void closeStore() {
    MVStore store = getMvStore();
    if (!store.isClosed()) {
      if (databases != null) {
        // the clients are gone (the server closed them first): the indexes match their collections as they are now
        try {
          databases.forEach(FastOpenH2Database::markIndexesMatching);
        } catch (RuntimeException e) {
          // never in the way of the commit and the close: an index without its mark is built again on the next open
          log.warn("store close: the indexes could not be marked as matching ({}); the next open builds them again",
              e.toString());
        }
      }
      store.commit();
      if (closeCompactMillis > 0) {
        // give back the space the per-write commits left behind, now that nobody writes any more
        try {
          store.compactFile(closeCompactMillis);
        } catch (MVStoreException e) {
          // the data is committed above; a compaction is only about the file's size
          log.warn("store close: compacting {} failed ({}); its data is committed, the file keeps its size until a "
              + "later clean stop compacts it", store.getFileStore().getFileName(), e.toString());
        }
      }
    }
    super.close();
  }
}
