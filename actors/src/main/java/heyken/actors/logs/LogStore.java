package heyken.actors.logs;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import heyken.actors.postgres.PostgresDatabase;
import heyken.protocol.api.LogLine;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Semaphore;
import java.util.function.Supplier;

/**
 * Reads the stored log lines (PostgreSQL table {@code log_lines}) for the Logger API: parameterised, read-only, in a
 * transaction with {@code statement_timeout}, always bounded by a limit, and at most {@code max-concurrent-queries}
 * at once per core (more are refused at once with {@link Busy}). Also the retention ({@link #prune}).
 */
public final class LogStore {

  private static final ObjectMapper JSON = new ObjectMapper();
  static final String COLUMNS = "id, ts, level, core, epoch, component, logger, thread, message, exception, mdc";

  private final PostgresDatabase db;
  private final LogSettings settings;
  private final Semaphore reads;
  private volatile LogTextMatch.Fold fold;

  /** Too many Logger API reads at once on this core: the caller should retry in a moment. */
  public static final class Busy extends RuntimeException {
    Busy(int max) {
      super("the log store is answering " + max + " queries already; retry in a moment");
    }
  }

  public LogStore(PostgresDatabase db, LogSettings settings) {
    this.db = db;
    this.settings = settings;
    this.reads = new Semaphore(settings.maxConcurrentQueries());
    // what lower() does here is read once (~0.5 s), before the first contains= needs it; failing that, by it
    db.ready().thenCompose(v -> db.read(this::fold)).exceptionally(e -> null);
  }

  public LogSettings settings() {
    return settings;
  }

  public PostgresDatabase database() {
    return db;
  }

  /** Runs a read if a permit is free now, else fails with {@link Busy} at once (never queues). */
  private <T> CompletionStage<T> bounded(Supplier<CompletionStage<T>> read) {
    if (!reads.tryAcquire()) {
      return CompletableFuture.failedFuture(new Busy(settings.maxConcurrentQueries()));
    }
    try {
      return read.get().whenComplete((r, e) -> reads.release());
    } catch (RuntimeException e) {
      reads.release();
      throw e;
    }
  }

  /** The WHERE clause of a query's filters (not its cursor), with its parameters appended to {@code params}. */
  static String where(LogQuery q, List<Object> params) {
    var clauses = new ArrayList<String>();
    if (q.feature() != null) {
      clauses.add("feature = ?");
      params.add(q.feature());
    }
    if (q.run() != null) {
      clauses.add("run = ?");
      params.add(q.run());
    }
    if (q.room() != null) {
      clauses.add("room = ?");
      params.add(q.room());
    }
    if (q.minLevel() != null) {
      int n = LogQuery.levelNum(q.minLevel());
      if (n > 0) {
        // a constant, not a parameter: the planner matches it to the partial indexes (level_num >= 3, >= 4)
        clauses.add("level_num >= " + n);
      }
    }
    if (q.component() != null) {
      clauses.add("component = ?");
      params.add(q.component());
    }
    if (q.core() != null) {
      clauses.add("core = ?");
      params.add(q.core());
    }
    if (q.since() != null) {
      clauses.add("ts >= ?");
      params.add(at(q.since()));
    }
    if (q.until() != null) {
      clauses.add("ts <= ?");
      params.add(at(q.until()));
    }
    if (q.contains() != null && !q.contains().isEmpty()) {
      // matched literally and case-insensitively: LIKE's wildcards in the user's text are escaped; the trigram
      // index serves ILIKE
      clauses.add("message ILIKE ?");
      params.add("%" + likeLiteral(q.contains()) + "%");
    }
    return clauses.isEmpty() ? "TRUE" : String.join(" AND ", clauses);
  }

  static String likeLiteral(String text) {
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_");
  }

  /** A page of lines, newest first, and the cursor of the next page when there is one. */
  public CompletionStage<LogLine.Page> find(LogQuery q) {
    return bounded(() -> db.read(c -> page(c, q)));
  }

  private LogLine.Page page(Connection c, LogQuery q) throws SQLException {
    if (q.contains() != null && !q.contains().isEmpty()) {
      return search(c, q);
    }
    var params = new ArrayList<Object>();
    String sql = "SELECT " + COLUMNS + " FROM log_lines WHERE " + where(q, params) + cursor(q, params)
        + NEWEST_FIRST + (q.limit() + 1); // one more than asked tells whether there is a next page
    var rows = new ArrayList<Found>();
    collect(c, sql, params, rows);
    return page(rows, q.limit());
  }

  private static final String NEWEST_FIRST = " ORDER BY ts DESC, id DESC LIMIT ";

  /** A line read, with its sort key. */
  private record Found(LogLine line, long micros, long id) {}

  private static String cursor(LogQuery q, List<Object> params) {
    if (q.after() == null) {
      return "";
    }
    params.add(at(q.after().time()));
    params.add(q.after().id());
    return " AND (ts, id) < (?, ?)";
  }

  private static void collect(Connection c, String sql, List<Object> params, List<Found> into) throws SQLException {
    try (PreparedStatement s = prepare(c, sql, params); ResultSet rs = s.executeQuery()) {
      while (rs.next()) {
        var ts = rs.getObject("ts", java.time.OffsetDateTime.class);
        into.add(new Found(view(rs), LogRow.micros(ts.toInstant()), rs.getLong("id")));
      }
    }
  }

  private static LogLine.Page page(List<Found> rows, int limit) {
    var lines = new ArrayList<LogLine>();
    for (int i = 0; i < Math.min(limit, rows.size()); i++) {
      lines.add(rows.get(i).line());
    }
    if (rows.size() <= limit) {
      return new LogLine.Page(lines, null);
    }
    Found last = rows.get(limit - 1);
    return new LogLine.Page(lines, new LogQuery.Cursor(last.micros(), last.id()).token());
  }

  /**
   * {@code contains=}, newest first, in two steps (LogSearchIndex explains why the open day's newest lines have no
   * trigram index). First the newest {@code search-index.window} lines of the other filters, read in time order: a
   * common text fills the page there, where a trigram index would fetch every line that has it. Then, older than
   * that window, segment by segment newest first: the indexed ones by their newest {@link #SEGMENT_HEAD} lines in
   * time order (a text common there, if not in the window) and then by their trigram index (a bitmap scan: the
   * planner, guessing how common the text is, would otherwise read a whole day in time order for a rare string of
   * common words), the unindexed ones in time order. It stops as soon as the page is full. What is read without an
   * index (the window, the heads, the unindexed tail a burst leaves until the next chunk is built) is matched by
   * {@link LogTextMatch}: ~0.6 µs a line with its index scan, where ILIKE took ~1.7 µs (EXPLAIN ANALYZE over a
   * 200k-line tail: 115 ms instead of 340 ms).
   */
  private LogLine.Page search(Connection c, LogQuery q) throws SQLException {
    int want = q.limit() + 1;
    var others = new LogQuery(q.limit(), q.minLevel(), q.component(), q.core(), q.since(), q.until(), null, q.after(),
        q.feature(), q.run(), q.room());
    var params = new ArrayList<Object>();
    String filters = where(others, params) + cursor(others, params);
    String text = "%" + likeLiteral(q.contains()) + "%";
    var rows = new ArrayList<Found>();
    // where the window ends: the SEARCH_WINDOW-th newest line of the other filters
    java.time.OffsetDateTime edgeTs = null;
    long edgeId = 0;
    try (PreparedStatement s = prepare(c, "SELECT ts, id FROM log_lines WHERE " + filters
        + " ORDER BY ts DESC, id DESC OFFSET " + (settings.searchIndex().window() - 1) + " LIMIT 1", params);
        ResultSet rs = s.executeQuery()) {
      if (rs.next()) {
        edgeTs = rs.getObject(1, java.time.OffsetDateTime.class);
        edgeId = rs.getLong(2);
      }
    }
    var windowParams = new ArrayList<Object>(params);
    String window = "";
    if (edgeTs != null) {
      window = " AND (ts, id) >= (?, ?)";
      windowParams.add(edgeTs);
      windowParams.add(edgeId);
    }
    LogTextMatch.Fold fold = fold(c);
    String read = LogTextMatch.predicate(fold, q.contains(), windowParams); // no index: the cheaper predicate
    planner(c, "enable_bitmapscan", false);
    collect(c, "SELECT " + COLUMNS + " FROM log_lines WHERE " + filters + window + " AND " + read
        + NEWEST_FIRST + want, windowParams, rows);
    planner(c, "enable_bitmapscan", true);
    if (rows.size() >= want || edgeTs == null) {
      return page(rows, q.limit()); // the window held every line of the other filters
    }
    Instant edge = edgeTs.toInstant();
    String probe = probe(q.contains());
    for (LogSearchIndex.Segment segment : LogSearchIndex.segments(c)) {
      if (segment.from().isAfter(edge) || (q.since() != null && !segment.to().isAfter(q.since()))
          || (q.until() != null && segment.from().isAfter(q.until()))) {
        continue;
      }
      var segmentParams = new ArrayList<Object>(params);
      segmentParams.add(edgeTs);
      segmentParams.add(edgeId);
      String range = LogSearchIndex.range(segment.from(), segment.to());
      String head = "(SELECT " + COLUMNS + " FROM log_lines WHERE " + filters + " AND (ts, id) < (?, ?) AND " + range
          + NEWEST_FIRST + SEGMENT_HEAD + ") head";
      String match;
      if (!segment.indexed()) {
        match = " AND " + LogTextMatch.predicate(fold, q.contains(), segmentParams);
      } else {
        match = " AND message ILIKE ?";
        // first the segment's newest SEGMENT_HEAD lines in time order: a text common there fills the page at once,
        // where the bitmap would fetch and sort every line holding the probe (a phrase of common words missing
        // from the window: ~700 ms a day at 10M lines). The newest matches of the head are the segment's newest.
        var headParams = new ArrayList<Object>(segmentParams);
        String headMatch = LogTextMatch.predicate(fold, q.contains(), headParams);
        var found = new ArrayList<Found>();
        collect(c, "SELECT * FROM " + head + " WHERE " + headMatch + NEWEST_FIRST + (want - rows.size()),
            headParams, found);
        if (rows.size() + found.size() >= want) {
          rows.addAll(found);
          break;
        }
        boolean probed = probe != null && !common(c, head, segmentParams, probe);
        if (!probed && commonInSegment(c, fold, segment, q.contains())) {
          // the whole text is common in the segment, not in its head (its newest lines are others, a burst): the
          // bitmap would fetch and sort most of the segment (~1 s a day at 10M lines), where reading it in time
          // order stops at the first matches
          match = " AND " + LogTextMatch.predicate(fold, q.contains(), segmentParams);
          collect(c, "SELECT " + COLUMNS + " FROM log_lines WHERE " + filters + " AND (ts, id) < (?, ?) AND " + range
              + match + NEWEST_FIRST + (want - rows.size()), segmentParams, rows);
          if (rows.size() >= want) {
            break;
          }
          continue;
        }
        if (probed) {
          // the index looks up the probe only; the whole text is checked on the rows it finds (an expression the
          // index cannot serve, so the planner does not add its common trigrams to the lookup). A probe in more
          // than a tenth of the head's lines ("benchmark" of "log benchmark, request") would fetch as much of the
          // segment: then the index looks up every trigram of the text, whose intersection is small.
          match = " AND message ILIKE ? AND (message || '') ILIKE ?";
          segmentParams.add("%" + likeLiteral(probe) + "%");
        }
        segmentParams.add(text);
      }
      String sql = "SELECT " + COLUMNS + " FROM log_lines WHERE " + filters + " AND (ts, id) < (?, ?) AND "
          + range + match + NEWEST_FIRST + (want - rows.size());
      if (segment.indexed()) {
        planner(c, "enable_indexscan", false);
        planner(c, "enable_seqscan", false);
      }
      collect(c, sql, segmentParams, rows);
      if (segment.indexed()) {
        planner(c, "enable_indexscan", true);
        planner(c, "enable_seqscan", true);
      }
      if (rows.size() >= want) {
        break;
      }
    }
    return page(rows, q.limit());
  }

  /** What this database's lower() does (LogTextMatch), read once. */
  private LogTextMatch.Fold fold(Connection c) throws SQLException {
    LogTextMatch.Fold f = fold;
    if (f == null) {
      f = LogTextMatch.Fold.of(c);
      fold = f;
    }
    return f;
  }

  /** About how many lines of a segment's partition {@link #commonInSegment} samples. */
  static final int SAMPLE = 5000;

  /**
   * Whether the text is in more than a hundredth of a sample of the segment's lines: random pages of its partition
   * (TABLESAMPLE SYSTEM, about {@link #SAMPLE} lines, a few ms; not its first pages, which may all be one burst).
   * Then a read in time order finds its newest matches after few lines.
   */
  private static boolean commonInSegment(Connection c, LogTextMatch.Fold fold, LogSearchIndex.Segment segment,
      String text) throws SQLException {
    String table = LogPartitions.name(segment.day());
    double lines;
    try (PreparedStatement s = c.prepareStatement("SELECT reltuples FROM pg_class WHERE oid = to_regclass(?)")) {
      s.setString(1, table);
      try (ResultSet rs = s.executeQuery()) {
        lines = rs.next() ? rs.getDouble(1) : 0;
      }
    }
    double percent = lines <= SAMPLE ? 100 : Math.max(0.01, 100.0 * SAMPLE / lines);
    var p = new ArrayList<Object>();
    String match = LogTextMatch.predicate(fold, text, p);
    try (PreparedStatement s = prepare(c, "SELECT count(*), count(*) FILTER (WHERE " + match + ") FROM " + table
        + " TABLESAMPLE SYSTEM (" + String.format(java.util.Locale.ROOT, "%.4f", percent) + ") REPEATABLE (0) WHERE "
        + LogSearchIndex.range(segment.from(), segment.to()), p);
        ResultSet rs = s.executeQuery()) {
      rs.next();
      return rs.getLong(1) > 0 && rs.getLong(2) * 100 > rs.getLong(1);
    }
  }

  /** Whether the probe is in more than a tenth of the segment's head (then it is no probe). */
  private static boolean common(Connection c, String head, List<Object> params, String probe) throws SQLException {
    var p = new ArrayList<Object>();
    p.add("%" + likeLiteral(probe) + "%"); // the first parameter: the head's follow
    p.addAll(params);
    try (PreparedStatement s = prepare(c, "SELECT count(*), count(*) FILTER (WHERE message ILIKE ?) FROM " + head, p);
        ResultSet rs = s.executeQuery()) {
      rs.next();
      return rs.getLong(2) * 10 > rs.getLong(1);
    }
  }

  /** How many of an indexed segment's newest lines {@link #search} reads in time order before its index. */
  static final int SEGMENT_HEAD = 500;

  private static final java.util.regex.Pattern TOKEN = java.util.regex.Pattern.compile("[\\p{L}\\p{N}_.:/-]{3,}");

  /**
   * The part of a multi-word text the trigram index looks up, or null for the whole text. A GIN lookup reads the
   * posting list of every trigram of its pattern, and those of common words ("request", "failed") hold a line in
   * every few: for "request ab12" the whole text read ~2,400 index pages per day at 10M lines (80 ms), the probe
   * "ab12" a few dozen. The token that looks rarest: one with a digit (ids, hashes, numbers), else the longest;
   * at least 3 characters (fewer give no trigram).
   */
  static String probe(String text) {
    var m = TOKEN.matcher(text);
    String best = null;
    int bestScore = -1;
    int tokens = 0;
    while (m.find()) {
      tokens++;
      String token = m.group();
      int score = (token.chars().anyMatch(Character::isDigit) ? 1000 : 0) + token.length();
      if (score > bestScore) {
        best = token;
        bestScore = score;
      }
    }
    return best == null || best.length() == text.length() || tokens == 0 ? null : best;
  }

  /** A planner switch for the rest of this read's transaction. */
  private static void planner(Connection c, String setting, boolean on) throws SQLException {
    try (Statement s = c.createStatement()) {
      s.execute("SET LOCAL " + setting + " = " + (on ? "on" : "off"));
    }
  }

  /**
   * Lines matching the query at or after {@code from} (its since/until still apply), oldest first, at most
   * {@code limit}. For the live tail, which moves {@code from} forward itself.
   */
  CompletionStage<List<LogLine>> after(LogQuery q, Instant from, int limit) {
    return bounded(() -> db.read(c -> {
      var params = new ArrayList<Object>();
      String sql = "SELECT " + COLUMNS + " FROM log_lines WHERE " + where(q, params) + " AND ts >= ?"
          + " ORDER BY ts, id LIMIT " + limit;
      params.add(at(from));
      var lines = new ArrayList<LogLine>();
      try (PreparedStatement s = prepare(c, sql, params); ResultSet rs = s.executeQuery()) {
        while (rs.next()) {
          lines.add(view(rs));
        }
      }
      return lines;
    }));
  }

  /** A live tail of the lines matching the query, starting at {@code start}. */
  public LogTail tail(LogQuery q, Instant start) {
    return new LogTail(this, q, start, settings.stream());
  }

  /** The statement with its parameters bound (times as timestamptz). */
  static PreparedStatement prepare(Connection c, String sql, List<Object> params) throws SQLException {
    PreparedStatement s = c.prepareStatement(sql);
    for (int i = 0; i < params.size(); i++) {
      Object p = params.get(i);
      if (p instanceof java.time.OffsetDateTime t) {
        s.setObject(i + 1, t, java.sql.Types.TIMESTAMP_WITH_TIMEZONE);
      } else {
        s.setObject(i + 1, p);
      }
    }
    return s;
  }

  /** A time as a timestamptz parameter (UTC, microseconds: the column's precision). */
  static java.time.OffsetDateTime at(Instant t) {
    return t.truncatedTo(java.time.temporal.ChronoUnit.MICROS).atOffset(java.time.ZoneOffset.UTC);
  }

  /** What a retention pass removed: lines older than the maximum age, lines beyond the maximum count. */
  public record Pruned(long byAge, long bySize) {}

  /**
   * Removes lines older than {@code maxAge} (measured from {@code now}) and then, when there are more than
   * {@code maxLines}, the oldest down to nine tenths of it: whole day partitions where it can (a drop is instant and
   * leaves nothing to vacuum), the rows of the oldest remaining partition otherwise. Idempotent: two cores running
   * it at once remove the same lines. Blocking.
   */
  public Pruned prune(Instant now, Duration maxAge, long maxLines) {
    return db.withConnection(c -> LogPartitions.prune(c, now, maxAge, maxLines));
  }

  public CompletionStage<Pruned> pruneAsync(Instant now, Duration maxAge, long maxLines) {
    return db.async(c -> LogPartitions.prune(c, now, maxAge, maxLines));
  }

  /** A stored line as the Logger API shows it. */
  public static LogLine view(ResultSet rs) throws SQLException {
    Map<String, String> mdc = null;
    String m = rs.getString("mdc");
    if (m != null) {
      try {
        mdc = JSON.readValue(m, new TypeReference<LinkedHashMap<String, String>>() {});
      } catch (java.io.IOException e) {
        mdc = Map.of("unreadable", m);
      }
    }
    int core = rs.getInt("core");
    Integer coreId = rs.wasNull() ? null : core;
    long epoch = rs.getLong("epoch");
    Long epochValue = rs.wasNull() ? null : epoch;
    var ts = rs.getObject("ts", java.time.OffsetDateTime.class);
    return new LogLine(
        String.valueOf(rs.getLong("id")),
        ts == null ? null : ts.toInstant().toString(),
        rs.getString("level"),
        coreId,
        epochValue,
        rs.getString("component"),
        rs.getString("logger"),
        rs.getString("thread"),
        rs.getString("message"),
        rs.getString("exception"),
        mdc);
  }

  /** The {@code mdc} of a line of the older MongoDB store, as strings (null when it has none). */
  static Map<String, String> mdcOf(org.bson.Document d) {
    org.bson.Document m = d.get("mdc", org.bson.Document.class);
    if (m == null) {
      return null;
    }
    var mdc = new LinkedHashMap<String, String>();
    for (var e : m.entrySet()) {
      mdc.put(e.getKey(), String.valueOf(e.getValue()));
    }
    return mdc;
  }

  /**
   * A line of the older MongoDB store ({@code heyken_logs}) as the Logger API shows it: for the structured questions
   * of {@code logs.question} until they read PostgreSQL.
   */
  public static LogLine view(org.bson.Document d) {
    Map<String, String> mdc = mdcOf(d);
    Number core = d.get("core", Number.class);
    Number epoch = d.get("epoch", Number.class);
    org.bson.types.ObjectId id = d.getObjectId("_id");
    return new LogLine(id == null ? null : id.toHexString(),
        d.getDate("ts") == null ? null : d.getDate("ts").toInstant().toString(), d.getString("level"),
        core == null ? null : core.intValue(), epoch == null ? null : epoch.longValue(), d.getString("component"),
        d.getString("logger"), d.getString("thread"), d.getString("message"), d.getString("exception"), mdc);
  }
}
