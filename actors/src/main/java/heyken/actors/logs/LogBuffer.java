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
 *
 * <p>The output of sandbox jobs ({@link RunOutputLog#LOGGER}) has a queue of its own, drained after the system's
 * lines: a job that floods its output fills and overflows only that queue, so the lines dropped are its own, never
 * the system's (a flood of one run made the cores drop 105,040 other lines when they shared one queue).
 */
public final class LogBuffer {

  private static volatile LogBuffer instance = new LogBuffer(20_000);
  // ids are unique per core and JVM start: about the start time in microseconds, times 4, plus the core (0..3)
  private static final AtomicLong LAST_ID = new AtomicLong();

  /** Capacity of the run-output queue when none is configured. */
  static final int DEFAULT_RUN_OUTPUT_CAPACITY = 10_000;

  private final ArrayBlockingQueue<LogRow> queue;
  private final ArrayBlockingQueue<LogRow> runOutput;
  private final AtomicLong dropped = new AtomicLong();
  private final AtomicLong droppedRunOutput = new AtomicLong();
  private final AtomicLong written = new AtomicLong();
  private final AtomicLong inFlight = new AtomicLong();
  private volatile int coreId;
  private volatile LongSupplier epoch = () -> 0;

  LogBuffer(int capacity) {
    this(capacity, DEFAULT_RUN_OUTPUT_CAPACITY);
  }

  LogBuffer(int capacity, int runOutputCapacity) {
    this.queue = new ArrayBlockingQueue<>(capacity);
    this.runOutput = new ArrayBlockingQueue<>(runOutputCapacity);
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
    configure(capacity, DEFAULT_RUN_OUTPUT_CAPACITY, coreId, epoch);
  }

  /**
   * Resizes the buffer once at start-up: {@code capacity} lines of the system, {@code runOutputCapacity} of sandbox
   * job output ({@code heyken.logs.run-output.buffer-size}).
   */
  public static synchronized void configure(int capacity, int runOutputCapacity, int coreId, LongSupplier epoch) {
    LogBuffer next = new LogBuffer(capacity, runOutputCapacity);
    instance.queue.drainTo(next.queue, capacity);
    instance.runOutput.drainTo(next.runOutput, runOutputCapacity);
    next.dropped.set(instance.dropped.get());
    next.droppedRunOutput.set(instance.droppedRunOutput.get());
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
    boolean runLine = RunOutputLog.LOGGER.equals(line.logger());
    if (!(runLine ? runOutput : queue).offer(line)) {
      dropped.incrementAndGet();
      if (runLine) {
        droppedRunOutput.incrementAndGet();
      }
    }
  }

  /** Takes up to {@code max} lines; they count as buffered until {@link #settled} says what became of them. */
  List<LogRow> drain(int max) {
    var batch = new ArrayList<LogRow>(Math.min(max, queue.size()));
    synchronized (this) {
      // the system's lines first: under a flood of job output they are never the ones waiting
      queue.drainTo(batch, max);
      runOutput.drainTo(batch, max - batch.size());
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
    return queue.size() + runOutput.size();
  }

  /** Lines of sandbox job output dropped because their own queue was full (part of {@link #dropped()}). */
  public long droppedRunOutput() {
    return droppedRunOutput.get();
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
    return (int) Math.min(Integer.MAX_VALUE, queue.size() + runOutput.size() + inFlight.get());
  }

  /** Written, dropped and waiting lines of this core, for /api/status. */
  public Counts counts() {
    return new Counts(written.get(), dropped.get(), buffered());
  }

  public record Counts(long written, long dropped, long buffered) {}
}
