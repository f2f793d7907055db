package heyken.actors.logs;

import com.mongodb.client.MongoCollection;
import com.mongodb.client.model.Filters;
import com.mongodb.client.model.Sorts;
import heyken.actors.store.MongoStore;
import heyken.protocol.api.LogLine;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionStage;
import java.util.regex.Pattern;
import org.bson.Document;
import org.bson.conversions.Bson;
import org.bson.types.ObjectId;

/** Reads the stored log lines for the Logger API: parameterised, read-only, always bounded by a limit. */
public final class LogStore {

  private final MongoStore store;
  private final MongoCollection<Document> collection;

  public LogStore(MongoStore store, String collectionName) {
    this.store = store;
    this.collection = store.database().getCollection(collectionName);
  }

  public CompletionStage<LogLine.Page> find(LogQuery q) {
    return store.async(db -> {
      var filters = new ArrayList<Bson>();
      if (q.minLevel() != null) {
        filters.add(Filters.gte("lvl", q.minLevel()));
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
      if (q.after() != null) {
        var at = java.util.Date.from(q.after().time());
        filters.add(Filters.or(
            Filters.lt("ts", at),
            Filters.and(Filters.eq("ts", at), Filters.lt("_id", q.after().id()))));
      }
      Bson filter = filters.isEmpty() ? new Document() : Filters.and(filters);
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
    });
  }

  private static LogLine view(Document d) {
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
        d.getDate("ts").toInstant().toString(),
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
