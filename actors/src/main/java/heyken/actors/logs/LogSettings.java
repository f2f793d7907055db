package heyken.actors.logs;

import com.typesafe.config.Config;
import java.time.Duration;

/**
 * The {@code heyken.logs} settings: buffering and batching, queries, the live tail, retention. {@code collection} is
 * the MongoDB collection where an older version kept its lines (copied into PostgreSQL once, then dropped).
 */
public record LogSettings(
    String collection,
    int bufferSize,
    int batchSize,
    int parallelWrites,
    Duration flushInterval,
    int maxQueryLimit,
    int maxConcurrentQueries,
    Duration dropReportInterval,
    Stream stream,
    Retention retention,
    LogSearchIndex.Settings searchIndex) {

  /** The default search index (tests that build their own settings). */
  public static final LogSearchIndex.Settings SEARCH_INDEX =
      new LogSearchIndex.Settings(Duration.ofSeconds(5), 100_000, Duration.ofMinutes(15), 8, 5_000_000, 20_000);

  public LogSettings(String collection, int bufferSize, int batchSize, int parallelWrites, Duration flushInterval,
      int maxQueryLimit, int maxConcurrentQueries, Duration dropReportInterval, Stream stream, Retention retention) {
    this(collection, bufferSize, batchSize, parallelWrites, flushInterval, maxQueryLimit, maxConcurrentQueries,
        dropReportInterval, stream, retention, SEARCH_INDEX);
  }

  /** {@code GET /api/logs/stream}: how often the store is polled, how far back late lines are looked for. */
  public record Stream(Duration pollInterval, Duration overlap, Duration heartbeat, int maxSeen) {}

  /**
   * Lines older than {@code maxAge} are deleted, and beyond {@code maxLines} the oldest are deleted; checked every
   * {@code interval} by the active core. A zero max-age or max-lines turns that rule off.
   */
  public record Retention(Duration maxAge, long maxLines, Duration interval) {}

  public static LogSettings from(Config config) {
    Config c = config.getConfig("heyken.logs");
    return new LogSettings(
        c.getString("collection"),
        c.getInt("buffer-size"),
        c.getInt("batch-size"),
        c.getInt("parallel-writes"),
        c.getDuration("flush-interval"),
        c.getInt("max-query-limit"),
        c.getInt("max-concurrent-queries"),
        c.getDuration("drop-report-interval"),
        new Stream(
            c.getDuration("stream.poll-interval"),
            c.getDuration("stream.overlap"),
            c.getDuration("stream.heartbeat"),
            c.getInt("stream.max-seen")),
        new Retention(
            c.getDuration("retention.max-age"),
            c.getLong("retention.max-lines"),
            c.getDuration("retention.interval")),
        new LogSearchIndex.Settings(
            c.getDuration("search-index.interval"),
            c.getLong("search-index.chunk-lines"),
            c.getDuration("search-index.chunk-age"),
            c.getInt("search-index.max-chunks"),
            c.getLong("search-index.max-chunk-lines"),
            c.getInt("search-index.window")));
  }

  /** The defaults of application.conf, for code that has no configuration at hand. */
  public static LogSettings defaults(String collection, int maxQueryLimit) {
    return new LogSettings(collection, 100_000, 5_000, 2, Duration.ofMillis(200), maxQueryLimit, 8,
        Duration.ofSeconds(10), new Stream(Duration.ofSeconds(1), Duration.ofSeconds(5), Duration.ofSeconds(15), 10_000),
        new Retention(Duration.ofDays(14), 20_000_000, Duration.ofMinutes(10)));
  }
}
