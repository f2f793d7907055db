package heyken.testkit;

import java.time.Duration;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/**
 * Polling with a deadline, the one way tests wait for something asynchronous (never a sleep as synchronization):
 * the condition is asked every 20 ms until it holds or the deadline passes, which fails the test with what it
 * waited for.
 */
public final class Await {

  private static final long POLL_MILLIS = 20;

  private Await() {}

  /** Waits until {@code condition} holds, at most {@code within}; fails with "timed out waiting for {what}". */
  public static void until(String what, Duration within, BooleanSupplier condition) {
    value(what, within, () -> condition.getAsBoolean() ? Boolean.TRUE : null);
  }

  /** The first non-null answer of {@code probe} within {@code within}; fails with what it waited for. */
  public static <T> T value(String what, Duration within, Supplier<T> probe) {
    long deadline = System.nanoTime() + within.toNanos();
    while (true) {
      T value = probe.get();
      if (value != null) {
        return value;
      }
      if (System.nanoTime() > deadline) {
        throw new AssertionError("timed out after " + within.toMillis() + " ms waiting for " + what);
      }
      try {
        Thread.sleep(POLL_MILLIS); // the poll interval, not synchronization
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError("interrupted waiting for " + what, e);
      }
    }
  }
}
