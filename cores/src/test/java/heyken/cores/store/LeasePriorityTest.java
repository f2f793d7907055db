package heyken.cores.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import com.mongodb.client.MongoClient;
import com.mongodb.client.MongoCollection;
import com.mongodb.client.model.Filters;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import heyken.actors.cluster.LeaseRenewals;
import heyken.actors.cluster.MongoLease;
import heyken.actors.store.MongoStore;
import heyken.protocol.api.SystemStatus;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Adapter;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.coordination.lease.javadsl.Lease;
import org.apache.pekko.coordination.lease.javadsl.LeaseProvider;
import org.bson.Document;
import org.bson.types.Binary;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/**
 * The control plane has priority: the lease renews on time in the real embedded store while bulk journal writes and
 * scans hit it, and a renewal slower than half the TTL is reported with its time.
 */
class LeasePriorityTest {

  static final Duration TTL = Duration.ofSeconds(4);
  static final Duration INTERVAL = Duration.ofSeconds(1);

  @TempDir
  Path dir;

  HeykenStore store;
  ActorSystem<Void> system;
  final List<AutoCloseable> closeLater = new ArrayList<>();

  @AfterEach
  void stop() throws Exception {
    for (int i = closeLater.size() - 1; i >= 0; i--) {
      closeLater.get(i).close();
    }
    if (system != null) {
      system.terminate();
      system.getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }
    if (store != null) {
      store.stop();
    }
  }

  HeykenStore.Settings storeSettings() {
    return new HeykenStore.Settings("127.0.0.1", 0, dir.resolve("store/heyken.mv"), 64, Duration.ofSeconds(10),
        Duration.ofSeconds(1), Duration.ZERO, "heyken_leases", 4);
  }

  static Config leaseConfig(String uri, Duration ttl, Duration interval, Duration operationTimeout,
      Duration connectTimeout) {
    return ConfigFactory.parseString("""
        pekko.actor.provider = local
        heyken.mongo.uri = "%s"
        heyken.lease.connect-timeout = %dms
        heyken.lease.operation-timeout = %dms
        heyken-mongo-lease {
          heartbeat-timeout = %dms
          heartbeat-interval = %dms
          lease-operation-timeout = %dms
        }
        """.formatted(uri, connectTimeout.toMillis(), operationTimeout.toMillis(), ttl.toMillis(),
        interval.toMillis(), operationTimeout.toMillis())).withFallback(ConfigFactory.load()).resolve();
  }

  Lease lease(String owner) {
    return LeaseProvider.get(Adapter.toClassic(system)).getLease("heyken-singleton-test", "heyken-mongo-lease",
        owner);
  }

  @Test
  void theLeaseRenewsOnTimeWhileBulkWritesAndScansHitTheStore() throws Exception {
    store = new HeykenStore(storeSettings());
    int port = store.start().getPort();
    String uri = "mongodb://127.0.0.1:" + port + "/heyken";
    system = ActorSystem.create(Behaviors.empty(), "lease-priority",
        leaseConfig(uri, TTL, INTERVAL, Duration.ofSeconds(2), Duration.ofSeconds(1)));

    // the load: journal-shaped batches of 100 events of 1 KB from 4 writers, and a scan of the whole journal by
    // another client (the store ignores secondary indexes: every query of a pid reads the collection)
    AtomicBoolean running = new AtomicBoolean(true);
    AtomicLong written = new AtomicLong();
    AtomicInteger scans = new AtomicInteger();
    List<Thread> load = new ArrayList<>();
    for (int w = 0; w < 4; w++) {
      int writer = w;
      load.add(start("bulk-writer-" + w, () -> {
        try (MongoClient client = MongoStore.create(uri, Duration.ofSeconds(30))) {
          MongoCollection<Document> journal = client.getDatabase("heyken").getCollection("pekko_persistence_journal");
          long seq = 0;
          while (running.get()) {
            List<Document> batch = new ArrayList<>();
            for (int i = 0; i < 100; i++, seq++) {
              batch.add(new Document("pid", "bulk-" + writer).append("from", seq).append("to", seq)
                  .append("events", List.of(new Document("sn", seq).append("p", new Binary(new byte[1024])))));
            }
            journal.insertMany(batch);
            written.addAndGet(batch.size());
          }
        }
      }));
    }
    load.add(start("bulk-scanner", () -> {
      try (MongoClient client = MongoStore.create(uri, Duration.ofSeconds(60))) {
        MongoCollection<Document> journal = client.getDatabase("heyken").getCollection("pekko_persistence_journal");
        while (running.get()) {
          journal.find(Filters.eq("pid", "nobody")).first();
          scans.incrementAndGet();
        }
      }
    }));
    closeLater.add(() -> {
      running.set(false);
      for (Thread t : load) {
        t.join(60_000);
      }
    });

    // until the journal is big enough for the scans and writes to take their time
    long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (written.get() < 50_000 && System.nanoTime() < until) {
      Thread.sleep(200);
    }

    AtomicInteger lost = new AtomicInteger();
    Lease lease = lease("core-1");
    long before = LeaseRenewals.get().snapshot().renewals();
    assertTrue(await(lease.acquire(reason -> lost.incrementAndGet())), "the lease was not acquired under load");
    long renewingUntil = System.nanoTime() + TimeUnit.SECONDS.toNanos(12);
    while (System.nanoTime() < renewingUntil) {
      assertTrue(lease.checkLease(), "the holder lost the lease under bulk load");
      Thread.sleep(100);
    }
    SystemStatus.LeaseStatus stats = LeaseRenewals.get().snapshot();
    long writtenDuring = written.get();
    running.set(false);
    System.out.printf("lease renewals under bulk load: %d renewals, p50 %s ms, p99 %s ms, max %s ms; "
            + "%d journal documents written, %d full scans%n", stats.renewals() - before, stats.renewalMsP50(),
        stats.renewalMsP99(), stats.renewalMsMax(), writtenDuring, scans.get());
    assertEquals(0, lost.get(), "the lost callback ran");
    assertTrue(stats.renewals() - before >= 8, "too few renewals in 12 s: " + stats);
    assertTrue(stats.renewalMsMax() < TTL.toMillis() / 2.0, "a renewal took more than half the TTL: " + stats);
    assertTrue(scans.get() > 0 && writtenDuring > 50_000, "the load did not run: " + writtenDuring + " " + scans);
    await(lease.release());
  }

  @Test
  void aRenewalSlowerThanHalfTheTtlIsLoggedWithItsTime() throws Exception {
    store = new HeykenStore(storeSettings());
    int port = store.start().getPort();
    DelayingProxy proxy = new DelayingProxy(port);
    closeLater.add(proxy);
    // TTL 2 s: a renewal (two round trips: the store's clock, then the write) delayed by 2 x 600 ms takes more than
    // half of it, yet less than the TTL, so the lease is kept and the WARN says how long it took
    system = ActorSystem.create(Behaviors.empty(), "lease-slow",
        leaseConfig("mongodb://127.0.0.1:" + proxy.port() + "/heyken", Duration.ofSeconds(2),
            Duration.ofMillis(300), Duration.ofMillis(1800), Duration.ofSeconds(5)));
    Logger leaseLog = (Logger) LoggerFactory.getLogger(MongoLease.class);
    ListAppender<ILoggingEvent> appender = new ListAppender<>();
    appender.start();
    leaseLog.addAppender(appender);
    closeLater.add(() -> leaseLog.detachAppender(appender));

    AtomicInteger lost = new AtomicInteger();
    Lease lease = lease("core-1");
    assertTrue(await(lease.acquire(reason -> lost.incrementAndGet())));
    Thread.sleep(1000); // a few fast renewals first: no warning for them
    assertTrue(warnings(appender).isEmpty(), "warned about fast renewals: " + warnings(appender));

    proxy.delayMillis = 600;
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (warnings(appender).isEmpty() && System.nanoTime() < deadline) {
      Thread.sleep(100);
    }
    List<String> warnings = warnings(appender);
    assertTrue(!warnings.isEmpty(), "no WARN about the slow renewal");
    String line = warnings.get(0);
    assertTrue(line.matches("lease renewal took 1\\.[2-9] s \\(TTL 2 s, more than half\\): the store is slow; check "
        + ".*store\\.log.*"), line);
    assertTrue(LeaseRenewals.get().snapshot().slowRenewals() > 0);
    assertTrue(LeaseRenewals.get().snapshot().renewalMsMax() >= 1000);
    assertEquals(0, lost.get(), "a renewal below the TTL lost the lease");
    proxy.delayMillis = 0;
    await(lease.release());
  }

  static List<String> warnings(ListAppender<ILoggingEvent> appender) {
    synchronized (appender.list) {
      return appender.list.stream().map(ILoggingEvent::getFormattedMessage)
          .filter(m -> m.startsWith("lease renewal took")).toList();
    }
  }

  static Thread start(String name, Runnable body) {
    Thread t = new Thread(body, name);
    t.setDaemon(true);
    t.start();
    return t;
  }

  static <T> T await(CompletionStage<T> stage) {
    try {
      return stage.toCompletableFuture().get(30, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  /** A TCP proxy to the store that holds back each answer by {@code delayMillis}: a slow store at a seam. */
  static final class DelayingProxy implements AutoCloseable {
    volatile int delayMillis;
    private final ServerSocket server;
    private final List<Socket> sockets = new ArrayList<>();

    DelayingProxy(int target) throws IOException {
      server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
      start("proxy-accept", () -> {
        while (!server.isClosed()) {
          try {
            Socket client = server.accept();
            Socket upstream = new Socket();
            upstream.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), target));
            synchronized (sockets) {
              sockets.add(client);
              sockets.add(upstream);
            }
            pipe(client, upstream, false);
            pipe(upstream, client, true);
          } catch (IOException closed) {
            return;
          }
        }
      });
    }

    int port() {
      return server.getLocalPort();
    }

    private void pipe(Socket from, Socket to, boolean delayed) {
      start("proxy-pipe", () -> {
        byte[] buffer = new byte[64 * 1024];
        try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
          int n;
          while ((n = in.read(buffer)) >= 0) {
            int delay = delayMillis;
            if (delayed && delay > 0) {
              Thread.sleep(delay);
            }
            out.write(buffer, 0, n);
            out.flush();
          }
        } catch (IOException | InterruptedException closed) {
          // the other side went away
        }
      });
    }

    @Override
    public void close() throws IOException {
      server.close();
      synchronized (sockets) {
        for (Socket s : sockets) {
          s.close();
        }
      }
    }
  }
}
