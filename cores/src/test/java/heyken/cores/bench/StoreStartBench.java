package heyken.cores.bench;

import com.mongodb.client.MongoClient;
import com.mongodb.client.MongoCollection;
import com.mongodb.client.model.IndexOptions;
import com.mongodb.client.model.Indexes;
import heyken.actors.store.MongoStore;
import heyken.cores.store.HeykenStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;
import org.bson.Document;
import org.bson.types.Binary;

/**
 * How long the embedded store takes to open as its journal grows (bench/soak.sh --start-only; not a test).
 * {@code fill DIR EVENTS}: writes EVENTS journal documents in the persistence plugin's format (one event per
 * document, as a single {@code persist} writes them; 1,000 persistence ids) into a store under DIR and stops it
 * cleanly. {@code open DIR}: opens that store as {@code heyken-core.jar store} does and prints how long it took and
 * how long the first journal read took.
 */
public final class StoreStartBench {

  private StoreStartBench() {}

  public static void main(String[] args) throws Exception {
    Path dir = Path.of(args[1]);
    HeykenStore.Settings settings = new HeykenStore.Settings("127.0.0.1", 0, dir.resolve("store/heyken.mv"), 64,
        Duration.ofSeconds(10), Duration.ofSeconds(1), Duration.ofSeconds(5), "heyken_leases", 4);
    switch (args[0]) {
      case "fill" -> fill(settings, Long.parseLong(args[2]));
      case "open" -> open(settings);
      default -> throw new IllegalArgumentException("fill DIR EVENTS | open DIR");
    }
  }

  static void fill(HeykenStore.Settings settings, long events) throws Exception {
    HeykenStore store = new HeykenStore(settings);
    String uri = "mongodb://127.0.0.1:" + store.start().getPort() + "/heyken";
    long t0 = System.nanoTime();
    AtomicLong done = new AtomicLong();
    int writers = 4;
    ExecutorService pool = Executors.newFixedThreadPool(writers);
    try (MongoClient client = MongoStore.create(uri, Duration.ofMinutes(5))) {
      MongoCollection<Document> journal = client.getDatabase("heyken").getCollection("akka_persistence_journal");
      // the plugin's indexes on the journal (the store keeps the unique one, ignores the others)
      journal.createIndex(Indexes.ascending("pid", "from", "to"), new IndexOptions().unique(true));
      journal.createIndex(Indexes.ascending("pid", "to"));
      List<Future<?>> parts = new ArrayList<>();
      for (int w = 0; w < writers; w++) {
        int writer = w;
        parts.add(pool.submit(() -> {
          long perWriter = events / writers;
          List<Document> batch = new ArrayList<>();
          for (long i = 0; i < perWriter; i++) {
            String pid = "Feature|" + (writer * 250 + i % 250);
            long sn = i / 250 + 1;
            batch.add(new Document("pid", pid).append("from", sn).append("to", sn).append("v", 1)
                .append("events", List.of(new Document("pid", pid).append("sn", sn).append("_t", "ser")
                    .append("p", new Binary(new byte[120])).append("_h", "heyken.actors.feature.Feature$TestsPassed")
                    .append("_si", 33).append("_sm", "heyken.actors.feature.Feature$TestsPassed")
                    .append("_w", "0f6c6f0e-6a8e-4c38-a1a4-2c3b0d9b8e11"))));
            if (batch.size() == 1000) {
              journal.insertMany(batch);
              batch.clear();
              long n = done.addAndGet(1000);
              if (n % 100_000 == 0) {
                System.out.printf("  %,d events written (%.0f s)%n", n, (System.nanoTime() - t0) / 1e9);
              }
            }
          }
          if (!batch.isEmpty()) {
            journal.insertMany(batch);
          }
          return null;
        }));
      }
      for (Future<?> f : parts) {
        f.get();
      }
    } finally {
      pool.shutdown();
    }
    long stop0 = System.nanoTime();
    store.stop();
    System.out.printf("filled: %,d events in %.0f s, stop (commit + compaction) %.1f s, file %,d MB%n", events,
        (stop0 - t0) / 1e9, (System.nanoTime() - stop0) / 1e9, Files.size(settings.file()) >> 20);
  }

  static void open(HeykenStore.Settings settings) {
    long size = settings.file().toFile().length();
    long t0 = System.nanoTime();
    HeykenStore store = new HeykenStore(settings);
    String uri = "mongodb://127.0.0.1:" + store.start().getPort() + "/heyken";
    long opened = System.nanoTime();
    try (MongoClient client = MongoStore.create(uri, Duration.ofMinutes(5))) {
      Document first = client.getDatabase("heyken").getCollection("akka_persistence_journal")
          .find(new Document("pid", "Feature|1")).first();
      long read = System.nanoTime();
      System.out.printf("open: file %,d MB, store listening after %.2f s, first journal read %.2f s later (%s)%n",
          size >> 20, (opened - t0) / 1e9, (read - opened) / 1e9, first == null ? "none" : "found");
    }
    store.stop();
  }
}
