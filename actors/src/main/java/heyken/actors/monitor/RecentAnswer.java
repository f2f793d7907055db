package heyken.actors.monitor;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.function.LongSupplier;
import java.util.function.Supplier;

/**
 * One look shared by the requests close together, and never waited for while a recent one is at hand (HTTP's
 * {@code stale-while-revalidate}). At hundreds of requests per second, each one asking the cluster again costs more than
 * the answer is worth; and a request that waits for a new look waits for the slowest ask in it (a remote core's
 * answer under load), which is what an open load's p99 sees. So:
 * <ul>
 *   <li>an answer younger than {@code maxAge} is given as it is;</li>
 *   <li>an older one starts a new look (one at a time) and is still given while that look is under way, as long as it
 *       is younger than {@code maxAge + staleFor};</li>
 *   <li>past that (the first request, or a look that takes longer than {@code staleFor}: a core that does not answer),
 *       requests wait for the new look, so a status never hides a problem for longer than that.</li>
 * </ul>
 * An answer's age counts from when its look began. A failed look leaves the previous answer in place and the next
 * request starts another. Thread-safe.
 */
final class RecentAnswer<T> {

  private final Supplier<CompletableFuture<T>> look;
  private final long maxAgeNanos;
  private final long staleNanos;
  private final LongSupplier clock;
  private T last;
  private long lastAt;
  private CompletableFuture<T> looking;

  RecentAnswer(Supplier<CompletableFuture<T>> look, Duration maxAge, Duration staleFor) {
    this(look, maxAge, staleFor, System::nanoTime);
  }

  RecentAnswer(Supplier<CompletableFuture<T>> look, Duration maxAge, Duration staleFor, LongSupplier clock) {
    this.look = look;
    this.maxAgeNanos = maxAge.toNanos();
    this.staleNanos = maxAge.toNanos() + staleFor.toNanos();
    this.clock = clock;
  }

  synchronized CompletableFuture<T> get() {
    long now = clock.getAsLong();
    if (last != null && now - lastAt < maxAgeNanos) {
      return CompletableFuture.completedFuture(last);
    }
    var pending = looking;
    if (pending == null) {
      pending = look.get();
      looking = pending;
      var began = now;
      var started = pending;
      // may run at once, in this call, when the look is already done
      pending.whenComplete((answer, failure) -> settle(started, answer, began));
    }
    if (last != null && now - lastAt < staleNanos) {
      return CompletableFuture.completedFuture(last);
    }
    return pending;
  }

  private synchronized void settle(CompletableFuture<T> look, T answer, long began) {
    if (answer != null && (last == null || began - lastAt >= 0)) {
      last = answer;
      lastAt = began;
    }
    if (looking == look) {
      looking = null;
    }
  }
}
