package heyken.actors.logs.question;

import com.fasterxml.jackson.databind.ObjectMapper;
import heyken.actors.postgres.PostgresDatabase;
import heyken.protocol.api.LogLine;
import heyken.protocol.api.LogQuestion;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs a {@link ResolvedQuery} against the {@code logs} view in PostgreSQL, read-only and bounded: the SQL is fixed
 * text with parameters (the typed values of the query, never text of the question or the model), the text is
 * matched literally ({@code ILIKE} with its wildcards escaped), every read has a limit and runs in a read-only
 * transaction with {@code statement_timeout}. Rows come newest first ({@code ts, id} descending), as
 * {@code GET /api/logs}, so the same indexes serve them.
 */
final class QueryExecutor {

  private static final Logger log = LoggerFactory.getLogger(QueryExecutor.class);
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Duration COMPONENTS_TTL = Duration.ofMinutes(5);
  private static final int MAX_COMPONENTS = 64;
  static final String COLUMNS = "id, ts, level, core, epoch, component, logger, thread, message, exception, mdc";

  private final PostgresDatabase db;
  private final Duration timeout;
  private final List<String> configuredComponents;
  private volatile List<String> storedComponents = List.of();
  private volatile long componentsFetchedAt = Long.MIN_VALUE;
  private final AtomicBoolean fetching = new AtomicBoolean();

  QueryExecutor(PostgresDatabase db, Duration timeout, List<String> configuredComponents) {
    this.db = db;
    this.timeout = timeout;
    this.configuredComponents = List.copyOf(configuredComponents);
  }

  /** Rows, or groups for a {@code group_by} query, and the SQL that ran (parameters shown inline). */
  record Result(List<LogLine> rows, List<LogQuestion.Group> groups, String sql) {}

  /** A statement and its parameters. */
  record Sql(String text, List<Object> parameters) {
    /** The statement with its parameters written in, for the answer only (what ran is the parameterised text). */
    String shown() {
      var sb = new StringBuilder();
      int p = 0;
      for (char ch : text.toCharArray()) {
        if (ch == '?' && p < parameters.size()) {
          Object v = parameters.get(p++);
          sb.append(v instanceof Number ? v.toString()
              : v instanceof Instant i ? "'" + i + "'::timestamptz"
              : "'" + String.valueOf(v).replace("'", "''") + "'");
        } else {
          sb.append(ch);
        }
      }
      return sb.toString();
    }
  }

  CompletionStage<Result> run(ResolvedQuery q) {
    Sql sql = sql(q);
    return db.read(c -> {
      try (PreparedStatement s = c.prepareStatement(sql.text())) {
        s.setQueryTimeout((int) Math.max(1, timeout.toSeconds()));
        bind(s, sql.parameters());
        try (ResultSet rs = s.executeQuery()) {
          return q.groupBy() == null ? new Result(rows(rs), null, sql.shown())
              : new Result(null, groups(rs, q.groupBy()), sql.shown());
        }
      }
    }).toCompletableFuture().orTimeout(timeout.toMillis() + 2000, TimeUnit.MILLISECONDS);
  }

  static Sql sql(ResolvedQuery q) {
    var where = new ArrayList<String>();
    var params = new ArrayList<Object>();
    where.add("ts >= ?");
    params.add(q.since());
    if (q.until() != null) {
      where.add("ts <= ?");
      params.add(q.until());
    }
    if (q.level() != null) {
      // a constant, not a parameter: the planner then uses the partial indexes of WARN+ and ERROR lines
      where.add("level_num >= " + levelNum(q.level()));
    }
    if (q.component() != null) {
      where.add("component = ?");
      params.add(q.component());
    }
    if (q.core() != null) {
      where.add("core = ?");
      params.add(q.core());
    }
    if (q.feature() != null) {
      where.add("feature = ?");
      params.add(q.feature());
    } else if (q.groupBy() == GroupBy.FEATURE) {
      where.add("feature IS NOT NULL"); // "per feature" counts the lines of features, not the rest
    }
    if (q.text() != null) {
      // literal: the wildcards of LIKE are escaped, the text is a parameter
      where.add("message ILIKE ? ESCAPE '\\'");
      params.add("%" + q.text().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%");
    }
    String filter = String.join(" AND ", where);
    params.add(q.limit());
    if (q.groupBy() == null) {
      return new Sql("SELECT " + COLUMNS + " FROM logs WHERE " + filter + " ORDER BY ts DESC, id DESC LIMIT ?",
          params);
    }
    GroupBy by = q.groupBy();
    String order = by.chronological() ? "key" : "count DESC, key";
    return new Sql("SELECT " + by.key() + " AS key, count(*) AS count FROM logs WHERE " + filter
        + " GROUP BY 1 ORDER BY " + order + " LIMIT ?", params);
  }

  static int levelNum(String level) {
    return switch (level) {
      case "TRACE" -> 0;
      case "DEBUG" -> 1;
      case "INFO" -> 2;
      case "WARN" -> 3;
      default -> 4;
    };
  }

  private static void bind(PreparedStatement s, List<Object> params) throws SQLException {
    for (int i = 0; i < params.size(); i++) {
      Object v = params.get(i);
      if (v instanceof Instant t) {
        s.setTimestamp(i + 1, Timestamp.from(t));
      } else {
        s.setObject(i + 1, v);
      }
    }
  }

  private static List<LogLine> rows(ResultSet rs) throws SQLException {
    var rows = new ArrayList<LogLine>();
    while (rs.next()) {
      rows.add(line(rs));
    }
    return rows;
  }

  /** One row of the {@code logs} view ({@link #COLUMNS}) as the Logger API shows a line. */
  static LogLine line(ResultSet rs) throws SQLException {
    Map<String, String> mdc = null;
    String json = rs.getString("mdc");
    if (json != null) {
      try {
        var node = JSON.readTree(json);
        var m = new LinkedHashMap<String, String>();
        node.fields().forEachRemaining(e -> m.put(e.getKey(), e.getValue().isTextual() ? e.getValue().textValue()
            : e.getValue().toString()));
        mdc = m.isEmpty() ? null : m;
      } catch (java.io.IOException e) {
        mdc = null;
      }
    }
    int core = rs.getInt("core");
    Integer coreValue = rs.wasNull() ? null : core;
    long epoch = rs.getLong("epoch");
    Long epochValue = rs.wasNull() ? null : epoch;
    return new LogLine(String.valueOf(rs.getLong("id")), rs.getObject("ts", OffsetDateTime.class).toInstant()
        .toString(), rs.getString("level"), coreValue, epochValue, rs.getString("component"), rs.getString("logger"),
        rs.getString("thread"), rs.getString("message"), rs.getString("exception"), mdc);
  }

  private static List<LogQuestion.Group> groups(ResultSet rs, GroupBy by) throws SQLException {
    var groups = new ArrayList<LogQuestion.Group>();
    while (rs.next()) {
      Object key = by == GroupBy.CORE ? (Object) (Integer) rs.getInt("key") : rs.getString("key");
      groups.add(new LogQuestion.Group(key, rs.getLong("count")));
    }
    return groups;
  }

  /**
   * The configured components and those found in the stored lines of the last day (refreshed in the background every
   * few minutes, bounded): what the schema enumerates and the rule parser recognises.
   */
  Collection<String> components() {
    long now = System.nanoTime();
    if ((componentsFetchedAt == Long.MIN_VALUE || now - componentsFetchedAt > COMPONENTS_TTL.toNanos())
        && fetching.compareAndSet(false, true)) {
      CompletableFuture.runAsync(this::fetchComponents, db.executor())
          .whenComplete((ok, error) -> fetching.set(false));
    }
    var all = new TreeSet<>(configuredComponents);
    all.addAll(storedComponents);
    return all;
  }

  private void fetchComponents() {
    try {
      storedComponents = db.read((Connection c) -> {
        var found = new ArrayList<String>();
        try (var s = c.prepareStatement("SELECT DISTINCT component FROM logs WHERE ts >= now() - INTERVAL '1 day' "
            + "AND component IS NOT NULL LIMIT " + MAX_COMPONENTS); ResultSet rs = s.executeQuery()) {
          while (rs.next()) {
            String name = rs.getString(1);
            if (QueryValidator.COMPONENT.matcher(name).matches()) {
              found.add(name);
            }
          }
        }
        return List.copyOf(found);
      }).toCompletableFuture().get(timeout.toMillis() + 2000, TimeUnit.MILLISECONDS);
    } catch (Exception e) {
      log.warn("could not read the components of the stored log lines ({}); using the configured ones",
          PostgresDatabase.rootMessage(e));
    } finally {
      componentsFetchedAt = System.nanoTime();
    }
  }

  static String describe(Collection<String> values) {
    return values.stream().collect(Collectors.joining(", "));
  }
}
