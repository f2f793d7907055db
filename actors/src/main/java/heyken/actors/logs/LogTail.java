package heyken.actors.logs;

import heyken.protocol.api.LogLine;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionStage;

/**
 * One live tail of the log store ({@code GET /api/logs/stream}). The store has no tailable cursors, so each
 * {@link #poll} asks for the lines from a little before the newest line already sent ({@code overlap}): lines
 * written late (batched, or shipped by the other core) still arrive, and the ids already sent are skipped, so
 * none is sent twice. At most {@code maxSeen} ids are remembered; past that the look-back shrinks to them.
 * Not thread-safe: one stream polls it, one poll at a time.
 */
public final class LogTail {

  /** What one poll found: the new lines, oldest first, and whether the store had more than one batch. */
  public record Batch(List<LogLine> lines, boolean more) {}

  private final LogStore store;
  private final LogQuery query;
  private final LogSettings.Stream settings;
  private final Map<String, Instant> seen = new HashMap<>();
  private Instant newest;
  private final Instant start;

  LogTail(LogStore store, LogQuery query, Instant start, LogSettings.Stream settings) {
    this.store = store;
    this.query = query;
    this.start = query.since() != null ? query.since() : start;
    this.settings = settings;
  }

  public CompletionStage<Batch> poll() {
    Instant from = lowerBound();
    // every line remembered may come back; asking for that many more guarantees progress past them
    int limit = query.limit() + seen.size();
    return store.after(query, from, limit).thenApply(lines -> {
      var fresh = new ArrayList<LogLine>();
      for (LogLine line : lines) {
        Instant at = Instant.parse(line.time());
        if (seen.putIfAbsent(line.id(), at) == null) {
          fresh.add(line);
          if (newest == null || at.isAfter(newest)) {
            newest = at;
          }
        }
      }
      return new Batch(fresh, lines.size() >= limit);
    });
  }

  /** Whether a tail with an {@code until} has passed it (and its overlap): nothing more can come. */
  public boolean finished(Instant now) {
    return query.until() != null && now.isAfter(query.until().plus(settings.overlap()));
  }

  private Instant lowerBound() {
    if (newest == null) {
      return start;
    }
    Instant from = newest.minus(settings.overlap());
    if (from.isBefore(start)) {
      from = start;
    }
    final Instant cut = from;
    seen.values().removeIf(at -> at.isBefore(cut));
    if (seen.size() > settings.maxSeen()) {
      // too many lines inside the look-back (a burst): look back only as far as the newest maxSeen ids reach
      var times = new ArrayList<>(seen.values());
      times.sort(null);
      Instant keepFrom = times.get(times.size() - settings.maxSeen());
      seen.values().removeIf(at -> at.isBefore(keepFrom));
      from = keepFrom;
    }
    return from;
  }
}
