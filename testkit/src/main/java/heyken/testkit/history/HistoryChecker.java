package heyken.testkit.history;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.cbor.CBORFactory;
import com.mongodb.client.MongoClients;
import com.mongodb.client.MongoDatabase;
import java.io.IOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.bson.Document;
import org.bson.types.Binary;

/**
 * Proves a history safe after a fault, from the journal in the store and what the test's writer was told:
 * <ul>
 *   <li>epochs: every activation ({@code CoreActivated} of the {@code core-manager} journal) took a strictly greater
 *       epoch than the one before;</li>
 *   <li>no two epochs acting in overlapping time: every fenced side effect (deployments, services, component
 *       registrations; each carries its epoch) was decided after its epoch's activation and before the next one;
 *       an observer's samples of two cores calling themselves active at once are violations too;</li>
 *   <li>no write with a stale epoch accepted: within each fenced journal the epochs never go back, and every epoch
 *       used was handed out by an activation;</li>
 *   <li>no acknowledged write lost: every registration answered 201 is in the registry's journal, every test run
 *       answered 202 is in its feature's journal ({@code TestRunStarted}), every chat message answered 200 has its
 *       answer in the conversation's journal;</li>
 *   <li>exactly-once chat answers: within each conversation journal, no message id was answered twice.</li>
 * </ul>
 * {@link #check} returns the report (what was checked, with counts, and each violation with its records);
 * {@link Report#assertSafe()} fails with it.
 */
public final class HistoryChecker {

  public static final String JOURNAL = "pekko_persistence_journal";
  public static final String SNAPSHOTS = "pekko_persistence_snaps";
  private static final ObjectMapper CBOR = new ObjectMapper(new CBORFactory());
  private static final ObjectMapper JSON = new ObjectMapper();
  // the journals whose events carry the epoch of the core that wrote them (the ledgers split off the CoreManager)
  private static final Set<String> FENCED_PIDS =
      Set.of("core-manager", "core-deployments", "core-services", "component-registry");

  /** One journal event, decoded: its persistence id, sequence number, event class (simple name) and fields. */
  public record Event(String pid, long seqNr, String type, JsonNode body) {
    long epoch() {
      return body.path("epoch").asLong(0);
    }

    Instant at() {
      JsonNode at = body.path("at");
      if (at.isNumber()) {
        // Jackson's default for Instant: seconds with a fraction
        double seconds = at.asDouble();
        long whole = (long) Math.floor(seconds);
        return Instant.ofEpochSecond(whole, Math.round((seconds - whole) * 1e9));
      }
      return at.isTextual() ? Instant.parse(at.asText()) : null;
    }

    @Override
    public String toString() {
      return pid + "#" + seqNr + " " + type + " " + body;
    }
  }

  /** Two cores seen calling themselves active at once, by a test's observer. */
  public record DoubleActive(Instant at, String detail) {}

  public static final class Report {
    private final Map<String, Long> checked = new LinkedHashMap<>();
    private final List<String> violations = new ArrayList<>();

    void count(String what, long n) {
      checked.merge(what, n, Long::sum);
    }

    void violation(String what) {
      violations.add(what);
    }

    public Map<String, Long> checked() {
      return checked;
    }

    public List<String> violations() {
      return violations;
    }

    public long count(String what) {
      return checked.getOrDefault(what, 0L);
    }

    @Override
    public String toString() {
      var s = new StringBuilder("history checked:");
      checked.forEach((k, v) -> s.append("\n  ").append(k).append(": ").append(v));
      if (violations.isEmpty()) {
        s.append("\n  no violation");
      } else {
        s.append("\n  ").append(violations.size()).append(" VIOLATION(S):");
        violations.forEach(v -> s.append("\n  - ").append(v));
      }
      return s.toString();
    }

    public Report assertSafe() {
      if (!violations.isEmpty()) {
        throw new AssertionError(toString());
      }
      return this;
    }
  }

  private final String mongoUri;
  private final String database;

  public HistoryChecker(String mongoUri) {
    this(mongoUri, "heyken");
  }

  public HistoryChecker(String mongoUri, String database) {
    this.mongoUri = mongoUri;
    this.database = database;
  }

  /** Every event of the journal whose persistence id {@code pidFilter} accepts, in (pid, seqNr) order. */
  public static List<Event> events(MongoDatabase db, java.util.function.Predicate<String> pidFilter) {
    return decodeAll(db, pidFilter);
  }

  private static List<Event> decodeAll(MongoDatabase db, java.util.function.Predicate<String> pidFilter) {
    var events = new ArrayList<Event>();
    for (Document doc : db.getCollection(JOURNAL).find()) {
      String pid = doc.getString("pid");
      if (pid == null || !pidFilter.test(pid)) {
        continue;
      }
      Object list = doc.get("events");
      if (!(list instanceof List<?> items)) {
        continue;
      }
      for (Object item : items) {
        if (item instanceof Document e) {
          events.add(decode(pid, e));
        }
      }
    }
    events.sort((a, b) -> a.pid().equals(b.pid()) ? Long.compare(a.seqNr(), b.seqNr()) : a.pid().compareTo(b.pid()));
    return events;
  }

  /**
   * The newest snapshot of {@code pid} as JSON (null when there is none). The journal deletes events a snapshot covers
   * (retention with delete-events-on-snapshot): what the events no longer show, the snapshot's state does. The stored
   * bytes are Pekko's snapshot format: a little-endian header length, the header (serializer id and manifest), then
   * the state as the serializer wrote it (CBOR here).
   */
  public static JsonNode latestSnapshot(MongoDatabase db, String pid) {
    Document newest = null;
    for (Document doc : db.getCollection(SNAPSHOTS).find(new Document("pid", pid))) {
      if (newest == null || ((Number) doc.get("sn")).longValue() > ((Number) newest.get("sn")).longValue()) {
        newest = doc;
      }
    }
    if (newest == null) {
      return null;
    }
    Object stored = newest.get("s2");
    byte[] bytes = stored instanceof Binary b ? b.getData() : stored instanceof byte[] raw ? raw : null;
    if (bytes == null || bytes.length < 4) {
      throw new IllegalStateException("snapshot of " + pid + " at " + newest.get("sn") + " has no bytes to read");
    }
    int headerLength = java.nio.ByteBuffer.wrap(bytes, 0, 4).order(java.nio.ByteOrder.LITTLE_ENDIAN).getInt();
    int from = 4 + headerLength;
    try {
      byte[] state = java.util.Arrays.copyOfRange(bytes, from, bytes.length);
      if (state.length > 2 && (state[0] & 0xff) == 0x1f && (state[1] & 0xff) == 0x8b) {
        state = new java.util.zip.GZIPInputStream(new java.io.ByteArrayInputStream(state)).readAllBytes();
      }
      return CBOR.readTree(state);
    } catch (IOException | RuntimeException e) {
      throw new IllegalStateException("snapshot of " + pid + " at " + newest.get("sn") + " could not be read: " + e, e);
    }
  }

  private static Event decode(String pid, Document e) {
    long sn = ((Number) e.get("sn")).longValue();
    String manifest = e.getString("_sm");
    Object payload = e.get("p");
    JsonNode body;
    try {
      if (payload instanceof Binary b) {
        body = CBOR.readTree(b.getData());
      } else if (payload instanceof byte[] bytes) {
        body = CBOR.readTree(bytes);
      } else if (payload instanceof Document d) {
        body = JSON.readTree(d.toJson());
      } else {
        body = JSON.createObjectNode().put("undecoded", String.valueOf(payload));
      }
    } catch (IOException ex) {
      body = JSON.createObjectNode().put("undecodable", ex.toString());
    }
    String type = manifest == null ? "?" : manifest.substring(Math.max(manifest.lastIndexOf('$'), manifest.lastIndexOf('.')) + 1);
    return new Event(pid, sn, type, body);
  }

  public Report check(WriteLog writes, List<DoubleActive> doubleActive) {
    try (var client = MongoClients.create(mongoUri)) {
      return check(client.getDatabase(database), writes, doubleActive);
    }
  }

  public static Report check(MongoDatabase db, WriteLog writes, List<DoubleActive> doubleActive) {
    var report = new Report();
    var fenced = events(db, FENCED_PIDS::contains);
    var activations = new TreeMap<Long, Event>();
    long lastEpoch = 0;
    for (Event e : fenced) {
      if (e.pid().equals("core-manager") && e.type().equals("CoreActivated")) {
        report.count("activations", 1);
        if (e.epoch() <= lastEpoch) {
          report.violation("activation with epoch " + e.epoch() + " after epoch " + lastEpoch + ": " + e);
        }
        lastEpoch = Math.max(lastEpoch, e.epoch());
        if (activations.put(e.epoch(), e) != null) {
          report.violation("epoch " + e.epoch() + " activated twice: " + e);
        }
      }
    }
    // side effects: each within its epoch's window, epochs never going back within a journal
    var lastByPid = new TreeMap<String, Event>();
    for (Event e : fenced) {
      if (e.type().equals("CoreActivated") || !e.body().has("epoch")) {
        continue;
      }
      report.count("fenced side effects (" + e.pid() + ")", 1);
      Event previous = lastByPid.get(e.pid());
      if (previous != null && e.epoch() < previous.epoch()) {
        report.violation("stale epoch accepted: " + e + " persisted after " + previous);
      }
      lastByPid.put(e.pid(), e);
      Event activation = activations.get(e.epoch());
      if (activation == null) {
        report.violation("side effect under an epoch that was never activated: " + e);
        continue;
      }
      var next = activations.higherEntry(e.epoch());
      Instant at = e.at();
      if (at != null && activation.at() != null && at.isBefore(activation.at())) {
        report.violation("side effect before its epoch's activation: " + e + " / " + activation);
      }
      if (at != null && next != null && next.getValue().at() != null && !at.isBefore(next.getValue().at())) {
        report.violation("epoch " + e.epoch() + " acted after epoch " + next.getKey() + " was active: " + e + " / "
            + next.getValue());
      }
    }
    report.count("observer samples with two active cores", doubleActive.size());
    doubleActive.forEach(d -> report.violation("two cores active at once at " + d.at() + ": " + d.detail()));

    // acknowledged writes
    if (writes != null) {
      Set<String> registered = new HashSet<>();
      // registrations older than the registry's snapshot are only in the snapshot (their events were deleted)
      JsonNode registrySnapshot = latestSnapshot(db, "component-registry");
      if (registrySnapshot != null) {
        registrySnapshot.path("components").fieldNames().forEachRemaining(registered::add);
        report.count("registrations read from the registry's snapshot", registrySnapshot.path("components").size());
      }
      for (Event e : fenced) {
        if (e.pid().equals("component-registry") && e.type().equals("ComponentRegistered")) {
          registered.add(e.body().path("name").asText());
        }
      }
      for (var w : writes.acknowledged("registration")) {
        report.count("acknowledged registrations", 1);
        if (!registered.contains(w.key())) {
          report.violation("acknowledged registration lost: " + w);
        }
      }
      var runs = writes.acknowledged("test-run");
      if (!runs.isEmpty()) {
        // a 202 is answered once the feature recorded the run (TestRunStarted); the run's own journal may follow later
        Set<String> started = new HashSet<>();
        for (Event e : events(db, pid -> pid.startsWith("Feature|"))) {
          if (e.type().equals("TestRunStarted")) {
            started.add(e.body().path("runId").asText());
          }
        }
        for (var w : runs) {
          report.count("acknowledged test runs", 1);
          if (!started.contains(w.key())) {
            report.violation("acknowledged test run lost: " + w);
          }
        }
      }
      writes.counts().forEach((k, v) -> report.count("writer answers " + k, v));
    }

    // chat: every acknowledged message answered in the journal, each message id answered once per conversation
    var conversations = events(db, pid -> pid.startsWith("Conversation|"));
    var answered = new TreeMap<String, Event>();
    for (Event e : conversations) {
      String id = e.body().path("messageId").asText(e.body().path("message_id").asText(""));
      if (id.isEmpty() || !e.type().contains("Answer")) {
        continue;
      }
      report.count("chat answers", 1);
      Event first = answered.putIfAbsent(e.pid() + "/" + id, e);
      if (first != null) {
        report.violation("chat message answered twice: " + first + " / " + e);
      }
    }
    if (writes != null) {
      Set<String> answeredIds = new HashSet<>();
      answered.keySet().forEach(k -> answeredIds.add(k.substring(k.indexOf('/') + 1)));
      for (var w : writes.acknowledged("chat")) {
        report.count("acknowledged chat messages", 1);
        if (!answeredIds.contains(w.key())) {
          report.violation("acknowledged chat message has no answer in the journal: " + w);
        }
      }
    }
    return report;
  }
}
