package heyken.actors.feature;

import com.mongodb.client.MongoCollection;
import com.mongodb.client.MongoDatabase;
import com.mongodb.client.model.Filters;
import com.mongodb.client.model.Sorts;
import heyken.sandbox.SandboxBackend;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.bson.Document;
import org.bson.conversions.Bson;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The output of test runs as it happens, in a MongoDB collection: written in batches by the core running the job,
 * read by whichever core serves {@code GET /api/features/{id}/runs/{run_id}/log}. A run that moved to the other core
 * after a crash continues under a new attempt number, so readers never see a chunk twice. Blocking: call it on a
 * blocking dispatcher.
 */
public final class RunLogStore {

  private static final Logger log = LoggerFactory.getLogger(RunLogStore.class);
  private static final long FLUSH_EVERY_NANOS = 200_000_000L;
  private static final int FLUSH_BYTES = 16 * 1024;

  /** One piece of output: {@code stream} is stdout, stderr, or {@code heyken} for the runner's own lines. */
  public record Chunk(int attempt, long seq, String job, String stream, String text) {}

  private final MongoCollection<Document> chunks;
  // output that arrives just after a flush must not wait for the job's next output (which may come much later)
  private final ScheduledExecutorService flusher = Executors.newSingleThreadScheduledExecutor(r -> {
    Thread t = new Thread(r, "heyken-run-log-flush");
    t.setDaemon(true);
    return t;
  });

  public RunLogStore(MongoDatabase database, String collection) {
    this.chunks = database.getCollection(collection);
  }

  /** Stops the background flushes (writers still flush when closed). */
  public void close() {
    flusher.shutdownNow();
  }

  /** A writer for one job of one attempt; it caps what it stores at {@code capBytes}. */
  public Writer writer(String runId, int attempt, String job, int capBytes) {
    return new Writer(runId, attempt, job, capBytes);
  }

  /** Chunks of a run after the position (attempt, seq), oldest first. */
  public List<Chunk> read(String runId, int afterAttempt, long afterSeq, int limit) {
    Bson after = Filters.or(
        Filters.gt("attempt", afterAttempt),
        Filters.and(Filters.eq("attempt", afterAttempt), Filters.gt("seq", afterSeq)));
    var out = new ArrayList<Chunk>();
    chunks.find(Filters.and(Filters.eq("run", runId), after))
        .sort(Sorts.ascending("attempt", "seq"))
        .limit(limit)
        .forEach(d -> out.add(new Chunk(d.getInteger("attempt"), d.getLong("seq"), d.getString("job"),
            d.getString("stream"), d.getString("text"))));
    return out;
  }

  public void deleteRuns(List<String> runIds) {
    if (!runIds.isEmpty()) {
      chunks.deleteMany(Filters.in("run", runIds));
    }
  }

  /** Collects output and stores it in batches; also a {@link SandboxBackend.OutputListener}. Thread-safe. */
  public final class Writer implements SandboxBackend.OutputListener, AutoCloseable {
    private final String runId;
    private final int attempt;
    private final String job;
    private final int capBytes;
    private final List<Document> pending = new ArrayList<>();
    private long seq;
    private long stored;
    private int pendingBytes;
    private long lastFlush = System.nanoTime();
    private boolean capped;
    private boolean flushScheduled;

    private Writer(String runId, int attempt, String job, int capBytes) {
      this.runId = runId;
      this.attempt = attempt;
      this.job = job;
      this.capBytes = capBytes;
      // a job of an attempt that is resumed starts after what an earlier writer of the same job stored
      this.seq = System.currentTimeMillis() * 1000;
    }

    @Override
    public synchronized void output(String stream, String text) {
      if (capped || text.isEmpty()) {
        return;
      }
      int bytes = text.getBytes(StandardCharsets.UTF_8).length;
      if (stored + bytes > capBytes) {
        capped = true;
        add("heyken", "\n[output beyond " + capBytes + " bytes is not kept]\n");
      } else {
        stored += bytes;
        add(stream, text);
      }
      if (pendingBytes >= FLUSH_BYTES || System.nanoTime() - lastFlush >= FLUSH_EVERY_NANOS) {
        flush();
      } else if (!flushScheduled) {
        flushScheduled = true;
        try {
          flusher.schedule(this::flush, FLUSH_EVERY_NANOS, TimeUnit.NANOSECONDS);
        } catch (java.util.concurrent.RejectedExecutionException e) {
          flush(); // the store is closing: write now
        }
      }
    }

    /** A line of the runner itself (job start, result), kept apart from the job's own output. */
    public synchronized void note(String text) {
      add("heyken", text.endsWith("\n") ? text : text + "\n");
      flush();
    }

    private void add(String stream, String text) {
      pending.add(new Document("run", runId).append("attempt", attempt).append("seq", ++seq).append("job", job)
          .append("stream", stream).append("text", text).append("at", new Date()));
      pendingBytes += text.length();
    }

    public synchronized void flush() {
      lastFlush = System.nanoTime();
      flushScheduled = false;
      if (pending.isEmpty()) {
        return;
      }
      try {
        chunks.insertMany(new ArrayList<>(pending));
      } catch (RuntimeException e) {
        // the live log is a convenience: the job's outcome keeps its log tail in the journal either way
        log.warn("could not store {} log chunks of run {} job {}: {}", pending.size(), runId, job, e.toString());
      }
      pending.clear();
      pendingBytes = 0;
    }

    @Override
    public void close() {
      flush();
    }
  }
}
