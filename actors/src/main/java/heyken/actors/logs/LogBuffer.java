package heyken.actors.logs;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;

/**
 * The bounded hand-off between the Logback appender (any thread, must never block) and the {@link LogShipper} actor
 * that writes batches to the log store (PostgreSQL). When the store is slow or down the buffer fills, the newest
 * lines are dropped and counted: the count is shown in /api/status, never silent. A line taken from the buffer is
 * kept by the shipper until the store has it (or refused it twice as invalid, then counted as dropped).
 */
public final class LogBuffer {

  private static volatile LogBuffer instance = new LogBuffer(20_000);
  // ids are unique per core and JVM start: about the start time in microseconds, times 4, plus the core (0..3)
  private static final AtomicLong LAST_ID = new AtomicLong();

  private final ArrayBlockingQueue<LogRow> queue;
  private final AtomicLong dropped = new AtomicLong();
  private final AtomicLong written = new AtomicLong();
  private final AtomicLong inFlight = new AtomicLong();
  private volatile int coreId;
  private volatile LongSupplier epoch = () -> 0;

  LogBuffer(int capacity) {
    this.queue = new ArrayBlockingQueue<>(capacity);
  }

  public static LogBuffer get() {
    return instance;
  }

  // who counts the lines handed over, by level: the metrics set it, so that logs needs nothing of metrics
  private static volatile java.util.function.Consumer<String> levelCounter = level -> { };

  /** Counts every line handed to the log store by its level with {@code counter} (set once by the metrics). */
  public static void countLevelsWith(java.util.function.Consumer<String> counter) {
    levelCounter = counter;
  }

  /** A line of {@code level} was handed to the log store. */
  public static void countLevel(String level) {
    levelCounter.accept(level);
  }

  /** Resizes the buffer once at start-up (lines already buffered are kept up to the new capacity). */
  public static synchronized void configure(int capacity, int coreId, LongSupplier epoch) {
    LogBuffer next = new LogBuffer(capacity);
    instance.queue.drainTo(next.queue, capacity);
    next.dropped.set(instance.dropped.get());
    next.written.set(instance.written.get());
    next.coreId = coreId;
    next.epoch = epoch;
    instance = next;
  }

  /**
   * A new line id: increasing, and unique across both cores and restarts (the clock in microseconds times 4 plus
   * the core number, or one step past the last id when lines come faster than one per microsecond).
   */
  public static long nextId(int core) {
    long floor = System.currentTimeMillis() * 1000L * 4 + (core & 3);
    return LAST_ID.accumulateAndGet(floor, (last, min) -> {
      long next = last + 4;
      return min > next ? min : next;
    });
  }

  int coreId() {
    return coreId;
  }

  long epoch() {
    return epoch.getAsLong();
  }

  /** Offers a line without ever blocking: a full buffer drops it and counts it. */
  public void offer(LogRow line) {
    if (!queue.offer(line)) {
      dropped.incrementAndGet();
    }
  }

  /** Takes up to {@code max} lines; they count as buffered until {@link #settled} says what became of them. */
  List<LogRow> drain(int max) {
    var batch = new ArrayList<LogRow>(Math.min(max, queue.size()));
    synchronized (this) {
      queue.drainTo(batch, max);
      inFlight.addAndGet(batch.size());
    }
    return batch;
  }

  /** A drained batch is stored ({@code stored}) or given up (counted as dropped). */
  void settled(int lines, boolean stored) {
    inFlight.addAndGet(-lines);
    if (stored) {
      written.addAndGet(lines);
    } else {
      dropped.addAndGet(lines);
    }
  }

  public int size() {
    return queue.size();
  }

  public long dropped() {
    return dropped.get();
  }

  /** Lines the store took since this core started (the metrics' {@code heyken_log_lines_written_total}). */
  public long written() {
    return written.get();
  }

  /** Lines waiting for the store now: in the buffer, and in the batch being written. */
  public int buffered() {
    return (int) Math.min(Integer.MAX_VALUE, queue.size() + inFlight.get());
  }

  /** Written, dropped and waiting lines of this core, for /api/status. */
  public Counts counts() {
    return new Counts(written.get(), dropped.get(), buffered());
  }

  public record Counts(long written, long dropped, long buffered) {}
}
