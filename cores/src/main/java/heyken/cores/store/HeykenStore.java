package heyken.cores.store;

import com.typesafe.config.Config;
import de.bwaldvogel.mongo.MongoBackend;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.BindException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import org.h2.mvstore.DataUtils;
import org.h2.mvstore.MVStore;
import org.h2.mvstore.MVStoreException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The embedded MongoDB-protocol store {@code heyken-store}: mongo-java-server on an H2 file that commits every write
 * before acknowledging it. Runs in its own process ({@code heyken-core.jar store}) so that both cores can use it and
 * a core crash does not take the data with it.
 */
public final class HeykenStore {

  private static final Logger log = LoggerFactory.getLogger(HeykenStore.class);

  /** Exit code of {@link #run} when the store cannot start here (port taken, file locked, directory not writable). */
  public static final int EXIT_CANNOT_START = 2;

  /**
   * Where the store listens and keeps its file, and how the file is kept small.
   *
   * <p>With a commit per write every write appends a chunk of about 40 KB (measured: 12 pages, mostly the rewritten
   * leaf and root pages of the collection, its _id index and MVStore's chunk layout). The chunk is dead after the next
   * commit, but MVStore reuses its space only after {@code retention}. With H2's default of 45 s the file grew to
   * 284 MB at a steady 100 writes/s for 90 s and kept growing (1.1 GB in the spike's burst); with 10 s it stayed at
   * 80 MB from the 60th second on (25 MB after a clean stop). Why retention is not 0 and why 10 s is safe here:
   * <ul>
   *   <li>H2 keeps dead chunks so that a power loss, which may drop writes the OS has not flushed, can fall back to
   *       an older version whose pages are still intact. It assumes the disk has everything older than the retention
   *       time; we make that true by fsyncing every {@code sync-interval} (1 s, far below 10 s).</li>
   *   <li>A reader that started on an older version may need a dead chunk. mongo-java-server reads a query's result
   *       in one scan (of the documents an index returns, or of the whole collection); a scan longer than the
   *       retention time would fail with an error, not read wrong data. The 64 MB cache keeps scans short (the
   *       spike: 200k documents took 9 s with H2's default 16 MB cache, 0.3 s with a large one), and Heyken keeps
   *       journals small with snapshots.</li>
   * </ul>
   * A clean stop compacts the file for up to {@code close-compact-time}; the background writer's auto-compaction
   * (H2 default fill rate 90 %) works while the store is idle.
   */
  public record Settings(String host, int port, Path file, int cacheSizeMb, Duration retention, Duration syncInterval,
      Duration closeCompactTime, String controlCollection, int dataThreads) {

    /** The control backend's file (the lease collection), next to the data file. */
    public Path controlFile() {
      return file.resolveSibling("control.mv");
    }

    public static Settings from(Config config) {
      Path file = Path.of(config.getString("heyken.store.file"));
      if (!file.isAbsolute()) {
        file = Path.of(config.getString("heyken.data-dir")).resolve(file);
      }
      return new Settings(
          config.getString("heyken.store.host"),
          config.getInt("heyken.store.port"),
          file.toAbsolutePath().normalize(),
          config.hasPath("heyken.store.cache-size-mb") ? config.getInt("heyken.store.cache-size-mb") : 64,
          optionalDuration(config, "heyken.store.retention", Duration.ofSeconds(10)),
          optionalDuration(config, "heyken.store.sync-interval", Duration.ofSeconds(1)),
          optionalDuration(config, "heyken.store.close-compact-time", Duration.ofSeconds(5)),
          config.hasPath("heyken.lease.collection") ? config.getString("heyken.lease.collection") : "heyken_leases",
          config.hasPath("heyken.store.data-threads") ? config.getInt("heyken.store.data-threads") : 4);
    }

    private static Duration optionalDuration(Config config, String path, Duration fallback) {
      return config.hasPath(path) ? config.getDuration(path) : fallback;
    }
  }

  /** Why the store cannot start here, in one line that says what to do. */
  public static final class CannotStart extends RuntimeException {
    CannotStart(String message, Throwable cause) {
      super(message, cause);
    }
  }

  // Every commit rewrites the leaf pages it touched: 16 entries instead of H2's 48 cut the chunk of one insert from
  // about 44 KB to 24 KB (measured with 3000 inserts of 350-byte documents), at the price of deeper trees.
  private static final int KEYS_PER_PAGE = 16;

  private final Settings settings;
  private StoreServer server;

  public HeykenStore(Settings settings) {
    this.settings = settings;
  }

  public Settings settings() {
    return settings;
  }

  /** Opens the file and binds the port; returns the bound address (useful with port 0). */
  public synchronized InetSocketAddress start() {
    if (server != null) {
      return server.localAddress();
    }
    // check the port before touching the file: a second store on the same data dir would otherwise fail on the file
    // lock and hide the real cause
    checkPortIsFree();
    MVStore dataStore = open(settings.file());
    MVStore controlStore;
    try {
      controlStore = open(settings.controlFile());
    } catch (RuntimeException e) {
      dataStore.close();
      throw e;
    }
    int compactMillis = (int) settings.closeCompactTime().toMillis();
    StoreServer candidate = new StoreServer(
        new CommitOnWriteH2Backend(dataStore, settings.syncInterval(), compactMillis),
        new CommitOnWriteH2Backend(controlStore, settings.syncInterval(), compactMillis),
        settings.controlCollection(), settings.dataThreads());
    InetSocketAddress bound;
    try {
      bound = candidate.bind(settings.host(), settings.port());
    } catch (RuntimeException e) {
      candidate.shutdownNow(); // closes the backends and the files too
      if (isBindFailure(e)) {
        throw portInUse(e);
      }
      throw e;
    }
    server = candidate;
    log.info("heyken-store started on {}:{} with {} (collection {} in {})", settings.host(), bound.getPort(),
        settings.file(), settings.controlCollection(), settings.controlFile());
    return bound;
  }

  /** Closes client connections, commits and compacts the file, and closes it. Idempotent. */
  public synchronized void stop() {
    if (server == null) {
      return;
    }
    server.shutdownNow(); // ends with the backends' close(): commit, compact, close the MVStores
    server = null;
    log.info("heyken-store stopped ({})", settings.file());
  }

  /** The running store's data backend (null when stopped): for tests that look at its collections and indexes. */
  synchronized MongoBackend dataBackend() {
    return server == null ? null : server.data();
  }

  private void checkPortIsFree() {
    if (settings.port() == 0) {
      return;
    }
    try (ServerSocket probe = new ServerSocket()) {
      probe.setReuseAddress(true); // as the server will: a port in TIME_WAIT is free, one in LISTEN is not
      probe.bind(new InetSocketAddress(settings.host(), settings.port()));
    } catch (BindException e) {
      throw portInUse(e);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static final Logger progress = LoggerFactory.getLogger("heyken.progress");

  private MVStore open(Path file) {
    long size = file.toFile().length();
    progress.info("opening store: {} ({} MB)", file.getFileName(), size >> 20);
    try {
      Files.createDirectories(file.getParent());
    } catch (IOException e) {
      throw new CannotStart("heyken-store: cannot create the directory " + file.getParent() + " (" + e
          + "): set HEYKEN_DATA_DIR or HEYKEN_STORE_FILE to a writable place", e);
    }
    try {
      MVStore store = new MVStore.Builder()
          .fileName(file.toString())
          .cacheSize(settings.cacheSizeMb())
          .keysPerPage(KEYS_PER_PAGE)
          .open();
      store.setRetentionTime((int) settings.retention().toMillis()); // not persisted in the file: set on every open
      progress.info("opening store: {} read, opening its databases", file.getFileName());
      return store;
    } catch (MVStoreException e) {
      if (e.getErrorCode() == DataUtils.ERROR_FILE_LOCKED) {
        throw new CannotStart("heyken-store: the data file " + file + " is in use by another process (another "
            + "heyken-store running? stop it with scripts/stop.sh)", e);
      }
      throw e;
    }
  }

  private CannotStart portInUse(Exception cause) {
    return new CannotStart("heyken-store: port " + settings.port() + " on " + settings.host() + " is already in use"
        + " (another heyken-store running? stop it with scripts/stop.sh, or set HEYKEN_STORE_PORT to a free port)",
        cause);
  }

  private static boolean isBindFailure(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof BindException
          || String.valueOf(t.getMessage()).contains("Address already in use")) {
        return true;
      }
    }
    return false;
  }

  /**
   * The {@code store} command: starts the store from {@code heyken.store.*}, prints one line saying where it
   * listens, and blocks until the JVM shuts down (SIGTERM, Ctrl-C), when a shutdown hook stops it cleanly. When it
   * cannot start it prints one line saying why and what to do and exits the JVM with {@link #EXIT_CANNOT_START}.
   */
  public static void run(Config config) {
    HeykenStore store = new HeykenStore(Settings.from(config));
    InetSocketAddress address;
    try {
      address = store.start();
    } catch (CannotStart e) {
      System.err.println(e.getMessage());
      System.err.flush();
      System.exit(EXIT_CANNOT_START);
      return;
    }
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      try {
        store.stop();
      } finally {
        stopped.countDown();
      }
    }, "heyken-store-shutdown"));
    System.out.println("heyken-store listening on " + address.getHostString() + ":" + address.getPort()
        + " (data: " + store.settings().file() + ")");
    System.out.flush();
    boolean interrupted = false;
    while (stopped.getCount() > 0) {
      try {
        stopped.await();
      } catch (InterruptedException e) {
        interrupted = true;
      }
    }
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
  }
}
