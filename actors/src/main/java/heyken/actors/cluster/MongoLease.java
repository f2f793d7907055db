package heyken.actors.cluster;

import static com.mongodb.client.model.Filters.and;
import static com.mongodb.client.model.Filters.eq;
import static com.mongodb.client.model.Filters.lt;
import static com.mongodb.client.model.Filters.or;

import com.mongodb.ErrorCategory;
import com.mongodb.MongoServerException;
import com.mongodb.client.MongoCollection;
import com.mongodb.client.MongoDatabase;
import com.mongodb.client.model.FindOneAndUpdateOptions;
import com.mongodb.client.model.ReturnDocument;
import com.mongodb.client.model.Updates;
import heyken.actors.store.MongoStore;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.Supplier;
import java.util.regex.Pattern;
import org.apache.pekko.actor.Cancellable;
import org.apache.pekko.actor.ExtendedActorSystem;
import org.apache.pekko.actor.typed.javadsl.Adapter;
import org.apache.pekko.coordination.lease.LeaseException;
import org.apache.pekko.coordination.lease.LeaseSettings;
import org.apache.pekko.coordination.lease.LeaseTimeoutException;
import org.apache.pekko.coordination.lease.javadsl.Lease;
import org.bson.Document;
import org.bson.conversions.Bson;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import scala.concurrent.ExecutionContext;

/**
 * A TTL lease in MongoDB behind the split brain resolver ({@code lease-majority}) and the CoreManager singleton
 * ({@code use-lease}); Pekko creates it by reflection from {@code lease-class}.
 *
 * <p>One document per lease, {@code {_id, name, owner, expiresAt, acquiredAt, renewedAt, version}}, written only by
 * a conditional {@code findOneAndUpdate} whose expiry is judged by the store's clock, never a host's. The owner renews
 * every {@code heartbeat-interval}; it considers the lease lost (and calls the lost callback once) when the document
 * names another owner or when no renewal succeeded for almost {@code heartbeat-timeout}, measured locally from before
 * the last successful renewal was sent, so the holder always gives up before anybody else can take the lease.
 */
public final class MongoLease extends Lease {

  private static final Logger log = LoggerFactory.getLogger(MongoLease.class);
  private static final int DUPLICATE_KEY = 11000;

  /** Who holds a lease now, for status pages; times are the store's. */
  public record Holder(String name, String owner, Instant expiresAt, Instant acquiredAt, Instant renewedAt,
      long version) {}

  /** The last lease this JVM lost, why and when (the store's reachability as the holder saw it). */
  public record Loss(String name, String why, Instant at) {}

  private static final java.util.concurrent.atomic.AtomicReference<Loss> LAST_LOSS =
      new java.util.concurrent.atomic.AtomicReference<>();
  // the last renewal failure of this JVM (null after a successful renewal): "store unreachable since"
  private static final java.util.concurrent.atomic.AtomicReference<Instant> FAILING_SINCE =
      new java.util.concurrent.atomic.AtomicReference<>();

  private static final java.util.concurrent.atomic.AtomicReference<Instant> LAST_WRITE =
      new java.util.concurrent.atomic.AtomicReference<>();

  private static final java.util.List<Consumer<Loss>> LOSS_LISTENERS =
      new java.util.concurrent.CopyOnWriteArrayList<>();

  /**
   * Tells {@code listener} of every lease this JVM loses, as soon as the loss is declared (on the actor system's
   * dispatcher, never the lease's threads). The singleton that held the lease stops later, when it next processes a
   * message: a persisting entity waits for its journal write first, which hangs as long as the store is away.
   * Returns the action that stops listening.
   */
  public static Runnable onLoss(Consumer<Loss> listener) {
    LOSS_LISTENERS.add(listener);
    return () -> LOSS_LISTENERS.remove(listener);
  }

  /** The last lease this JVM lost (null if none), for /api/status. */
  public static Loss lastLoss() {
    return LAST_LOSS.get();
  }

  /** Since when this JVM's lease renewals fail (null while they succeed). */
  public static Instant renewalsFailingSince() {
    return FAILING_SINCE.get();
  }

  private final LeaseSettings settings;
  private final String owner;
  private final String name;
  private final Duration ttl;
  private final Duration interval;
  private final Duration operationTimeout;
  // How long before the lease could expire in the store the holder already calls it lost: room for the singleton
  // to stop before another core can acquire it.
  private final long safetyMarginNanos;
  private final MongoDatabase database;
  private final String collection;
  private final java.nio.file.Path storeLog;
  private final Executor blocking;
  private final ExecutionContext blockingContext;
  // The expiry check only takes the lock and calls the lost callback: it must never queue behind renewals that hang
  // on an unreachable store in the lease's small blocking pool (it did: a core cut from the store noticed the loss
  // 16 s late, and stayed active beside the new one)
  private final ExecutionContext timerContext;
  private final org.apache.pekko.actor.Scheduler scheduler;

  private final Object lock = new Object();
  // All guarded by lock. A generation ends with every release or loss: renewals of an old generation are ignored.
  private boolean held;
  private long generation;
  private long validUntilNanos;
  private Consumer<Optional<Throwable>> lostCallback;
  private Cancellable renewals;
  private Cancellable expiryCheck;
  private boolean renewalInFlight;
  private String lastDenial;

  public MongoLease(LeaseSettings settings, ExtendedActorSystem system) {
    this.settings = settings;
    this.owner = settings.ownerName();
    this.name = settings.leaseName();
    this.ttl = settings.timeoutSettings().getHeartbeatTimeout();
    this.interval = settings.timeoutSettings().getHeartbeatInterval();
    this.operationTimeout = settings.timeoutSettings().getOperationTimeout();
    if (interval.compareTo(ttl) >= 0) {
      throw new IllegalArgumentException("lease " + name + ": heartbeat-interval " + interval
          + " must be shorter than heartbeat-timeout " + ttl);
    }
    this.safetyMarginNanos = interval.dividedBy(2).toNanos();
    LeaseStore store = LeaseStore.get(Adapter.toTyped(system));
    this.database = store.database();
    this.collection = store.settings().collection();
    this.storeLog = store.settings().storeLog();
    this.blocking = store.executor();
    this.blockingContext = blocking instanceof ExecutionContext context ? context : ExecutionContext.fromExecutor(blocking);
    this.scheduler = system.scheduler();
    this.timerContext = system.dispatcher();
  }

  @Override
  public LeaseSettings getSettings() {
    return settings;
  }

  @Override
  public CompletionStage<Boolean> acquire() {
    return acquire(reason -> {});
  }

  @Override
  public CompletionStage<Boolean> acquire(Consumer<Optional<Throwable>> leaseLostCallback) {
    return withTimeout("acquire", () -> {
      // taken before the store reads its clock, so sentAt + ttl is never later than the expiry the store gets
      long sentAt = System.nanoTime();
      Outcome outcome = write(database, collection, name, owner, ttl, true);
      return new Attempt(outcome.ours(), sentAt, outcome.ours() ? "" : outcome.describeHolder());
    }, attempt -> onAcquired(attempt, leaseLostCallback)).thenApply(Attempt::acquired);
  }

  private record Attempt(boolean acquired, long sentAt, String holder) {}

  /** Caller holds lock. */
  private Runnable onAcquired(Attempt attempt, Consumer<Optional<Throwable>> callback) {
    if (attempt.acquired()) {
      if (!held) {
        held = true;
        generation++;
        log.info("Lease [{}] acquired by [{}] (ttl {}, renewed every {})", name, owner, ttl, interval);
        scheduleRenewals();
      }
      lostCallback = callback;
      lastDenial = null;
      FAILING_SINCE.set(null);
      LAST_WRITE.set(Instant.now());
      extend(attempt.sentAt());
      return () -> {};
    }
    if (held) {
      // we thought we held it, the store says otherwise
      LeaseException reason = new LeaseException("lease " + name + " is " + attempt.holder());
      Consumer<Optional<Throwable>> lost = markLost(attempt.holder());
      return () -> notifyLost(lost, reason);
    }
    // the singleton's standby asks every lease-retry-interval: say it once per holder, not four times a second
    String holderNow = attempt.holder().replaceFirst(" until .*", "");
    if (holderNow.equals(lastDenial)) {
      log.debug("Lease [{}] denied to [{}]: {}", name, owner, attempt.holder());
    } else {
      log.info("Lease [{}] denied to [{}]: {}", name, owner, attempt.holder());
      lastDenial = holderNow;
    }
    return () -> {};
  }

  @Override
  public CompletionStage<Boolean> release() {
    boolean wasHeld;
    synchronized (lock) {
      wasHeld = held;
      stopRenewing();
      held = false;
      generation++;
      lostCallback = null;
    }
    if (wasHeld) {
      LeaseRenewals.get().released(owner);
    }
    return withTimeout("release", () -> delete(database, collection, name, owner), released -> {
      if (released) {
        log.info("Lease [{}] released by [{}]", name, owner);
      } else if (wasHeld) {
        log.warn("Lease [{}] released by [{}], but the store no longer named it the owner", name, owner);
      }
      return () -> {};
    });
  }

  @Override
  public boolean checkLease() {
    synchronized (lock) {
      return held && System.nanoTime() - validUntilNanos < 0;
    }
  }

  // ---- renewing ----------------------------------------------------------------------------------------------

  private void scheduleRenewals() {
    try {
      renewals = scheduler.scheduleWithFixedDelay(interval, interval, this::renew, blockingContext);
    } catch (IllegalStateException schedulerStopped) {
      log.warn("Lease [{}] of [{}] cannot be renewed: the actor system is shutting down", name, owner);
    }
  }

  /** Runs on the blocking dispatcher: one renewal at a time, skipped while the previous one still waits. */
  private void renew() {
    long gen;
    synchronized (lock) {
      if (!held || renewalInFlight) {
        return;
      }
      renewalInFlight = true;
      gen = generation;
    }
    long sentAt = System.nanoTime();
    Consumer<Optional<Throwable>> lostNow = null;
    LeaseException reason = null;
    try {
      boolean stillOwner = write(database, collection, name, owner, ttl, false).ours();
      if (stillOwner) {
        measured(Duration.ofNanos(System.nanoTime() - sentAt));
      }
      String holder = stillOwner ? "" : describeHolder();
      synchronized (lock) {
        if (held && gen == generation) {
          if (stillOwner) {
            FAILING_SINCE.set(null);
            LAST_WRITE.set(Instant.now());
            extend(sentAt);
          } else {
            reason = new LeaseException("lease " + name + " was taken over: " + holder);
            lostNow = markLost("taken over, " + holder);
          }
        }
      }
    } catch (RuntimeException e) {
      // keep trying every interval; the expiry check declares the loss if this goes on for too long
      FAILING_SINCE.compareAndSet(null, Instant.now());
      log.warn("Lease [{}] of [{}]: renewal failed: {}", name, owner, e.toString());
    } finally {
      synchronized (lock) {
        renewalInFlight = false;
      }
    }
    notifyLost(lostNow, reason);
  }

  /** Counts a successful renewal's time, and says so when it took more than half the TTL. */
  private void measured(Duration took) {
    if (LeaseRenewals.get().record(owner, took, ttl)) {
      log.warn("lease renewal took {} s (TTL {} s, more than half): the store is slow; check {} (lease [{}] of [{}])",
          seconds(took), seconds(ttl), storeLog, name, owner);
    }
  }

  private static String seconds(Duration d) {
    double s = d.toMillis() / 1000.0;
    return s == Math.rint(s) ? Long.toString((long) s) : String.format(java.util.Locale.ROOT, "%.1f", s);
  }

  /** Blocking, for log lines only. */
  private String describeHolder() {
    try {
      return holder(database, collection, name)
          .map(h -> "held by [" + h.owner() + "] until " + h.expiresAt())
          .orElse("not held by anybody now");
    } catch (RuntimeException e) {
      return "holder unknown (" + e + ")";
    }
  }

  /** Caller holds lock. The lease is ours until ttl (minus the margin) after the successful write was sent. */
  private void extend(long sentAt) {
    validUntilNanos = sentAt + ttl.toNanos() - safetyMarginNanos;
    if (expiryCheck != null) {
      expiryCheck.cancel();
    }
    long gen = generation;
    Duration left = Duration.ofNanos(Math.max(0, validUntilNanos - System.nanoTime()));
    try {
      expiryCheck = scheduler.scheduleOnce(left, () -> checkExpiry(gen), timerContext);
    } catch (IllegalStateException schedulerStopped) {
      expiryCheck = null;
    }
  }

  private void checkExpiry(long gen) {
    Consumer<Optional<Throwable>> lostNow = null;
    synchronized (lock) {
      if (held && gen == generation && System.nanoTime() - validUntilNanos >= 0) {
        // a renewal that hangs has not failed yet: the store is away since the last write that got through
        FAILING_SINCE.compareAndSet(null, LAST_WRITE.get() == null ? Instant.now() : LAST_WRITE.get());
        lostNow = markLost("not renewed within " + ttl);
      }
    }
    notifyLost(lostNow, new LeaseTimeoutException("lease " + name + " could not be renewed within " + ttl));
  }

  /** Caller holds lock. Returns the callback to run (outside the lock), so that it runs exactly once. */
  private Consumer<Optional<Throwable>> markLost(String why) {
    log.warn("Lease [{}] lost by [{}]: {}", name, owner, why);
    Instant failing = FAILING_SINCE.get();
    Loss loss = new Loss(name, why + (failing == null ? "" : ", store unreachable since " + failing), Instant.now());
    LAST_LOSS.set(loss);
    tellListeners(loss);
    stopRenewing();
    held = false;
    generation++;
    LeaseRenewals.get().released(owner);
    Consumer<Optional<Throwable>> callback = lostCallback;
    lostCallback = null;
    return callback;
  }

  private void tellListeners(Loss loss) {
    Runnable tell = () -> LOSS_LISTENERS.forEach(listener -> {
      try {
        listener.accept(loss);
      } catch (RuntimeException e) {
        log.error("Lease [{}]: a loss listener failed", name, e);
      }
    });
    try {
      timerContext.execute(tell);
    } catch (java.util.concurrent.RejectedExecutionException systemStopped) {
      tell.run();
    }
  }

  private void notifyLost(Consumer<Optional<Throwable>> callback, Throwable reason) {
    if (callback != null) {
      try {
        callback.accept(Optional.ofNullable(reason));
      } catch (RuntimeException e) {
        log.error("Lease [{}]: the lost callback of [{}] failed", name, owner, e);
      }
    }
  }

  /** Caller holds lock. */
  private void stopRenewing() {
    if (renewals != null) {
      renewals.cancel();
      renewals = null;
    }
    if (expiryCheck != null) {
      expiryCheck.cancel();
      expiryCheck = null;
    }
  }

  /**
   * Runs {@code call} on the blocking dispatcher; the stage fails with {@link LeaseTimeoutException} after
   * lease-operation-timeout. {@code onResult} runs under the lock only for results that arrive in time, before the
   * stage completes, so a late success (e.g. an acquire the store granted after we gave up) changes no local state:
   * nothing renews it and it expires after one ttl. The Runnable it returns runs outside the lock (lost callbacks).
   */
  private <T> CompletionStage<T> withTimeout(String operation, Supplier<T> call, Function<T, Runnable> onResult) {
    CompletableFuture<T> result = new CompletableFuture<>();
    AtomicBoolean decided = new AtomicBoolean(); // the answer or the timer, whichever comes first
    Cancellable timer;
    try {
      timer = scheduler.scheduleOnce(operationTimeout, () -> {
        if (decided.compareAndSet(false, true)) {
          result.completeExceptionally(new LeaseTimeoutException(
              operation + " of lease " + name + " by " + owner + " took longer than " + operationTimeout));
        }
      }, timerContext);
    } catch (IllegalStateException schedulerStopped) {
      result.completeExceptionally(new LeaseException("actor system is shutting down: cannot " + operation + " " + name));
      return result;
    }
    Runnable attempt = () -> {
      try {
        T value = call.get();
        Runnable after = null;
        synchronized (lock) {
          if (decided.compareAndSet(false, true)) {
            after = onResult.apply(value);
          }
        }
        if (after == null) {
          log.warn("Lease [{}] of [{}]: {} answered after the timeout; result {} ignored (the store is slow, e.g. a "
              + "loaded machine; it is retried: if it repeats, check the store with ./scripts/status.sh)", name, owner,
              operation, value);
          return;
        }
        timer.cancel();
        result.complete(value);
        after.run();
      } catch (RuntimeException e) {
        timer.cancel();
        log.warn("Lease [{}] of [{}]: {} failed: {}", name, owner, operation, e.toString());
        if (decided.compareAndSet(false, true)) {
          result.completeExceptionally(e);
        }
      }
    };
    try {
      blocking.execute(attempt);
    } catch (RejectedExecutionException shuttingDown) {
      timer.cancel();
      if (decided.compareAndSet(false, true)) {
        result.completeExceptionally(new LeaseException("actor system is shutting down: cannot " + operation + " " + name));
      }
    }
    return result;
  }

  // ---- the store's side, shared with tryAcquireOnce and holder ---------------------------------------------------

  /**
   * Takes (or extends) the lease for {@code owner} until {@code ttl} after the store's current time, once, without
   * renewing it: the cores' "may I bootstrap a new cluster" check. False when another owner holds it.
   */
  public static boolean tryAcquireOnce(MongoDatabase db, String collection, String name, String owner, Duration ttl) {
    return write(db, collection, name, owner, ttl, true).ours();
  }

  /** Gives the lease up if {@code owner} holds it; true if it did. */
  public static boolean releaseOnce(MongoDatabase db, String collection, String name, String owner) {
    return delete(db, collection, name, owner);
  }

  /** The current holder of a lease, empty when nobody holds it or the last holder's lease has expired. */
  public static Optional<Holder> holder(MongoDatabase db, String collection, String name) {
    Document doc = db.getCollection(collection).find(eq("_id", documentId(name))).first();
    if (doc == null || doc.getString("owner") == null) {
      return Optional.empty();
    }
    Date expiresAt = doc.getDate("expiresAt");
    if (expiresAt == null || !expiresAt.after(MongoStore.serverTime(db))) {
      return Optional.empty();
    }
    Number version = doc.get("version", Number.class);
    return Optional.of(new Holder(name, doc.getString("owner"), expiresAt.toInstant(), instant(doc, "acquiredAt"),
        instant(doc, "renewedAt"), version == null ? 0 : version.longValue()));
  }

  /**
   * What a write found: the lease document after our write when {@code ours}, else the other owner's document (null
   * when it is unknown, e.g. after losing an insert race).
   */
  private record Outcome(boolean ours, Document document) {
    String describeHolder() {
      return document == null ? "held by another owner"
          : "held by [" + document.getString("owner") + "] until " + instant(document, "expiresAt");
    }
  }

  /**
   * The one conditional write. Acquire: the document is ours or expired by the store's clock, else created (a
   * duplicate key on that insert means another owner holds it). Renew: only if the document still names us.
   *
   * <p>An acquire tries the update without upsert first and inserts only when there is no document: the standby asks
   * every lease-retry-interval, and mongo-java-server logs every duplicate-key reply as an ERROR with the command.
   */
  private static Outcome write(MongoDatabase db, String collection, String name, String owner, Duration ttl,
      boolean acquire) {
    Date now = MongoStore.serverTime(db);
    Date expiresAt = new Date(now.getTime() + ttl.toMillis());
    String id = documentId(name);
    Bson filter = acquire
        ? and(eq("_id", id), or(eq("owner", owner), lt("expiresAt", now)))
        : and(eq("_id", id), eq("owner", owner));
    List<Bson> updates = new ArrayList<>(List.of(
        Updates.set("name", name),
        Updates.set("owner", owner),
        Updates.set("expiresAt", expiresAt),
        Updates.set("renewedAt", now),
        Updates.inc("version", 1L)));
    if (acquire) {
      updates.add(Updates.set("acquiredAt", now));
    }
    Bson update = Updates.combine(updates);
    MongoCollection<Document> leases = db.getCollection(collection);
    FindOneAndUpdateOptions options = new FindOneAndUpdateOptions().returnDocument(ReturnDocument.AFTER);
    Document written = leases.findOneAndUpdate(filter, update, options.upsert(false));
    if (written != null || !acquire) {
      return new Outcome(written != null, written);
    }
    Document other = leases.find(eq("_id", id)).first();
    if (other != null) {
      return new Outcome(false, other);
    }
    try {
      return new Outcome(true, leases.findOneAndUpdate(filter, update, options.upsert(true)));
    } catch (MongoServerException e) {
      if (e.getCode() == DUPLICATE_KEY || ErrorCategory.fromErrorCode(e.getCode()) == ErrorCategory.DUPLICATE_KEY) {
        return new Outcome(false, null); // another owner created it since we looked
      }
      throw e;
    }
  }

  private static boolean delete(MongoDatabase db, String collection, String name, String owner) {
    return db.getCollection(collection).deleteOne(and(eq("_id", documentId(name)), eq("owner", owner)))
        .getDeletedCount() > 0;
  }

  private static final Pattern UNSAFE = Pattern.compile("[^A-Za-z0-9._-]");
  private static final int MAX_READABLE = 100;

  /**
   * A stable id for a lease name: its readable part (unsafe characters replaced by '_', at most 100 characters) and
   * 12 hex digits of its SHA-256, so that names differing only in replaced characters get different ids.
   */
  static String documentId(String leaseName) {
    String readable = UNSAFE.matcher(leaseName).replaceAll("_");
    if (readable.length() > MAX_READABLE) {
      readable = readable.substring(0, MAX_READABLE);
    }
    try {
      byte[] hash = MessageDigest.getInstance("SHA-256").digest(leaseName.getBytes(StandardCharsets.UTF_8));
      return readable + "-" + HexFormat.of().formatHex(hash, 0, 6);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JVM has SHA-256", e);
    }
  }

  private static Instant instant(Document doc, String field) {
    Date date = doc.getDate(field);
    return date == null ? null : date.toInstant();
  }
}
