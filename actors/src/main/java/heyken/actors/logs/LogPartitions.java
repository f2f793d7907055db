package heyken.actors.logs;

import heyken.actors.postgres.PostgresDatabase;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * The day partitions of {@code log_lines} (one per UTC day, {@code log_lines_YYYYMMDD}): created ahead of time and
 * on demand, dropped by the retention. Blocking JDBC: call it on the PostgreSQL dispatcher.
 */
public final class LogPartitions {

  private static final DateTimeFormatter DAY = DateTimeFormatter.BASIC_ISO_DATE;
  private static final Pattern NAME = Pattern.compile("log_lines_(\\d{8})");
  // serialises partition DDL of both cores (pg_advisory_xact_lock key)
  private static final long DDL_LOCK = 0x6865796b656e4c4cL;

  private LogPartitions() {}

  /** A day partition and its exact or estimated number of lines. */
  public record Partition(String name, LocalDate day) {}

  public static String name(LocalDate day) {
    return "log_lines_" + DAY.format(day);
  }

  public static LocalDate day(Instant t) {
    return t.atOffset(ZoneOffset.UTC).toLocalDate();
  }

  /** Creates the partitions of these days that do not exist yet (idempotent; both cores may call it at once). */
  public static void ensure(Connection c, java.util.Collection<LocalDate> days) throws SQLException {
    // do not queue behind a long lock (a retention drop waiting for a query): fail, and try again
    ddl(c, "5s", s -> {
      for (LocalDate day : days) {
        s.execute("CREATE TABLE IF NOT EXISTS " + name(day) + " PARTITION OF log_lines FOR VALUES FROM ('"
            + day + " 00:00:00+00') TO ('" + day.plusDays(1) + " 00:00:00+00')");
      }
    });
  }

  /** Today's partition and the next {@code ahead} days'. */
  public static void ensureAhead(Connection c, Instant now, int ahead) throws SQLException {
    var days = new ArrayList<LocalDate>();
    LocalDate today = day(now);
    for (int i = 0; i <= ahead; i++) {
      days.add(today.plusDays(i));
    }
    ensure(c, days);
  }

  /** The day partitions, oldest first. */
  public static List<Partition> list(Connection c) throws SQLException {
    var out = new ArrayList<Partition>();
    try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(
        "SELECT child.relname FROM pg_inherits i JOIN pg_class child ON child.oid = i.inhrelid "
            + "JOIN pg_class parent ON parent.oid = i.inhparent WHERE parent.relname = 'log_lines' "
            + "AND parent.relnamespace = to_regnamespace(current_schema())::oid")) {
      while (rs.next()) {
        var m = NAME.matcher(rs.getString(1));
        if (m.matches()) {
          out.add(new Partition(rs.getString(1), LocalDate.parse(m.group(1), DAY)));
        }
      }
    }
    out.sort(java.util.Comparator.comparing(Partition::day));
    return out;
  }

  static long count(Connection c, String partition) throws SQLException {
    try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT count(*) FROM " + partition)) {
      rs.next();
      return rs.getLong(1);
    }
  }

  /** The planner's estimate of the lines in all partitions, or -1 when a partition was never analysed. */
  static long estimate(Connection c) throws SQLException {
    try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(
        "SELECT coalesce(sum(child.reltuples), 0), coalesce(min(child.reltuples), 0) FROM pg_inherits i "
            + "JOIN pg_class child ON child.oid = i.inhrelid JOIN pg_class parent ON parent.oid = i.inhparent "
            + "WHERE parent.relname = 'log_lines' AND parent.relnamespace = to_regnamespace(current_schema())::oid")) {
      rs.next();
      return rs.getDouble(2) < 0 ? -1 : (long) rs.getDouble(1);
    }
  }

  private static void drop(Connection c, String partition) throws SQLException {
    // a drop locks the parent table: never wait long for it (inserts and queries would queue behind)
    ddl(c, "2s", s -> s.execute("DROP TABLE IF EXISTS " + partition));
  }

  private interface Ddl {
    void run(Statement s) throws SQLException;
  }

  /** Partition DDL in a transaction, serialised between the cores, waiting at most {@code lockTimeout} for locks. */
  private static void ddl(Connection c, String lockTimeout, Ddl body) throws SQLException {
    PostgresDatabase.inTransaction(c, tx -> {
      try (Statement s = tx.createStatement()) {
        s.execute("SET LOCAL lock_timeout = '" + lockTimeout + "'");
        s.execute("SELECT pg_advisory_xact_lock(" + DDL_LOCK + ")");
        body.run(s);
      }
      return null;
    });
  }

  /** See {@link LogStore#prune}: by age, then by count; whole partitions where it can. */
  static LogStore.Pruned prune(Connection c, Instant now, Duration maxAge, long maxLines) throws SQLException {
    long byAge = 0;
    if (!maxAge.isZero() && !maxAge.isNegative()) {
      Instant cut = now.minus(maxAge);
      for (Partition p : list(c)) {
        if (!p.day().plusDays(1).atStartOfDay().toInstant(ZoneOffset.UTC).isAfter(cut)) {
          byAge += count(c, p.name());
          drop(c, p.name());
        } else if (!p.day().atStartOfDay().toInstant(ZoneOffset.UTC).isAfter(cut)) {
          try (PreparedStatement s = c.prepareStatement("DELETE FROM " + p.name() + " WHERE ts < ?")) {
            s.setObject(1, cut.atOffset(ZoneOffset.UTC), java.sql.Types.TIMESTAMP_WITH_TIMEZONE);
            byAge += s.executeUpdate();
          }
        }
      }
    }
    long bySize = 0;
    if (maxLines > 0) {
      long estimate = estimate(c);
      // counting 20M lines exactly takes seconds: only when the estimate says the store is near the maximum (or the
      // maximum is small enough to count at once)
      if (maxLines <= 1_000_000 || estimate < 0 || estimate > maxLines * 8 / 10) {
        var partitions = list(c);
        var counts = new long[partitions.size()];
        long total = 0;
        for (int i = 0; i < partitions.size(); i++) {
          counts[i] = count(c, partitions.get(i).name());
          total += counts[i];
        }
        if (total > maxLines) {
          // make room for a tenth more, not one pass per interval at the maximum
          long excess = total - (maxLines - maxLines / 10);
          for (int i = 0; i < partitions.size() && excess > 0; i++) {
            String name = partitions.get(i).name();
            if (counts[i] == 0) {
              continue;
            }
            if (counts[i] <= excess) {
              drop(c, name);
              bySize += counts[i];
              excess -= counts[i];
            } else {
              bySize += deleteOldest(c, name, excess);
              excess = 0;
            }
          }
        }
      }
    }
    return new LogStore.Pruned(byAge, bySize);
  }

  /** Deletes the {@code n} oldest lines of one partition (by time, then id). */
  private static long deleteOldest(Connection c, String partition, long n) throws SQLException {
    try (PreparedStatement boundary = c.prepareStatement(
        "SELECT ts, id FROM " + partition + " ORDER BY ts, id OFFSET ? LIMIT 1")) {
      boundary.setLong(1, n - 1);
      try (ResultSet rs = boundary.executeQuery()) {
        if (!rs.next()) {
          return 0;
        }
        try (PreparedStatement delete = c.prepareStatement(
            "DELETE FROM " + partition + " WHERE (ts, id) <= (?, ?)")) {
          delete.setObject(1, rs.getObject(1, java.time.OffsetDateTime.class), java.sql.Types.TIMESTAMP_WITH_TIMEZONE);
          delete.setLong(2, rs.getLong(2));
          return delete.executeUpdate();
        }
      }
    }
  }
}
