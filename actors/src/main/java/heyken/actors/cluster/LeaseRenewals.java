package heyken.actors.cluster;

import heyken.actors.metrics.Metrics;
import heyken.protocol.api.SystemStatus;
import java.time.Duration;
import java.util.Arrays;

/**
 * How long this JVM's lease renewals took (from sending the write to its answer), for {@code /api/status} and the
 * {@code heyken_lease_renewal_seconds} histogram: the last {@value #WINDOW} renewals for the percentiles, the maximum
 * and the counts since the JVM started. One per JVM, like the metrics: a planned switch restarts the actor system in
 * the same process and the figures go on.
 */
public final class LeaseRenewals {

  static final int WINDOW = 1024;

  private static final LeaseRenewals INSTANCE = new LeaseRenewals();

  private final long[] recentNanos = new long[WINDOW];
  private long count;
  private long slow;
  private long maxNanos;
  private long lastNanos = -1;
  private String holder;

  public static LeaseRenewals get() {
    return INSTANCE;
  }

  /** One successful renewal of {@code lease} by {@code owner}; true when it took more than half of {@code ttl}. */
  synchronized boolean record(String owner, Duration took, Duration ttl) {
    long nanos = took.toNanos();
    recentNanos[(int) (count % WINDOW)] = nanos;
    count++;
    lastNanos = nanos;
    maxNanos = Math.max(maxNanos, nanos);
    holder = owner;
    Metrics.LEASE_RENEWAL.observe(nanos / 1e9);
    boolean isSlow = nanos * 2 > ttl.toNanos();
    if (isSlow) {
      slow++;
    }
    return isSlow;
  }

  /** This JVM no longer holds a lease (released or lost). */
  synchronized void released(String owner) {
    if (owner.equals(holder)) {
      holder = null;
    }
  }

  /** The figures so far; percentiles over the last renewals, null while there were none. */
  public synchronized SystemStatus.LeaseStatus snapshot() {
    int n = (int) Math.min(count, WINDOW);
    long[] sorted = Arrays.copyOf(recentNanos, n);
    Arrays.sort(sorted);
    return new SystemStatus.LeaseStatus(
        n == 0 ? null : millis(sorted[percentileIndex(n, 0.50)]),
        n == 0 ? null : millis(sorted[percentileIndex(n, 0.99)]),
        n == 0 ? null : millis(maxNanos),
        lastNanos < 0 ? null : millis(lastNanos),
        count, slow, holder);
  }

  private static int percentileIndex(int n, double q) {
    return Math.min(n - 1, (int) Math.ceil(q * n) - 1);
  }

  private static double millis(long nanos) {
    return Math.round(nanos / 1e4) / 100.0;
  }
}
