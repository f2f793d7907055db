package heyken.actors.logs.question;

import com.mongodb.client.MongoCollection;
import com.mongodb.client.model.Accumulators;
import com.mongodb.client.model.Aggregates;
import com.mongodb.client.model.Filters;
import com.mongodb.client.model.Sorts;
import heyken.protocol.api.LogLine;
import heyken.protocol.api.LogQuestion;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Date;
import java.util.List;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.bson.Document;
import org.bson.conversions.Bson;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs a {@link ResolvedQuery} against the log collection, read-only and bounded: the filter is built from typed
 * values with the driver's builders (never from text), the text is matched as a quoted literal, every read has a
 * limit and a {@code maxTime}, and the wait for it is bounded too. Reads use the same fields and order as
 * {@code GET /api/logs} ({@code ts} descending), so a real MongoDB serves them from the same indexes.
 */
final class QueryExecutor {

  private static final Logger log = LoggerFactory.getLogger(QueryExecutor.class);
  private static final Duration COMPONENTS_TTL = Duration.ofMinutes(5);
  private static final int MAX_COMPONENTS = 64;

  private final MongoCollection<Document> collection;
  private final Executor blocking;
  private final Duration timeout;
  private final List<String> configuredComponents;
  private volatile List<String> storedComponents = List.of();
  private volatile long componentsFetchedAt = Long.MIN_VALUE;
  private final java.util.concurrent.atomic.AtomicBoolean fetching = new java.util.concurrent.atomic.AtomicBoolean();

  QueryExecutor(MongoCollection<Document> collection, Executor blocking, Duration timeout,
      List<String> configuredComponents) {
    this.collection = collection;
    this.blocking = blocking;
    this.timeout = timeout;
    this.configuredComponents = List.copyOf(configuredComponents);
  }

  /** Rows, or groups for a {@code group_by} query. */
  record Result(List<LogLine> rows, List<LogQuestion.Group> groups) {}

  CompletionStage<Result> run(ResolvedQuery q) {
    return CompletableFuture.supplyAsync(() -> q.groupBy() == null ? rows(q) : groups(q), blocking)
        .orTimeout(timeout.toMillis() + 1000, TimeUnit.MILLISECONDS);
  }

  static Bson filter(ResolvedQuery q) {
    var filters = new ArrayList<Bson>();
    filters.add(Filters.gte("ts", Date.from(q.since())));
    if (q.until() != null) {
      filters.add(Filters.lte("ts", Date.from(q.until())));
    }
    if (q.minLevel() != null) {
      filters.add(Filters.gte("lvl", q.minLevel()));
    }
    if (q.component() != null) {
      filters.add(Filters.eq("component", q.component()));
    }
    if (q.core() != null) {
      filters.add(Filters.eq("core", q.core()));
    }
    if (q.feature() != null) {
      filters.add(Filters.eq("mdc.feature", q.feature()));
    } else if (q.groupBy() == GroupBy.FEATURE) {
      filters.add(Filters.exists("mdc.feature")); // "per feature" counts the lines of features, not the rest
    }
    if (q.text() != null) {
      // quoted: the user's (or the model's) text is matched literally, never interpreted as a pattern
      filters.add(Filters.regex("message", Pattern.compile(Pattern.quote(q.text()), Pattern.CASE_INSENSITIVE)));
    }
    return Filters.and(filters);
  }

  private Result rows(ResolvedQuery q) {
    var rows = new ArrayList<LogLine>(q.limit());
    for (Document d : collection.find(filter(q)).sort(Sorts.descending("ts", "_id")).limit(q.limit())
        .maxTime(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
      rows.add(view(d));
    }
    return new Result(rows, null);
  }

  private Result groups(ResolvedQuery q) {
    var by = q.groupBy();
    var pipeline = List.of(
        Aggregates.match(filter(q)),
        Aggregates.group(by.key(), Accumulators.sum("count", 1)),
        Aggregates.sort(by.chronological() ? Sorts.ascending("_id") : Sorts.orderBy(Sorts.descending("count"),
            Sorts.ascending("_id"))),
        Aggregates.limit(q.limit()));
    var groups = new ArrayList<LogQuestion.Group>();
    for (Document d : collection.aggregate(pipeline).maxTime(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
      Object key = d.get("_id");
      Number count = d.get("count", Number.class);
      groups.add(new LogQuestion.Group(key instanceof Number n ? (Object) n.intValue() : key,
          count == null ? 0 : count.longValue()));
    }
    return new Result(null, groups);
  }

  /**
   * The configured components and those found in the stored lines (refreshed in the background every few minutes,
   * bounded): what the schema enumerates and the rule parser recognises.
   */
  Collection<String> components() {
    long now = System.nanoTime();
    if ((componentsFetchedAt == Long.MIN_VALUE || now - componentsFetchedAt > COMPONENTS_TTL.toNanos())
        && fetching.compareAndSet(false, true)) {
      CompletableFuture.runAsync(this::fetchComponents, blocking).whenComplete((ok, error) -> fetching.set(false));
    }
    var all = new TreeSet<>(configuredComponents);
    all.addAll(storedComponents);
    return all;
  }

  private void fetchComponents() {
    try {
      var found = new ArrayList<String>();
      for (String c : collection.distinct("component", Filters.exists("component"), String.class)
          .maxTime(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
        if (c != null && QueryValidator.COMPONENT.matcher(c).matches() && found.size() < MAX_COMPONENTS) {
          found.add(c);
        }
      }
      storedComponents = List.copyOf(found);
    } catch (RuntimeException e) {
      log.warn("could not read the components of the stored log lines ({}); using the configured ones",
          e.getMessage());
    } finally {
      componentsFetchedAt = System.nanoTime();
    }
  }

  static LogLine view(Document d) {
    return heyken.actors.logs.LogStore.view(d);
  }

}
