package heyken.actors.logs;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.LocalTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The trigram indexes that serve {@code contains=} (V3__search_index_per_partition). Maintaining a trigram GIN index
 * row by row was ~80 % of the cost of an insert (bench/logs.sh: 35k lines/s with it, ~100k without), while building
 * one over rows already there costs a third of that. So the open day's lines are written without it and indexed
 * afterwards, in pieces:
 * <ul>
 *   <li>a closed day gets one index over its whole partition, {@code log_lines_YYYYMMDD_trgm};</li>
 *   <li>the open day gets partial indexes over closed time ranges ("chunks"),
 *       {@code log_lines_YYYYMMDD_trgm_HHMMSS_HHMMSS} with {@code WHERE ts >= from AND ts < to}, each built once its
 *       range holds {@code chunk-lines} lines or is {@code chunk-age} old; when the newest chunks that together hold
 *       at most {@code max-chunk-lines} lines are more than {@code max-chunks}, they are merged into one (so a day
 *       has about one chunk per {@code max-chunk-lines} lines, and no line is indexed again once its chunk is that
 *       big);</li>
 *   <li>the lines after the newest chunk (the "tail", seconds to minutes of lines) have no trigram index: a
 *       {@code contains=} query reads them in time order, with the cheaper predicate of {@link LogTextMatch}.</li>
 * </ul>
 * A line that arrives late for a range already indexed is indexed at its insert (a partial index covers every row
 * of its predicate). Indexes are built {@code CONCURRENTLY} (ingest never waits) by the active core, one builder at
 * a time between the cores (a session advisory lock); an index a failed build left invalid is dropped and built
 * again. {@link LogStore} reads {@link #segments} to search newest first, each segment with its own index.
 * Blocking JDBC: call it on the PostgreSQL dispatcher, on a connection in auto-commit mode.
 */
public final class LogSearchIndex {

  private static final Logger log = LoggerFactory.getLogger(LogSearchIndex.class);
  private static final DateTimeFormatter DAY = DateTimeFormatter.BASIC_ISO_DATE;
  private static final DateTimeFormatter TIME = DateTimeFormatter.ofPattern("HHmmss");
  private static final Pattern FULL = Pattern.compile("log_lines_(\\d{8})_trgm");
  private static final Pattern CHUNK = Pattern.compile("log_lines_(\\d{8})_trgm_(\\d{6})_(\\d{6})");
  /** One builder at a time between the two cores (a session advisory lock; bench/logs.sh holds it for its fill). */
  public static final long BUILD_LOCK = 0x6865796b656e5347L;
  /** Lines newer than this are left to the next pass: a batch being written now lands after the chunk's end. */
  static final Duration SETTLE = Duration.ofSeconds(2);

  private LogSearchIndex() {}

  /**
   * When the open day's lines get their index, and how many of the newest lines a {@code contains=} query reads in
   * time order before it uses the indexes ({@code window}).
   */
  public record Settings(Duration interval, long chunkLines, Duration chunkAge, int maxChunks, long maxChunkLines,
      int window) {}

  /** A time range of one day partition, [from, to), with a trigram index over it or not. */
  public record Segment(LocalDate day, Instant from, Instant to, boolean indexed) {}

  static String fullName(LocalDate day) {
    return LogPartitions.name(day) + "_trgm";
  }

  static String chunkName(LocalDate day, Instant from, Instant to) {
    return fullName(day) + "_" + TIME.format(time(from)) + "_" + (to.equals(start(day.plusDays(1))) ? "240000"
        : TIME.format(time(to)));
  }

  private static LocalTime time(Instant t) {
    return t.atOffset(ZoneOffset.UTC).toLocalTime();
  }

  static Instant start(LocalDate day) {
    return day.atStartOfDay().toInstant(ZoneOffset.UTC);
  }

  private static Instant at(LocalDate day, String hhmmss) {
    if (hhmmss.equals("240000")) {
      return start(day.plusDays(1));
    }
    return day.atTime(LocalTime.parse(hhmmss, TIME)).toInstant(ZoneOffset.UTC);
  }

  /**
   * What trigram indexes one day partition has: the whole day, or chunks (sorted), and ones left invalid; and how
   * many lines each chunk's index holds (counted at its build and kept as the index's comment, {@code lines N}; -1
   * when not known: a chunk an older version built).
   */
  record DayIndexes(boolean full, List<Segment> chunks, List<String> invalid, Map<Segment, Long> lines) {

    DayIndexes(boolean full, List<Segment> chunks, List<String> invalid) {
      this(full, chunks, invalid, Map.of());
    }

    long linesOf(Segment chunk) {
      return lines.getOrDefault(chunk, -1L);
    }
  }

  /** The valid trigram indexes of every day partition, and the invalid ones (a failed concurrent build). */
  static Map<LocalDate, DayIndexes> indexes(Connection c) throws SQLException {
    var full = new HashMap<LocalDate, Boolean>();
    var chunks = new HashMap<LocalDate, List<Segment>>();
    var invalid = new HashMap<LocalDate, List<String>>();
    var lines = new HashMap<Segment, Long>();
    try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(
        "SELECT ic.relname, ix.indisvalid, obj_description(ix.indexrelid, 'pg_class') FROM pg_index ix "
            + "JOIN pg_class ic ON ic.oid = ix.indexrelid "
            + "WHERE ic.relname LIKE 'log_lines\\_%\\_trgm%' "
            + "AND ic.relnamespace = to_regnamespace(current_schema())::oid")) {
      while (rs.next()) {
        String name = rs.getString(1);
        var chunk = CHUNK.matcher(name);
        var whole = FULL.matcher(name);
        LocalDate day;
        if (chunk.matches()) {
          day = LocalDate.parse(chunk.group(1), DAY);
          if (rs.getBoolean(2)) {
            var segment = new Segment(day, at(day, chunk.group(2)), at(day, chunk.group(3)), true);
            chunks.computeIfAbsent(day, d -> new ArrayList<>()).add(segment);
            lines.put(segment, linesOfComment(rs.getString(3)));
            continue;
          }
        } else if (whole.matches()) {
          day = LocalDate.parse(whole.group(1), DAY);
          if (rs.getBoolean(2)) {
            full.put(day, true);
            continue;
          }
        } else {
          continue;
        }
        invalid.computeIfAbsent(day, d -> new ArrayList<>()).add(name);
      }
    }
    var out = new HashMap<LocalDate, DayIndexes>();
    var days = new java.util.HashSet<LocalDate>();
    days.addAll(full.keySet());
    days.addAll(chunks.keySet());
    days.addAll(invalid.keySet());
    for (LocalDate day : days) {
      var list = chunks.getOrDefault(day, new ArrayList<>());
      // a merged chunk before the chunks it replaces (same start, later end)
      list.sort(Comparator.comparing(Segment::from).thenComparing(Segment::to, Comparator.reverseOrder()));
      var dayLines = new HashMap<Segment, Long>();
      list.forEach(chunk -> dayLines.put(chunk, lines.getOrDefault(chunk, -1L)));
      out.put(day, new DayIndexes(full.containsKey(day), list, invalid.getOrDefault(day, List.of()), dayLines));
    }
    return out;
  }

  /**
   * Every day partition cut into segments, newest first: a day with its whole-day index is one indexed segment;
   * the open day is its chunks plus the unindexed ranges between and after them.
   */
  public static List<Segment> segments(Connection c) throws SQLException {
    var indexes = indexes(c);
    var out = new ArrayList<Segment>();
    var partitions = LogPartitions.list(c);
    for (int i = partitions.size() - 1; i >= 0; i--) {
      LocalDate day = partitions.get(i).day();
      var ix = indexes.get(day);
      Instant dayStart = start(day);
      Instant dayEnd = start(day.plusDays(1));
      if (ix != null && ix.full()) {
        out.add(new Segment(day, dayStart, dayEnd, true));
        continue;
      }
      var pieces = new ArrayList<Segment>();
      Instant covered = dayStart;
      for (Segment chunk : ix == null ? List.<Segment>of() : ix.chunks()) {
        if (chunk.to().compareTo(covered) <= 0) {
          continue; // inside a merged chunk that is still being replaced
        }
        if (chunk.from().isAfter(covered)) {
          pieces.add(new Segment(day, covered, chunk.from(), false));
        }
        Instant from = chunk.from().isBefore(covered) ? covered : chunk.from();
        pieces.add(new Segment(day, from, chunk.to(), !from.isAfter(chunk.from())));
        covered = chunk.to();
      }
      if (covered.isBefore(dayEnd)) {
        pieces.add(new Segment(day, covered, dayEnd, false));
      }
      for (int k = pieces.size() - 1; k >= 0; k--) {
        out.add(pieces.get(k));
      }
    }
    return out;
  }

  /** What one pass built (index names), for the log. */
  public record Built(List<String> names, Duration took) {}

  /**
   * One pass: drops invalid indexes, builds the whole-day index of one closed day that lacks it (newest first; then
   * drops that day's chunks), and a chunk over the open day's tail when it is due (or merges the chunks). Returns
   * at once when the other core is building. Needs a connection in auto-commit mode (CREATE INDEX CONCURRENTLY).
   */
  public static Built maintain(Connection c, Instant now, Settings settings) throws SQLException {
    long t0 = System.nanoTime();
    var built = new ArrayList<String>();
    if (!tryLock(c)) {
      return new Built(built, Duration.ZERO);
    }
    try {
      var indexes = indexes(c);
      for (var ix : indexes.values()) {
        for (String name : ix.invalid()) {
          execute(c, "DROP INDEX CONCURRENTLY IF EXISTS " + name);
        }
      }
      LocalDate today = LogPartitions.day(now);
      var partitions = LogPartitions.list(c);
      for (int i = partitions.size() - 1; i >= 0; i--) {
        LocalDate day = partitions.get(i).day();
        var ix = indexes.getOrDefault(day, new DayIndexes(false, List.of(), List.of()));
        if (!day.isBefore(today) || ix.full()) {
          continue;
        }
        // a closed day: one index over it all, then its chunks are not needed
        String name = fullName(day);
        execute(c, "CREATE INDEX CONCURRENTLY IF NOT EXISTS " + name + " ON " + LogPartitions.name(day)
            + " USING gin (message gin_trgm_ops)");
        built.add(name);
        for (Segment chunk : ix.chunks()) {
          execute(c, "DROP INDEX CONCURRENTLY IF EXISTS " + chunkName(day, chunk.from(), chunk.to()));
        }
        break; // one whole day per pass: the open day's tail must not wait long behind a backlog of days
      }
      if (partitions.stream().anyMatch(p -> p.day().equals(today))) {
        var ix = indexes.getOrDefault(today, new DayIndexes(false, List.of(), List.of()));
        if (!ix.full()) {
          chunk(c, today, ix, now, settings, built);
        }
      }
    } finally {
      unlock(c);
    }
    return new Built(built, Duration.ofNanos(System.nanoTime() - t0));
  }

  private static void chunk(Connection c, LocalDate day, DayIndexes ix, Instant now, Settings settings,
      List<String> built) throws SQLException {
    String table = LogPartitions.name(day);
    var chunks = new ArrayList<Segment>();
    for (Segment chunk : ix.chunks()) {
      Segment last = chunks.isEmpty() ? null : chunks.get(chunks.size() - 1);
      if (last != null && !chunk.to().isAfter(last.to())) {
        // inside a merged chunk whose build finished before its old pieces were dropped (the core stopped): drop
        execute(c, "DROP INDEX CONCURRENTLY IF EXISTS " + chunkName(day, chunk.from(), chunk.to()));
        continue;
      }
      chunks.add(chunk);
    }
    var lines = new HashMap<Segment, Long>();
    for (Segment chunk : chunks) {
      long n = ix.linesOf(chunk);
      if (n < 0) {
        // a chunk an older version built: counted once
        n = countUpTo(c, table, chunk.from(), chunk.to(), Long.MAX_VALUE);
        remember(c, chunkName(day, chunk.from(), chunk.to()), n);
      }
      lines.put(chunk, n);
    }
    List<Segment> run = mergeRun(chunks, lines::get, settings);
    if (run.size() > settings.maxChunks()) {
      // many small chunks slow the planning of every query of this partition and make a search visit each: the newest
      // ones become one index. Only those that together hold at most max-chunk-lines: merging every chunk of the day
      // each time built the index of the whole day again and again (its CPU grew with the day, bench/soak.sh)
      Instant from = run.get(0).from();
      Instant to = run.get(run.size() - 1).to();
      String name = chunkName(day, from, to);
      create(c, name, table, from, to);
      remember(c, name, run.stream().mapToLong(lines::get).sum());
      analyze(c, table);
      built.add(name);
      for (Segment old : run) {
        String oldName = chunkName(day, old.from(), old.to());
        if (!oldName.equals(name)) {
          execute(c, "DROP INDEX CONCURRENTLY IF EXISTS " + oldName);
        }
      }
      return;
    }
    Instant from = chunks.isEmpty() ? start(day) : chunks.get(chunks.size() - 1).to();
    Instant to = now.minus(SETTLE).truncatedTo(ChronoUnit.SECONDS);
    if (!to.isAfter(from)) {
      return;
    }
    long tail = countUpTo(c, table, from, to, settings.chunkLines());
    boolean due = tail >= settings.chunkLines()
        || (tail > 0 && Duration.between(from, to).compareTo(settings.chunkAge()) >= 0);
    if (due) {
      String name = chunkName(day, from, to);
      create(c, name, table, from, to);
      // counted after the build: the lines a burst wrote into the range meanwhile are in the index too
      remember(c, name, countUpTo(c, table, from, to, Long.MAX_VALUE));
      analyze(c, table);
      built.add(name);
    }
  }

  /**
   * The chunks a merge takes: the newest ones (of disjoint {@code chunks}, oldest first) that together hold at most
   * {@code max-chunk-lines} lines, oldest first. A chunk whose count is not known counts as {@code chunk-lines}.
   */
  static List<Segment> mergeRun(List<Segment> chunks, java.util.function.ToLongFunction<Segment> lines,
      Settings settings) {
    long total = 0;
    int first = chunks.size();
    while (first > 0) {
      long n = lines.applyAsLong(chunks.get(first - 1));
      total += n < 0 ? settings.chunkLines() : n;
      if (total > settings.maxChunkLines() && first < chunks.size()) {
        break;
      }
      first--;
    }
    return chunks.subList(first, chunks.size());
  }

  /**
   * Brings the open day's statistics up to date after a chunk was built. Autovacuum analyses it only after a tenth
   * of its lines changed, so after a burst the planner thought a chunk's range held a few hundred lines, not 200k,
   * and read them through the time index instead of the new chunk's trigram index (bench/logs.sh: 185 ms instead of
   * 7 ms for a text missing from the burst). About 0.3 s at 2.4M lines; a lock held by autovacuum's own analysis is
   * waited for 1 s at most (then the next chunk's pass does it).
   */
  private static void analyze(Connection c, String table) throws SQLException {
    boolean autoCommit = c.getAutoCommit();
    c.setAutoCommit(false);
    try (Statement s = c.createStatement()) {
      s.execute("SET LOCAL lock_timeout = '1s'");
      s.execute("ANALYZE " + table);
      c.commit();
    } catch (SQLException e) {
      c.rollback();
      log.info("the statistics of {} were not brought up to date after its chunk ({}); the next chunk does it",
          table, e.getMessage());
    } finally {
      c.setAutoCommit(autoCommit);
    }
  }

  private static final Pattern LINES = Pattern.compile("lines (\\d+)");

  /** Keeps how many lines a chunk's index holds, as its comment (read back by {@link #indexes}). */
  private static void remember(Connection c, String index, long lines) throws SQLException {
    execute(c, "COMMENT ON INDEX " + index + " IS 'lines " + lines + "'");
  }

  static long linesOfComment(String comment) {
    var m = comment == null ? null : LINES.matcher(comment);
    return m != null && m.matches() ? Long.parseLong(m.group(1)) : -1;
  }

  private static void create(Connection c, String name, String table, Instant from, Instant to) throws SQLException {
    execute(c, "CREATE INDEX CONCURRENTLY IF NOT EXISTS " + name + " ON " + table
        + " USING gin (message gin_trgm_ops) WHERE " + range(from, to));
  }

  /** The predicate of a chunk index; a query states it the same way so that the planner matches it. */
  static String range(Instant from, Instant to) {
    return "ts >= '" + from + "'::timestamptz AND ts < '" + to + "'::timestamptz";
  }

  private static long countUpTo(Connection c, String table, Instant from, Instant to, long max) throws SQLException {
    try (PreparedStatement s = c.prepareStatement(
        "SELECT count(*) FROM (SELECT 1 FROM " + table + " WHERE ts >= ? AND ts < ? LIMIT ?) x")) {
      s.setObject(1, LogStore.at(from), java.sql.Types.TIMESTAMP_WITH_TIMEZONE);
      s.setObject(2, LogStore.at(to), java.sql.Types.TIMESTAMP_WITH_TIMEZONE);
      s.setLong(3, max);
      try (ResultSet rs = s.executeQuery()) {
        rs.next();
        return rs.getLong(1);
      }
    }
  }

  private static boolean tryLock(Connection c) throws SQLException {
    try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(
        "SELECT pg_try_advisory_lock(" + BUILD_LOCK + ")")) {
      rs.next();
      return rs.getBoolean(1);
    }
  }

  private static void unlock(Connection c) {
    try (Statement s = c.createStatement()) {
      s.execute("SELECT pg_advisory_unlock(" + BUILD_LOCK + ")");
    } catch (SQLException e) {
      // the connection broke: the server released the session's lock with it
      log.debug("search index lock release failed: {}", e.getMessage());
    }
  }

  private static void execute(Connection c, String sql) throws SQLException {
    try (Statement s = c.createStatement()) {
      s.execute(sql);
    }
  }
}
