package heyken.actors.feature;

import heyken.actors.postgres.PostgresDatabase;
import heyken.sandbox.SandboxBackend;
import java.nio.charset.StandardCharsets;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The output of test runs as it happens, in the log store (PostgreSQL table {@code run_log_chunks}): written in
 * batches by the core running the job, read by whichever core serves {@code GET /api/features/{id}/runs/{run_id}/log}.
 * A run that moved to the other core after a crash continues under a new attempt number, so readers never see a
 * chunk twice. Writes happen in the background on the PostgreSQL dispatcher, in order per writer (a job never waits
 * for the store); reads block: call them on a blocking dispatcher.
 */
public final class RunLogStore {

  private static final Logger log = LoggerFactory.getLogger(RunLogStore.class);
  private static final long FLUSH_EVERY_NANOS = 200_000_000L;
  private static final int FLUSH_BYTES = 16 * 1024;
  private static final String INSERT = "INSERT INTO run_log_chunks (run, attempt, seq, job, stream, text) "
      + "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING";

  /** One piece of output: {@code stream} is stdout, stderr, or {@code heyken} for the runner's own lines. */
  public record Chunk(int attempt, long seq, String job, String stream, String text) {}

  private final PostgresDatabase db;
  // output that arrives just after a flush must not wait for the job's next output (which may come much later)
  private final ScheduledExecutorService flusher = Executors.newSingleThreadScheduledExecutor(r -> {
    Thread t = new Thread(r, "heyken-run-log-flush");
    t.setDaemon(true);
    return t;
  });

  public RunLogStore(PostgresDatabase db) {
    this.db = db;
  }

  /** Stops the background flushes (writers still flush when closed). */
  public void close() {
    flusher.shutdownNow();
  }

  /** A writer for one job of one attempt; it caps what it stores at {@code capBytes}. */
  public Writer writer(String runId, int attempt, String job, int capBytes) {
    return new Writer(runId, attempt, job, capBytes);
  }

  /** Chunks of a run after the position (attempt, seq), oldest first. Blocking. */
  public List<Chunk> read(String runId, int afterAttempt, long afterSeq, int limit) {
    return db.withConnection(c -> {
      var out = new ArrayList<Chunk>();
      try (PreparedStatement s = c.prepareStatement("SELECT attempt, seq, job, stream, text FROM run_log_chunks "
          + "WHERE run = ? AND (attempt, seq) > (?, ?) ORDER BY attempt, seq LIMIT ?")) {
        s.setString(1, runId);
        s.setInt(2, afterAttempt);
        s.setLong(3, afterSeq);
        s.setInt(4, limit);
        try (ResultSet rs = s.executeQuery()) {
          while (rs.next()) {
            out.add(new Chunk(rs.getInt(1), rs.getLong(2), rs.getString(3), rs.getString(4), rs.getString(5)));
          }
        }
      }
      return out;
    });
  }

  /** Blocking. */
  public void deleteRuns(List<String> runIds) {
    if (runIds.isEmpty()) {
      return;
    }
    db.withConnection(c -> {
      try (PreparedStatement s = c.prepareStatement("DELETE FROM run_log_chunks WHERE run = ANY (?)")) {
        s.setArray(1, c.createArrayOf("text", runIds.toArray()));
        return s.executeUpdate();
      }
    });
  }

  private void insert(List<Chunk> chunks, String runId) {
    db.withConnection(c -> {
      try (PreparedStatement s = c.prepareStatement(INSERT)) {
        for (Chunk chunk : chunks) {
          s.setString(1, runId);
          s.setInt(2, chunk.attempt());
          s.setLong(3, chunk.seq());
          s.setString(4, chunk.job());
          s.setString(5, chunk.stream());
          s.setString(6, chunk.text().replace("\u0000", ""));
          s.addBatch();
        }
        s.executeBatch();
      }
      return null;
    });
  }

  /** Collects output and stores it in batches; also a {@link SandboxBackend.OutputListener}. Thread-safe. */
  public final class Writer implements SandboxBackend.OutputListener, AutoCloseable {
    private final String runId;
    private final int attempt;
    private final String job;
    private final int capBytes;
    private final List<Chunk> pending = new ArrayList<>();
    private CompletableFuture<Void> writes = CompletableFuture.completedFuture(null);
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
      pending.add(new Chunk(attempt, ++seq, job, stream, text));
      pendingBytes += text.length();
    }

    public synchronized void flush() {
      lastFlush = System.nanoTime();
      flushScheduled = false;
      if (pending.isEmpty()) {
        return;
      }
      var batch = new ArrayList<>(pending);
      // in order, in the background: a job's output never waits for the store
      writes = writes.thenRunAsync(() -> {
        try {
          insert(batch, runId);
        } catch (RuntimeException e) {
          // the live log is a convenience: the job's outcome keeps its log tail in the journal either way
          log.warn("could not store {} log chunks of run {} job {} (the run's result keeps its log tail; check "
              + "heyken-pg with scripts/status.sh): {}", batch.size(), runId, job, PostgresDatabase.rootMessage(e));
        }
      }, db.executor());
      pending.clear();
      pendingBytes = 0;
    }

    /** Flushes, and waits (a little) until what this writer stored is in the store. */
    @Override
    public void close() {
      CompletableFuture<Void> last;
      synchronized (this) {
        flush();
        last = writes;
      }
      try {
        last.get(2, TimeUnit.SECONDS);
      } catch (Exception e) {
        // the store is slow or away: the writes finish (or are given up) in the background
      }
    }
  }
}
