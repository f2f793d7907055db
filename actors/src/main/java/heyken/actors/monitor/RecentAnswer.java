package heyken.actors.monitor;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.LongSupplier;
import java.util.function.Supplier;

/**
 * One look shared by the requests close together, and never waited for while a recent one is at hand (HTTP's
 * {@code stale-while-revalidate}). At hundreds of requests per second, each one asking the cluster again costs more
 * than the answer is worth; and a request that waits for a new look waits for the slowest ask in it (a remote core's
 * answer under load), which is what an open load's p99 sees. So:
 * <ul>
 *   <li>an answer younger than {@code maxAge} is given as it is;</li>
 *   <li>an older one starts a new look (one at a time) and is still given while that look is under way, as long as it
 *       is younger than {@code maxAge + staleFor};</li>
 *   <li>past that (the first request, or a look that takes longer than {@code staleFor}: a core that does not answer),
 *       requests wait for the new look, so a status never hides a problem for longer than that.</li>
 * </ul>
 * An answer's age counts from when its look began. A failed look leaves the previous answer in place and the next
 * request starts another. Thread-safe, without a lock.
 */
final class RecentAnswer<T> {

  /** An answer, when its look began, and the completed future every request for it gets. */
  private record Answer<T>(T value, long at, CompletableFuture<T> done) {}

  private final Supplier<CompletableFuture<T>> look;
  private final long maxAgeNanos;
  private final long staleNanos;
  private final LongSupplier clock;
  // no lock: a request never waits for another one's work (under a busy CPU a preempted lock holder, running the look,
  // kept the others waiting up to 150 ms, JFR); one look at a time by compare-and-set
  private volatile Answer<T> last;
  private final AtomicReference<CompletableFuture<T>> looking = new AtomicReference<>();

  RecentAnswer(Supplier<CompletableFuture<T>> look, Duration maxAge, Duration staleFor) {
    this(look, maxAge, staleFor, System::nanoTime);
  }

  RecentAnswer(Supplier<CompletableFuture<T>> look, Duration maxAge, Duration staleFor, LongSupplier clock) {
    this.look = look;
    this.maxAgeNanos = maxAge.toNanos();
    this.staleNanos = maxAge.toNanos() + staleFor.toNanos();
    this.clock = clock;
  }

  CompletableFuture<T> get() {
    while (true) {
      long now = clock.getAsLong();
      var answer = last;
      if (answer != null && now - answer.at() < maxAgeNanos) {
        return answer.done();
      }
      var pending = looking.get();
      if (pending == null) {
        var mine = new CompletableFuture<T>();
        if (!looking.compareAndSet(null, mine)) {
          continue; // another request started it a moment ago
        }
        start(mine, now);
        pending = mine;
      }
      if (answer != null && now - answer.at() < staleNanos && !pending.isDone()) {
        return answer.done();
      }
      return pending;
    }
  }

  /** Runs the look for {@code mine} (the one in {@link #looking}); a new answer is in place before it is done. */
  private void start(CompletableFuture<T> mine, long began) {
    CompletableFuture<T> running;
    try {
      running = look.get();
    } catch (RuntimeException e) {
      running = CompletableFuture.failedFuture(e);
    }
    // may run at once, in this call, when the look is already done
    running.whenComplete((value, failure) -> {
      if (value != null) {
        last = new Answer<>(value, began, CompletableFuture.completedFuture(value));
      }
      looking.compareAndSet(mine, null);
      if (value != null) {
        mine.complete(value);
      } else {
        mine.completeExceptionally(failure != null ? failure : new IllegalStateException("the look had no answer"));
      }
    });
  }
}
