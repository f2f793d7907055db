package heyken.actors.logs;

import com.mongodb.client.MongoCollection;
import com.mongodb.client.model.Filters;
import com.mongodb.client.model.Sorts;
import heyken.actors.store.MongoStore;
import heyken.protocol.api.LogLine;
import com.mongodb.client.model.IndexOptions;
import com.mongodb.client.model.Indexes;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionStage;
import java.util.regex.Pattern;
import org.bson.Document;
import org.bson.conversions.Bson;
import org.bson.types.ObjectId;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Reads the stored log lines for the Logger API: parameterised, read-only, always bounded by a limit. */
public final class LogStore {

  private static final Logger log = LoggerFactory.getLogger(LogStore.class);

  private final MongoStore store;
  private final MongoCollection<Document> collection;
  private final LogSettings settings;
  private final java.util.concurrent.Semaphore reads;

  /** Too many Logger API reads at once on this core: the caller should retry in a moment. */
  public static final class Busy extends RuntimeException {
    Busy(int max) {
      super("the log store is answering " + max + " queries already; retry in a moment");
    }
  }

  public LogStore(MongoStore store, String collectionName) {
    this(store, LogSettings.defaults(collectionName, 1000));
  }

  public LogStore(MongoStore store, LogSettings settings) {
    this.store = store;
    this.settings = settings;
    this.collection = store.database().getCollection(settings.collection());
    this.reads = new java.util.concurrent.Semaphore(settings.maxConcurrentQueries());
  }

  /** Runs a read if a permit is free now, else fails with {@link Busy} at once (never queues). */
  private <T> CompletionStage<T> bounded(java.util.function.Supplier<T> read) {
    if (!reads.tryAcquire()) {
      return java.util.concurrent.CompletableFuture.failedFuture(new Busy(settings.maxConcurrentQueries()));
    }
    try {
      return store.async(db -> read.get()).whenComplete((r, e) -> reads.release());
    } catch (RuntimeException e) {
      reads.release();
      throw e;
    }
  }

  public LogSettings settings() {
    return settings;
  }

  /**
   * The indexes a real MongoDB serves the Logger API's queries from. Every query sorts by (ts, _id) descending (the
   * tail ascending: the same index read backwards) and filters by equalities plus a time range, so each equality
   * field leads a compound index that ends in (ts, _id): the sort then comes from the index and a page of 10 reads
   * about 10 entries. The minimum level is asked as {@code level $in [...]}, which MongoDB answers from
   * (level, ts, _id) by merging the few level ranges. Only {@code contains} (a regex) still scans the lines of the
   * other filters. The embedded store accepts and ignores non-unique indexes. Idempotent: both cores call it.
   */
  public static final List<Bson> INDEXES = List.of(
      Indexes.descending("ts", "_id"),
      byTime("level"),
      byTime("component"),
      byTime("core"),
      byTime("feature"),
      byTime("run"),
      byTime("room"));

  private static Bson byTime(String field) {
    return Indexes.compoundIndex(Indexes.ascending(field), Indexes.descending("ts", "_id"));
  }

  public CompletionStage<Integer> ensureIndexes() {
    return store.async(db -> {
      int created = 0;
      for (Bson index : INDEXES) {
        try {
          collection.createIndex(index, new IndexOptions().background(true));
          created++;
        } catch (RuntimeException e) {
          log.warn("could not create the log index {}: {}", index.toBsonDocument(), e.toString());
        }
      }
      return created;
    });
  }

  /** The filter of a query's fields (not its cursor). */
  static Bson filter(LogQuery q) {
    return and(filters(q));
  }

  private static Bson and(List<Bson> filters) {
    return filters.isEmpty() ? new Document() : Filters.and(filters);
  }

  private static List<Bson> filters(LogQuery q) {
    var filters = new ArrayList<Bson>();
    if (q.feature() != null) {
      filters.add(Filters.eq("feature", q.feature()));
    }
    if (q.run() != null) {
      filters.add(Filters.eq("run", q.run()));
    }
    if (q.room() != null) {
      filters.add(Filters.eq("room", q.room()));
    }
    if (q.minLevel() != null) {
      // the level names at or above the minimum (same lines as lvl >= minimum, but an index on level serves it)
      filters.add(Filters.in("level", LogQuery.levelsFrom(q.minLevel())));
    }
    if (q.component() != null) {
      filters.add(Filters.eq("component", q.component()));
    }
    if (q.core() != null) {
      filters.add(Filters.eq("core", q.core()));
    }
    if (q.since() != null) {
      filters.add(Filters.gte("ts", java.util.Date.from(q.since())));
    }
    if (q.until() != null) {
      filters.add(Filters.lte("ts", java.util.Date.from(q.until())));
    }
    if (q.contains() != null && !q.contains().isEmpty()) {
      // the user's text is quoted: it is matched literally, never interpreted as a pattern
      filters.add(Filters.regex("message", Pattern.compile(Pattern.quote(q.contains()), Pattern.CASE_INSENSITIVE)));
    }
    return filters;
  }

  /**
   * A page of lines, newest first. A query without a selective filter (feature, run, room, component, core) is asked
   * for the last hour first, then the last day, week, and all: the embedded store collects every match in memory
   * before sorting (a sorted read of a million lines ran its 768 MB heap out), and a real MongoDB answers each step
   * from the (ts, _id) index in a few reads.
   */
  public CompletionStage<LogLine.Page> find(LogQuery q) {
    return bounded(() -> {
      boolean selective = q.feature() != null || q.run() != null || q.room() != null || q.component() != null
          || q.core() != null;
      Instant anchor = Instant.now();
      if (q.until() != null && q.until().isBefore(anchor)) {
        anchor = q.until();
      }
      if (q.after() != null && q.after().time().isBefore(anchor)) {
        anchor = q.after().time();
      }
      if (!selective) {
        for (java.time.Duration window : WINDOWS) {
          Instant from = anchor.minus(window);
          if (q.since() != null && !from.isAfter(q.since())) {
            break; // the query's own since is narrower: ask it as it is
          }
          var page = page(q, from);
          if (page.next() != null) {
            return page;
          }
        }
      }
      return page(q, null);
    });
  }

  private static final List<java.time.Duration> WINDOWS =
      List.of(java.time.Duration.ofHours(1), java.time.Duration.ofDays(1), java.time.Duration.ofDays(7));

  private LogLine.Page page(LogQuery q, Instant from) {
    var filters = filters(q);
    if (from != null) {
      filters.add(Filters.gte("ts", Date.from(from)));
    }
    if (q.after() != null) {
      var at = java.util.Date.from(q.after().time());
      filters.add(Filters.or(
          Filters.lt("ts", at),
          Filters.and(Filters.eq("ts", at), Filters.lt("_id", q.after().id()))));
    }
    Bson filter = and(filters);
    var lines = new ArrayList<LogLine>();
    Document last = null;
    // one more than asked tells whether there is a next page
    for (Document d : collection.find(filter).sort(Sorts.descending("ts", "_id")).limit(q.limit() + 1)) {
      if (lines.size() == q.limit()) {
        String next = new LogQuery.Cursor(last.getDate("ts").toInstant(), last.getObjectId("_id")).token();
        return new LogLine.Page(lines, next);
      }
      lines.add(view(d));
      last = d;
    }
    return new LogLine.Page(lines, null);
  }

  /**
   * Lines matching the query at or after {@code from} (its since/until still apply), oldest first, at most
   * {@code limit}. For the live tail, which moves {@code from} forward itself.
   */
  CompletionStage<List<LogLine>> after(LogQuery q, Instant from, int limit) {
    return bounded(() -> {
      var filters = filters(q);
      filters.add(Filters.gte("ts", Date.from(from)));
      var lines = new ArrayList<LogLine>();
      for (Document d : collection.find(and(filters)).sort(Sorts.ascending("ts", "_id")).limit(limit)) {
        lines.add(view(d));
      }
      return lines;
    });
  }

  /** A live tail of the lines matching the query, starting at {@code start}. */
  public LogTail tail(LogQuery q, Instant start) {
    return new LogTail(this, q, start, settings.stream());
  }

  /** What a retention pass deleted. */
  public record Pruned(long byAge, long bySize) {}

  /**
   * Deletes lines older than {@code maxAge} (measured from {@code now}) and then, when there are more than
   * {@code maxLines}, the oldest down to nine tenths of it. Idempotent: two cores running it at once delete the same lines. Blocking.
   */
  public Pruned prune(Instant now, java.time.Duration maxAge, long maxLines) {
    long byAge = 0;
    if (!maxAge.isZero() && !maxAge.isNegative()) {
      byAge = collection.deleteMany(Filters.lt("ts", Date.from(now.minus(maxAge)))).getDeletedCount();
    }
    long bySize = 0;
    // the count command is cheap (countDocuments is an aggregation, which the embedded store answers by loading every
    // line: at 1M lines it ran out of heap); finding the boundary sorts the collection there, so it runs only when
    // the collection is over the maximum, and then makes room for a tenth more (not one pass per interval at the cap)
    if (maxLines > 0 && collection.estimatedDocumentCount() > maxLines) {
      long keep = maxLines - maxLines / 10;
      // the newest line that must go: the (keep+1)-th newest; it and everything older is deleted
      Document boundary = collection.find().sort(Sorts.descending("ts", "_id"))
          .skip((int) Math.min(keep, Integer.MAX_VALUE)).limit(1).projection(new Document("ts", 1)).first();
      if (boundary != null) {
        Date at = boundary.getDate("ts");
        bySize = collection.deleteMany(Filters.or(
            Filters.lt("ts", at),
            Filters.and(Filters.eq("ts", at), Filters.lte("_id", boundary.getObjectId("_id"))))).getDeletedCount();
      }
    }
    return new Pruned(byAge, bySize);
  }

  public CompletionStage<Pruned> pruneAsync(Instant now, java.time.Duration maxAge, long maxLines) {
    return store.async(db -> prune(now, maxAge, maxLines));
  }

  /** A stored line as the Logger API shows it. */
  public static LogLine view(Document d) {
    Map<String, String> mdc = null;
    Document m = d.get("mdc", Document.class);
    if (m != null) {
      mdc = new LinkedHashMap<>();
      for (var e : m.entrySet()) {
        mdc.put(e.getKey(), String.valueOf(e.getValue()));
      }
    }
    Number core = d.get("core", Number.class);
    Number epoch = d.get("epoch", Number.class);
    ObjectId id = d.getObjectId("_id");
    return new LogLine(
        id == null ? null : id.toHexString(),
        d.getDate("ts") == null ? null : d.getDate("ts").toInstant().toString(),
        d.getString("level"),
        core == null ? null : core.intValue(),
        epoch == null ? null : epoch.longValue(),
        d.getString("component"),
        d.getString("logger"),
        d.getString("thread"),
        d.getString("message"),
        d.getString("exception"),
        mdc);
  }

}
