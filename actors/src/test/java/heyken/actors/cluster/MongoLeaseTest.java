package heyken.actors.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.mongodb.client.MongoClient;
import com.mongodb.client.MongoCollection;
import com.mongodb.client.MongoDatabase;
import com.mongodb.client.model.Filters;
import com.mongodb.client.model.Updates;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import de.bwaldvogel.mongo.MongoServer;
import de.bwaldvogel.mongo.backend.memory.MemoryBackend;
import heyken.actors.store.MongoStore;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.Date;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Adapter;
import org.apache.pekko.coordination.lease.LeaseException;
import org.apache.pekko.coordination.lease.LeaseTimeoutException;
import org.apache.pekko.coordination.lease.javadsl.Lease;
import org.apache.pekko.coordination.lease.javadsl.LeaseProvider;
import org.bson.Document;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;

/** The Mongo TTL lease against an embedded mongo-java-server whose clock the test controls. */
class MongoLeaseTest {

  static final Duration TTL = Duration.ofMillis(1500);
  static final Duration INTERVAL = Duration.ofMillis(300);
  static final String COLLECTION = "heyken_leases";
  static final String LEASE_CONFIG = "heyken-mongo-lease";

  /** The store's clock: host time plus an offset the tests move. */
  static final class StoreClock extends Clock {
    volatile Duration offset = Duration.ZERO;

    @Override
    public ZoneId getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(ZoneId zone) {
      return this;
    }

    @Override
    public Instant instant() {
      return Instant.now().plus(offset);
    }
  }

  static final StoreClock storeClock = new StoreClock();
  static MongoServer server;
  static String uri;
  static ActorTestKit testKit;
  static MongoDatabase db;
  static MongoClient client;

  String leaseName;

  static Config config(String mongoUri) {
    // actors tests do not see the root application.conf: the blocks the lease needs, with short timings
    return ConfigFactory.parseString("""
        heyken.mongo { uri = "%s", database = "heyken", operation-timeout = 2s }
        heyken.lease.collection = "%s"
        heyken-blocking-dispatcher {
          type = Dispatcher
          executor = "thread-pool-executor"
          thread-pool-executor.fixed-pool-size = 16
          throughput = 1
        }
        heyken-mongo-lease {
          lease-class = "heyken.actors.cluster.MongoLease"
          heartbeat-timeout = %dms
          heartbeat-interval = %dms
          lease-operation-timeout = 1s
        }
        """.formatted(mongoUri, COLLECTION, TTL.toMillis(), INTERVAL.toMillis()))
        .withFallback(ConfigFactory.load());
  }

  @BeforeAll
  static void startStore() {
    server = new MongoServer(new MemoryBackend(storeClock));
    server.bind("127.0.0.1", 0);
    uri = "mongodb://127.0.0.1:" + server.getLocalAddress().getPort() + "/heyken";
    testKit = ActorTestKit.create("lease-test", config(uri));
    client = MongoStore.create(uri, Duration.ofSeconds(2));
    // the lease's own client connects on first use: connect it before the timed tests (a loaded machine)
    LeaseStore.get(testKit.system()).database().runCommand(new Document("ping", 1));
    db = client.getDatabase("heyken");
  }

  @AfterAll
  static void stopStore() {
    testKit.shutdownTestKit();
    client.close();
    server.shutdownNow();
  }

  @BeforeEach
  void name(TestInfo info) {
    storeClock.offset = Duration.ZERO;
    // the shape of Pekko's singleton lease name, with '/' in it
    leaseName = "heyken-singleton-pekko://heyken/system/" + info.getTestMethod().orElseThrow().getName();
  }

  @AfterEach
  void resetClock() {
    storeClock.offset = Duration.ZERO;
  }

  // ---- rules -----------------------------------------------------------------------------------------------------

  @Test
  void acquireThenCheckLeaseIsTrue() {
    Lease lease = lease(testKit.system(), "core-1");
    assertFalse(lease.checkLease());
    assertTrue(await(lease.acquire()));
    assertTrue(lease.checkLease());
    assertEquals("core-1", holder().orElseThrow().owner());
    assertTrue(await(lease.release()));
  }

  @Test
  void aSecondOwnerIsDeniedWhileTheFirstRenews() {
    Lease first = lease(testKit.system(), "core-1");
    Lease second = lease(testKit.system(), "core-2");
    assertTrue(await(first.acquire()));
    Instant firstExpiry = holder().orElseThrow().expiresAt();
    // the second keeps asking until the first one's original ttl is over in the store: denied every time
    int attempts = 0;
    long deadline = System.nanoTime() + TTL.multipliedBy(4).toNanos();
    while (storeNow().isBefore(firstExpiry.plus(INTERVAL))) {
      assertFalse(await(second.acquire()), "the second owner got a lease the first one renews");
      attempts++;
      assertTrue(System.nanoTime() < deadline, "the store's clock did not pass the first expiry in time");
    }
    assertTrue(attempts > 0);
    assertFalse(await(second.acquire()));
    assertTrue(first.checkLease());
    assertFalse(second.checkLease());
    assertEquals("core-1", holder().orElseThrow().owner());
    await(first.release());
  }

  @Test
  void theHolderKeepsTheLeaseAcrossSeveralTtlsByRenewing() {
    Lease lease = lease(testKit.system(), "core-1");
    AtomicInteger lost = new AtomicInteger();
    assertTrue(await(lease.acquire(reason -> lost.incrementAndGet())));
    MongoLease.Holder first = holder().orElseThrow();
    Instant threeTtlsLater = first.expiresAt().plus(TTL.multipliedBy(3));
    awaitCondition(TTL.multipliedBy(8), "renewals carry the lease over three ttls", () -> {
      assertTrue(lease.checkLease(), "the holder stopped holding while renewing");
      MongoLease.Holder now = holder().orElseThrow(() -> new AssertionError("the lease expired in the store"));
      assertEquals("core-1", now.owner());
      return now.expiresAt().isAfter(threeTtlsLater);
    });
    MongoLease.Holder later = holder().orElseThrow();
    assertEquals(first.acquiredAt(), later.acquiredAt(), "a renewal is not a new acquisition");
    assertTrue(later.version() >= first.version() + 3, "renewals bump the version");
    assertEquals(0, lost.get());
    await(lease.release());
  }

  @Test
  void anotherOwnerAcquiresAfterTheHolderStopsRenewing() {
    ActorSystem<Void> dying = ActorSystem.create(
        org.apache.pekko.actor.typed.javadsl.Behaviors.empty(), "lease-dying", config(uri));
    Lease holderOfDyingSystem = lease(dying, "core-1");
    assertTrue(await(holderOfDyingSystem.acquire()));
    // a crash: the holder's system goes away without releasing, so its renewals stop
    dying.terminate();
    awaitDone(dying.getWhenTerminated());
    Lease survivor = lease(testKit.system(), "core-2");
    assertFalse(await(survivor.acquire()), "the lease is free before its ttl has passed");
    long start = System.nanoTime();
    awaitCondition(TTL.multipliedBy(4), "the survivor takes the expired lease", () -> await(survivor.acquire()));
    assertTrue(System.nanoTime() - start > TTL.minus(INTERVAL).minus(INTERVAL).toNanos(),
        "the lease was free well before the dead holder's ttl ran out");
    assertTrue(survivor.checkLease());
    assertEquals("core-2", holder().orElseThrow().owner());
    await(survivor.release());
  }

  @Test
  void releaseFreesTheLeaseImmediately() {
    Lease first = lease(testKit.system(), "core-1");
    Lease second = lease(testKit.system(), "core-2");
    assertTrue(await(first.acquire()));
    assertTrue(await(first.release()));
    assertFalse(first.checkLease());
    assertTrue(holder().isEmpty());
    assertTrue(await(second.acquire()), "the released lease is not free at once");
    assertFalse(await(first.release()), "releasing a lease one does not hold reports true");
    assertEquals("core-2", holder().orElseThrow().owner());
    await(second.release());
  }

  @Test
  void theLostCallbackFiresWhenAnotherOwnerTakesTheDocumentOver() {
    Lease lease = lease(testKit.system(), "core-1");
    AtomicInteger calls = new AtomicInteger();
    CompletableFuture<Optional<Throwable>> lost = new CompletableFuture<>();
    assertTrue(await(lease.acquire(reason -> {
      calls.incrementAndGet();
      lost.complete(reason);
    })));
    leases().updateOne(Filters.eq("_id", MongoLease.documentId(leaseName)), Updates.combine(
        Updates.set("owner", "intruder"),
        Updates.set("expiresAt", Date.from(storeNow().plus(Duration.ofHours(1))))));
    Optional<Throwable> reason = awaitDone(lost);
    assertInstanceOf(LeaseException.class, reason.orElseThrow());
    assertFalse(lease.checkLease());
    assertFalse(await(lease.release()), "a lease taken over is not ours to release");
    assertEquals("intruder", holder().orElseThrow().owner(), "the loser must not touch the new owner's document");
    assertEquals(1, calls.get());
  }

  @Test
  void expiryIsJudgedByTheStoresClock() {
    Duration ttl = Duration.ofSeconds(5);
    // the store runs an hour behind the host: a host-clock lease would be long expired
    storeClock.offset = Duration.ofHours(-1);
    String bootstrap = leaseName + "-bootstrap";
    assertTrue(MongoLease.tryAcquireOnce(db, COLLECTION, bootstrap, "core-1", ttl));
    Date expiresAt = leases().find(Filters.eq("_id", MongoLease.documentId(bootstrap))).first().getDate("expiresAt");
    assertTrue(expiresAt.toInstant().isBefore(Instant.now()), "expiresAt is not in the store's time");
    assertFalse(MongoLease.tryAcquireOnce(db, COLLECTION, bootstrap, "core-2", ttl),
        "expiry was judged by the host's clock");
    assertEquals("core-1", MongoLease.holder(db, COLLECTION, bootstrap).orElseThrow().owner());
    // only the store's clock passing the ttl frees it
    storeClock.offset = storeClock.offset.plus(ttl).plusSeconds(1);
    assertTrue(MongoLease.holder(db, COLLECTION, bootstrap).isEmpty());
    assertTrue(MongoLease.tryAcquireOnce(db, COLLECTION, bootstrap, "core-2", ttl));

    // and a renewing holder whose lease the store's clock expires loses it to the next owner
    Lease first = lease(testKit.system(), "core-1");
    Lease second = lease(testKit.system(), "core-2");
    CompletableFuture<Optional<Throwable>> lost = new CompletableFuture<>();
    assertTrue(await(first.acquire(lost::complete)));
    storeClock.offset = storeClock.offset.plus(TTL.multipliedBy(10));
    assertTrue(await(second.acquire()), "the store's clock says the lease expired");
    awaitDone(lost);
    assertFalse(first.checkLease());
    assertTrue(second.checkLease());
    await(second.release());
  }

  @Test
  void aLeaseNameWithSlashesWorks() {
    Lease lease = lease(testKit.system(), "pekko://heyken@127.0.0.1:2551-123");
    assertTrue(await(lease.acquire()));
    Document doc = leases().find(Filters.eq("name", leaseName)).first();
    String id = doc.getString("_id");
    assertFalse(id.contains("/") || id.contains(":"), id);
    assertEquals(MongoLease.documentId(leaseName), id, "the id is stable");
    assertEquals("pekko://heyken@127.0.0.1:2551-123", holder().orElseThrow().owner());
    assertEquals(leaseName, holder().orElseThrow().name());
    assertFalse(await(lease(testKit.system(), "core-2").acquire()));
    await(lease.release());
    // names that differ only in replaced characters get different ids
    assertNotEquals(MongoLease.documentId("a/b"), MongoLease.documentId("a:b"));
    assertNotEquals(MongoLease.documentId("a/b"), MongoLease.documentId("a_b"));
  }

  @Test
  void serverTimeIsTheStoresClock() {
    storeClock.offset = Duration.ofHours(-3);
    Instant expected = Instant.now().plus(storeClock.offset);
    Instant actual = MongoStore.get(testKit.system()).serverTime().toInstant();
    assertTrue(Duration.between(expected, actual).abs().compareTo(Duration.ofSeconds(5)) < 0,
        "serverTime " + actual + " is not the store's " + expected);
  }

  @Test
  void anOperationThatTheStoreDoesNotAnswerFailsWithLeaseTimeoutException() throws IOException {
    // a port that accepts connections and never answers: the driver waits, the lease must not
    try (ServerSocket silent = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
      ActorSystem<Void> cut = ActorSystem.create(org.apache.pekko.actor.typed.javadsl.Behaviors.empty(), "lease-cut",
          config("mongodb://127.0.0.1:" + silent.getLocalPort() + "/heyken"));
      try {
        Lease lease = lease(cut, "core-1");
        long start = System.nanoTime();
        ExecutionException e = expectFailure(lease.acquire());
        assertInstanceOf(LeaseTimeoutException.class, e.getCause());
        assertTrue(System.nanoTime() - start < Duration.ofMillis(1900).toNanos(), "not within lease-operation-timeout");
        assertFalse(lease.checkLease());
        assertInstanceOf(LeaseTimeoutException.class, expectFailure(lease.release()).getCause());
      } finally {
        cut.terminate();
        awaitDone(cut.getWhenTerminated());
      }
    }
  }

  @Test
  void everyHolderCutFromTheStoreCallsItsLeaseLostWithinTheTtlThoughItsRenewalsHang() throws Exception {
    // a core holds about a dozen leases (singletons, sharding coordinators, the split brain resolver) on a small
    // pool; cut from the store, every renewal hangs for its whole timeout. The loss must still be declared on time:
    // a core that noticed it 16 s late stayed active beside the new one (PartitionIT, store and peer cut)
    int leases = 12;
    try (var link = new heyken.testkit.StallingProxy(server.getLocalAddress().getPort())) {
      ActorSystem<Void> core = ActorSystem.create(org.apache.pekko.actor.typed.javadsl.Behaviors.empty(), "lease-hang",
          ConfigFactory.parseString("""
              heyken-lease-dispatcher {
                type = Dispatcher
                executor = "thread-pool-executor"
                thread-pool-executor.fixed-pool-size = 2
                throughput = 1
              }
              """).withFallback(config("mongodb://127.0.0.1:" + link.port() + "/heyken")));
      var told = new java.util.concurrent.CopyOnWriteArrayList<MongoLease.Loss>();
      Runnable stopListening = MongoLease.onLoss(told::add);
      try {
        var lostAt = new java.util.concurrent.ConcurrentHashMap<Integer, Long>();
        for (int i = 0; i < leases; i++) {
          int id = i;
          Lease lease = LeaseProvider.get(Adapter.toClassic(core)).getLease(leaseName + "-" + i, LEASE_CONFIG, "core-1");
          assertTrue(await(lease.acquire(reason -> lostAt.putIfAbsent(id, System.nanoTime()))));
        }
        // renewals have gone through at least once for every lease: the last one before the cut bounds the loss
        Thread.sleep(INTERVAL.multipliedBy(2).toMillis());
        long cutAt = System.nanoTime();
        link.stall(); // a cut link: every call hangs until its own timeout
        awaitCondition(TTL.multipliedBy(4), "every lease lost", () -> lostAt.size() == leases);
        awaitCondition(Duration.ofSeconds(2), "the loss listener told of every lease",
            () -> told.stream().filter(l -> l.name().startsWith(leaseName + "-")).count() == leases);
        long latest = lostAt.values().stream().mapToLong(Long::longValue).max().orElseThrow();
        Duration afterCut = Duration.ofNanos(latest - cutAt);
        assertTrue(afterCut.compareTo(TTL.plusMillis(500)) <= 0,
            "the last lease was declared lost " + afterCut.toMillis() + " ms after the cut (TTL " + TTL.toMillis()
                + " ms): a holder that still believes it holds the lease acts beside the next holder");
      } finally {
        stopListening.run();
        core.terminate();
        awaitDone(core.getWhenTerminated());
      }
    }
  }

  // ---- helpers ---------------------------------------------------------------------------------------------------

  /** Through Pekko's LeaseProvider, as the SBR and the singleton get it (reflection on lease-class). */
  Lease lease(ActorSystem<?> system, String owner) {
    return LeaseProvider.get(Adapter.toClassic(system)).getLease(leaseName, LEASE_CONFIG, owner);
  }

  Optional<MongoLease.Holder> holder() {
    return MongoLease.holder(db, COLLECTION, leaseName);
  }

  static MongoCollection<Document> leases() {
    return db.getCollection(COLLECTION);
  }

  static Instant storeNow() {
    return MongoStore.serverTime(db).toInstant();
  }

  static <T> T await(CompletionStage<T> stage) {
    return awaitDone(stage);
  }

  static <T> T awaitDone(CompletionStage<T> stage) {
    try {
      return stage.toCompletableFuture().get(10, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new AssertionError("did not complete: " + e, e);
    }
  }

  static ExecutionException expectFailure(CompletionStage<?> stage) {
    try {
      Object value = stage.toCompletableFuture().get(10, TimeUnit.SECONDS);
      throw new AssertionError("expected a failure, got " + value);
    } catch (ExecutionException e) {
      return e;
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  /** Polls until the condition holds; fails at the deadline. */
  static void awaitCondition(Duration max, String what, BooleanSupplier condition) {
    heyken.testkit.Await.until(what, max, condition);
  }

}
