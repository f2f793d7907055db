package heyken.testkit.history;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * What a test's writer was told: every request it sent and its answer. A write counts as acknowledged only when the
 * answer said so (2xx: 201 for a registration, 202 for a test run, 200 for a chat message); a request that got no answer or an error may or may
 * not have happened, and the history checker does not count it either way.
 */
public final class WriteLog {

  /** One request: {@code kind} (registration, test-run, chat), its key (component name, run id, message id). */
  public record Write(String kind, String key, Instant sentAt, Instant answeredAt, int status, String detail) {
    public boolean acknowledged() {
      return status >= 200 && status <= 202;
    }
  }

  private final List<Write> writes = new ArrayList<>();

  public synchronized void record(Write write) {
    writes.add(write);
  }

  public synchronized List<Write> all() {
    return List.copyOf(writes);
  }

  public synchronized List<Write> acknowledged(String kind) {
    return writes.stream().filter(w -> w.kind().equals(kind) && w.acknowledged()).toList();
  }

  /** Answers per kind and status, for the report: {"registration 201": 40, "registration -1": 3, ...}. */
  public synchronized Map<String, Integer> counts() {
    var counts = new TreeMap<String, Integer>();
    writes.forEach(w -> counts.merge(w.kind() + " " + w.status(), 1, Integer::sum));
    return counts;
  }

  public synchronized void clear() {
    writes.clear();
  }
}
