package heyken.actors.logs;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;
import org.bson.Document;

/**
 * The bounded hand-off between the Logback appender (any thread, must never block) and the
 * {@link LogShipper} actor that writes batches to MongoDB. When the store is slow or down the buffer fills,
 * the newest lines are dropped and counted: the count is shown in /api/status, never silent.
 */
public final class LogBuffer {

  private static volatile LogBuffer instance = new LogBuffer(20_000);

  private final ArrayBlockingQueue<Document> queue;
  private final AtomicLong dropped = new AtomicLong();
  private final AtomicLong written = new AtomicLong();
  private volatile int coreId;
  private volatile LongSupplier epoch = () -> 0;

  LogBuffer(int capacity) {
    this.queue = new ArrayBlockingQueue<>(capacity);
  }

  public static LogBuffer get() {
    return instance;
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

  int coreId() {
    return coreId;
  }

  long epoch() {
    return epoch.getAsLong();
  }

  /** Offers a line without ever blocking: a full buffer drops it and counts it. */
  public void offer(Document line) {
    if (!queue.offer(line)) {
      dropped.incrementAndGet();
    }
  }

  List<Document> drain(int max) {
    var batch = new ArrayList<Document>(Math.min(max, queue.size()));
    queue.drainTo(batch, max);
    return batch;
  }

  public int size() {
    return queue.size();
  }

  public long dropped() {
    return dropped.get();
  }

  void countDropped(long n) {
    dropped.addAndGet(n);
  }

  /** Lines the store took since this core started (the metrics' {@code heyken_log_lines_written_total}). */
  public long written() {
    return written.get();
  }

  void countWritten(long n) {
    written.addAndGet(n);
  }

  /** Lines waiting for the store now. */
  public int buffered() {
    return queue.size();
  }

  /** Written, dropped and waiting lines of this core, for /api/status. */
  public Counts counts() {
    return new Counts(written.get(), dropped.get(), queue.size());
  }

  public record Counts(long written, long dropped, long buffered) {}
}
