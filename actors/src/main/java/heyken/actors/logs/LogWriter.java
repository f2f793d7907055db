package heyken.actors.logs;

import com.fasterxml.jackson.databind.ObjectMapper;
import heyken.actors.postgres.PostgresDatabase;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.time.LocalDate;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import org.postgresql.PGConnection;

/**
 * Writes batches of {@link LogRow}s into {@code log_lines} with one {@code COPY ... FROM STDIN} (text format) per
 * batch, in one transaction: a batch is stored entirely or not at all. Creates the day partitions a batch needs
 * first (known ones are remembered). Blocking: call it on the PostgreSQL dispatcher.
 */
public final class LogWriter {

  static final String COPY = "COPY log_lines (id, ts, level, level_num, core, epoch, component, logger, thread, "
      + "message, exception, mdc, feature, run, job, room, stream) FROM STDIN";
  private static final ObjectMapper JSON = new ObjectMapper();

  private final PostgresDatabase db;
  private final Set<LocalDate> partitions = ConcurrentHashMap.newKeySet();

  public LogWriter(PostgresDatabase db) {
    this.db = db;
  }

  /** Stores the batch (one transaction); throws when it is not (then nothing of it is stored, or see {@link #stored}). */
  public void write(List<LogRow> batch) {
    if (batch.isEmpty()) {
      return;
    }
    db.withConnection(c -> {
      ensurePartitions(c, batch);
      try {
        copy(c, batch);
      } catch (SQLException e) {
        // 23514: a line of a day whose partition the other core's retention dropped, or not yet known here
        if (!"23514".equals(e.getSQLState())) {
          throw e;
        }
        partitions.clear();
        ensurePartitions(c, batch);
        copy(c, batch);
      }
      return null;
    });
  }

  /** Whether a batch that failed at its commit was stored after all (one of its lines is there: all of it is). */
  public boolean stored(List<LogRow> batch) {
    LogRow first = batch.get(0);
    return db.withConnection(c -> {
      try (PreparedStatement s = c.prepareStatement("SELECT 1 FROM log_lines WHERE ts = ? AND id = ?")) {
        s.setObject(1, LogStore.at(first.time()), java.sql.Types.TIMESTAMP_WITH_TIMEZONE);
        s.setLong(2, first.id());
        try (ResultSet rs = s.executeQuery()) {
          return rs.next();
        }
      }
    });
  }

  /** Creates today's partition and the next days' (the active core calls it at start and with the retention). */
  public void ensureAhead(Instant now, int ahead) {
    db.withConnection(c -> {
      LogPartitions.ensureAhead(c, now, ahead);
      return null;
    });
  }

  private void ensurePartitions(Connection c, List<LogRow> batch) throws SQLException {
    var missing = new TreeSet<LocalDate>();
    for (LogRow row : batch) {
      LocalDate day = LogPartitions.day(row.time());
      if (!partitions.contains(day)) {
        missing.add(day);
      }
    }
    if (!missing.isEmpty()) {
      LogPartitions.ensure(c, missing);
      partitions.addAll(missing);
    }
  }

  private static void copy(Connection c, List<LogRow> batch) throws SQLException {
    byte[] data = encode(batch);
    PostgresDatabase.inTransaction(c, tx -> {
      try {
        return tx.unwrap(PGConnection.class).getCopyAPI().copyIn(COPY, new java.io.ByteArrayInputStream(data));
      } catch (IOException e) {
        throw new SQLException("COPY of " + batch.size() + " log lines failed: " + e.getMessage(), "08006", e);
      }
    });
  }

  /** The batch in COPY's text format: tab-separated columns, \N for null, backslash escapes. */
  static byte[] encode(List<LogRow> batch) {
    var out = new StringBuilder(batch.size() * 256);
    for (LogRow r : batch) {
      out.append(r.id()).append('\t');
      timestamp(out, r.tsMicros());
      out.append('\t');
      text(out, r.level());
      out.append('\t').append(LogRow.levelNum(r.level())).append('\t');
      number(out, r.core());
      out.append('\t');
      number(out, r.epoch());
      out.append('\t');
      text(out, r.component());
      out.append('\t');
      text(out, r.logger());
      out.append('\t');
      text(out, r.thread());
      out.append('\t');
      text(out, r.message());
      out.append('\t');
      text(out, r.exception());
      out.append('\t');
      text(out, json(r.mdc()));
      out.append('\t');
      text(out, r.feature());
      out.append('\t');
      text(out, r.run());
      out.append('\t');
      text(out, r.job());
      out.append('\t');
      text(out, r.room());
      out.append('\t');
      text(out, r.stream());
      out.append('\n');
    }
    return out.toString().getBytes(StandardCharsets.UTF_8);
  }

  private static String json(Map<String, String> mdc) {
    if (mdc == null || mdc.isEmpty()) {
      return null;
    }
    try {
      // jsonb refuses \u0000 in strings
      var clean = new java.util.LinkedHashMap<String, String>();
      mdc.forEach((k, v) -> clean.put(k.replace("\u0000", ""), v == null ? null : v.replace("\u0000", "")));
      return JSON.writeValueAsString(clean);
    } catch (IOException e) {
      return null;
    }
  }

  private static void timestamp(StringBuilder out, long micros) {
    // ISO with an explicit UTC offset: 2026-12-06T20:05:59.221345Z
    Instant t = Instant.ofEpochSecond(Math.floorDiv(micros, 1_000_000L), Math.floorMod(micros, 1_000_000L) * 1000L);
    out.append(t);
  }

  private static void number(StringBuilder out, Number n) {
    if (n == null) {
      out.append("\\N");
    } else {
      out.append(n.longValue());
    }
  }

  private static void text(StringBuilder out, String s) {
    if (s == null) {
      out.append("\\N");
      return;
    }
    for (int i = 0; i < s.length(); i++) {
      char ch = s.charAt(i);
      switch (ch) {
        case '\\' -> out.append("\\\\");
        case '\n' -> out.append("\\n");
        case '\r' -> out.append("\\r");
        case '\t' -> out.append("\\t");
        case '\u0000' -> { } // text columns cannot hold NUL
        default -> out.append(ch);
      }
    }
  }
}
