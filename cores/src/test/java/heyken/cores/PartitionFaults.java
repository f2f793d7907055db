package heyken.cores;

import com.fasterxml.jackson.databind.JsonNode;
import com.mongodb.client.MongoClient;
import com.mongodb.client.MongoClients;
import heyken.testkit.HeykenProcesses;
import heyken.testkit.history.HistoryChecker;
import heyken.testkit.history.WriteLog;
import heyken.testkit.netns.TestHosts;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The network faults of the partition tests and of bench/partition.sh, on one set of test hosts: the store,
 * core-1 and core-2 in their own network namespaces, configured as on three machines. While a fault lasts a writer
 * registers components and starts feature test runs through the documented ports, and an observer asks both cores
 * (on their own inspection ports, through the test host) whether they act as the active core. Each fault returns
 * its figures; the history checker then reads the journal.
 */
public final class PartitionFaults implements AutoCloseable {

  /** What one fault did, as a user and the journal saw it. */
  public record Result(String fault, double secondsToOneActive, long activations, long refusedStaleWrites,
      int doubleActiveSamples, double secondsToOneCluster, HistoryChecker.Report history, int restarts,
      int activeBefore, int activeAfter) {
    @Override
    public String toString() {
      return String.format("%s: one active after %.1f s (core %d -> %d), activations %d, stale writes refused %d, "
              + "two-active samples %d, one cluster again after %.1f s, restarts %d; %s", fault, secondsToOneActive,
          activeBefore, activeAfter, activations, refusedStaleWrites, doubleActiveSamples, secondsToOneCluster,
          restarts, history.checked());
    }
  }

  static final Duration START = Duration.ofSeconds(180);
  final TestHosts hosts;
  final HeykenProcesses heyken;
  private final MongoClient mongo;
  private final WriteLog writes = new WriteLog();
  private final List<HistoryChecker.DoubleActive> doubleActive = Collections.synchronizedList(new ArrayList<>());
  private final AtomicInteger counter = new AtomicInteger();
  private volatile String featureId;
  private Thread writer;
  private Thread observer;
  private final AtomicBoolean running = new AtomicBoolean();
  // the observer's latest view: which cores say they act as active, and when that was seen
  private volatile boolean[] lastActive = new boolean[3];
  // the observer's samples: nanoTime, then which core was the sole active one (0: none or both)
  private final List<long[]> timeline = Collections.synchronizedList(new ArrayList<>());

  public PartitionFaults(Path root, Path jar) throws IOException {
    hosts = TestHosts.up(root);
    Path dir = Files.createTempDirectory("heyken-partition-");
    // bubblewrap runs jobs as uid 65534: the data directory must let it pass
    Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
    heyken = new HeykenProcesses(jar, dir, hosts).withEnv("HEYKEN_SANDBOX_BACKEND", "bubblewrap");
    heyken.startStore();
    heyken.startCore(1);
    heyken.startCore(2);
    mongo = MongoClients.create(heyken.mongoUri());
    awaitOneCluster(START);
    var created = heyken.post(heyken.port("sandbox"), "/api/features/create",
        SandboxFixtures.createBody("partition", SandboxFixtures.hello("partition", "partition")), heyken.token());
    if (created.status() != 201) {
      throw new IllegalStateException("could not create the feature the writer tests: " + created.raw());
    }
    featureId = created.body().get("feature_id").asText();
  }

  // ---------------------------------------------------------------- what the test sees

  /** Core {@code id}'s own status, asked on its inspection port through the test host (null: no answer). */
  JsonNode statusFrom(int id) {
    var r = heyken.getFrom(id, heyken.port("monitor") + 100 * id, "/api/status");
    return r.status() == 200 ? r.body() : null;
  }

  /** Whether core {@code id} says it acts as the active core (false when it does not answer). */
  boolean acting(int id) {
    JsonNode s = statusFrom(id);
    return s != null && s.path("this_core").path("active").asBoolean(false);
  }

  /** The one core acting as active, 0 when none or both. */
  int soleActive() {
    boolean a1 = acting(1);
    boolean a2 = acting(2);
    return a1 == a2 ? 0 : a1 ? 1 : 2;
  }

  /** Both cores up in one cluster, one active, the store up: /api/status healthy on the documented port. */
  public double awaitOneCluster(Duration timeout) {
    long t0 = System.nanoTime();
    heyken.awaitStatus("one cluster: both cores up, one active, store up", timeout,
        s -> s.path("healthy").asBoolean() && s.path("cores").size() == 2
            && s.path("cores").get(0).path("reachable").asBoolean(false)
            && s.path("cores").get(1).path("reachable").asBoolean(false));
    return seconds(t0);
  }

  /**
   * Exactly one core acting, and the documented ports answering from it (a registration is acknowledged there);
   * returns the core.
   */
  int awaitOneActive(Duration timeout, long t0, double[] secondsOut) {
    int[] which = new int[1];
    HeykenProcesses.await("exactly one core active and the documented ports answering", timeout, () -> {
      int sole = soleActive();
      if (sole == 0) {
        return false;
      }
      var r = heyken.post(heyken.port("registry"), "/api/components",
          "{\"name\":\"probe-" + counter.incrementAndGet() + "\",\"url\":\"http://127.0.0.1:1/\"}", heyken.token());
      var st = heyken.status();
      which[0] = sole;
      return r.status() == 201 && st != null && st.path("served_by").asInt() == sole;
    });
    secondsOut[0] = seconds(t0);
    return which[0];
  }

  long epochNow() {
    JsonNode s = heyken.status();
    return s == null ? -1 : s.path("epoch").asLong();
  }

  long activationCount() {
    return HistoryChecker.events(mongo.getDatabase("heyken"), "core-manager"::equals).stream()
        .filter(e -> e.type().equals("CoreActivated")).count();
  }

  long refusedStaleWrites() {
    long n = 0;
    for (int id = 1; id <= 2; id++) {
      JsonNode s = statusFrom(id);
      if (s != null) {
        n = Math.max(n, s.path("fenced_writes_refused").asLong());
      }
    }
    return n;
  }

  /** Every cut and delay removed: all links as they were. */
  public void healAll() {
    hosts.heal();
  }

  public String dump() {
    return "\n--- rules ---\n" + hosts.rules() + "\n--- core-1 ---\n" + heyken.tail("core-1", 60) + "\n--- core-2 ---\n"
        + heyken.tail("core-2", 60);
  }

  static double seconds(long t0) {
    return (System.nanoTime() - t0) / 1e9;
  }

  // ---------------------------------------------------------------- writer and observer

  void startTraffic() {
    writes.clear();
    doubleActive.clear();
    timeline.clear();
    running.set(true);
    writer = new Thread(() -> {
      int n = 0;
      while (running.get()) {
        n++;
        String name = "w-" + counter.incrementAndGet();
        Instant sent = Instant.now();
        var r = heyken.post(heyken.port("registry"), "/api/components",
            "{\"name\":\"" + name + "\",\"url\":\"http://127.0.0.1:1/\"}", heyken.token());
        writes.record(new WriteLog.Write("registration", name, sent, Instant.now(), r.status(), brief(r.raw())));
        if (n % 10 == 0 && featureId != null) {
          sent = Instant.now();
          var t = heyken.post(heyken.port("sandbox"), "/api/features/test", "{\"feature_id\":\"" + featureId + "\"}",
              heyken.token());
          String run = t.status() == 202 && t.body() != null ? t.body().path("run_id").asText() : "?";
          writes.record(new WriteLog.Write("test-run", run, sent, Instant.now(), t.status(), brief(t.raw())));
        }
        if (n % 7 == 0) {
          // a chat message, then the same message id again: it must be answered once (the retry gets the answer)
          String id = "chat-" + counter.incrementAndGet();
          String body = "{\"session\":\"partition\",\"text\":\"whoami\",\"message_id\":\"" + id + "\"}";
          for (int attempt = 0; attempt < 2; attempt++) {
            sent = Instant.now();
            var c = heyken.post(heyken.port("monitor"), "/api/chat", body, heyken.token());
            writes.record(new WriteLog.Write("chat", id, sent, Instant.now(), c.status(), brief(c.raw())));
          }
        }
        pause(150);
      }
    }, "partition-writer");
    observer = new Thread(() -> {
      while (running.get()) {
        // both asked in parallel-ish: two requests back to back through the gateway, a few ms apart
        JsonNode s1 = statusFrom(1);
        JsonNode s2 = statusFrom(2);
        boolean a1 = s1 != null && s1.path("this_core").path("active").asBoolean(false);
        boolean a2 = s2 != null && s2.path("this_core").path("active").asBoolean(false);
        lastActive = new boolean[] {false, a1, a2};
        timeline.add(new long[] {System.nanoTime(), a1 == a2 ? 0 : a1 ? 1 : 2});
        if (a1 && a2) {
          doubleActive.add(new HistoryChecker.DoubleActive(Instant.now(),
              "core 1: " + s1.path("this_core") + " / core 2: " + s2.path("this_core")));
        }
        pause(250);
      }
    }, "partition-observer");
    writer.start();
    observer.start();
  }

  HistoryChecker.Report stopTraffic() {
    running.set(false);
    join(writer);
    join(observer);
    var report = HistoryChecker.check(mongo.getDatabase("heyken"), writes, List.copyOf(doubleActive));
    System.out.println(report);
    return report;
  }

  int doubleActiveSamples() {
    return doubleActive.size();
  }

  private static void join(Thread t) {
    if (t != null) {
      try {
        t.join(20_000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  private static String brief(String raw) {
    return raw == null ? "" : raw.length() > 200 ? raw.substring(0, 200) : raw;
  }

  static void pause(long millis) {
    try {
      Thread.sleep(millis); // the pace of the writer and the fault's duration, not synchronization
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  int activeCore() {
    JsonNode s = heyken.status();
    return s == null ? 0 : s.path("active_core").asInt();
  }

  // ---------------------------------------------------------------- the faults

  /** The two cores lose each other, both still reach the store. */
  public Result coresCutFromEachOther(Duration cutFor, Duration healBound) {
    return cutAndHeal("cores cut from each other", cutFor, healBound, active -> hosts.cut("core1", "core2"));
  }

  /** The active core loses both the store and its peer. */
  public Result activeCutFromStoreAndPeer(Duration cutFor, Duration healBound) {
    return cutAndHeal("active cut from store and peer", cutFor, healBound, active -> {
      hosts.cut("core" + active, "store");
      hosts.cut("core" + active, "core" + (3 - active));
    });
  }

  /** The active core loses the store only; its peer still hears it. */
  public Result activeCutFromStoreOnly(Duration cutFor, Duration healBound) {
    return cutAndHeal("active cut from the store only", cutFor, healBound,
        active -> hosts.cut("core" + active, "store"));
  }

  /** The standby does not hear the active core; the active core still hears the standby. */
  public Result oneWayCut(Duration cutFor, Duration healBound) {
    return cutAndHeal("one-way cut (standby does not hear active)", cutFor, healBound,
        active -> hosts.cutOneWay("core" + active, "core" + (3 - active)));
  }

  private Result cutAndHeal(String fault, Duration cutFor, Duration healBound,
      java.util.function.IntConsumer cut) {
    var start = begin();
    int before = start.activeBefore();
    long t0 = start.t0();
    cut.accept(before);
    double[] toOne = new double[1];
    int after;
    try {
      // the fault lasts its full length; then exactly one core must act and the documented ports answer from it
      while (seconds(t0) < cutFor.toSeconds()) {
        pause(200);
      }
      after = awaitOneActive(Duration.ofSeconds(30), t0, toOne);
      // when that state began: the observer's last change into "core <after> alone is active"
      synchronized (timeline) {
        long since = t0;
        for (long[] sample : timeline) {
          if (sample[0] >= t0 && sample[1] != after) {
            since = sample[0];
          }
        }
        toOne[0] = Math.min(toOne[0], (since - t0) / 1e9);
      }
    } finally {
      hosts.heal();
    }
    double healed;
    try {
      healed = awaitOneCluster(healBound);
    } catch (AssertionError e) {
      throw new AssertionError(fault + ": not one cluster again " + healBound.toSeconds() + " s after the heal: "
          + e.getMessage() + dump(), e);
    }
    var report = stopTraffic();
    return finish(fault, start, toOne[0], healed, report, after);
  }

  /** The link between the cores goes down and up again every {@code period} for {@code length}. */
  public Result flappingLink(Duration length, Duration period, Duration healBound) {
    var start = begin();
    int before = start.activeBefore();
    long t0 = start.t0();
    try {
      boolean cut = false;
      while (seconds(t0) < length.toSeconds()) {
        if (cut) {
          hosts.heal();
        } else {
          hosts.cut("core1", "core2");
        }
        cut = !cut;
        pause(period.toMillis());
      }
    } finally {
      hosts.heal();
    }
    double[] toOne = new double[1];
    int after = awaitOneActive(Duration.ofSeconds(60), System.nanoTime(), toOne);
    double healed = awaitOneCluster(healBound);
    var report = stopTraffic();
    return finish("flapping core link (" + period.toSeconds() + " s)", start, toOne[0], healed, report, after);
  }

  /** Every core-to-core chunk held {@code delayMillis} each way for {@code length}. */
  public Result slowLink(Duration length, int delayMillis) {
    var start = begin();
    int before = start.activeBefore();
    long epochBefore = epochNow();
    long t0 = start.t0();
    List<String> unreachableSeen = new ArrayList<>();
    try {
      hosts.delay(delayMillis);
      while (seconds(t0) < length.toSeconds()) {
        JsonNode s = heyken.status();
        if (s != null) {
          for (JsonNode c : s.path("cores")) {
            if (!c.path("reachable").asBoolean(true)) {
              unreachableSeen.add(Instant.now() + " " + c);
            }
          }
        }
        pause(1000);
      }
    } finally {
      hosts.delay(0);
    }
    double healed = awaitOneCluster(Duration.ofSeconds(30));
    var report = stopTraffic();
    if (!unreachableSeen.isEmpty()) {
      System.out.println("slow link: a core was seen unreachable " + unreachableSeen.size() + " time(s): "
          + unreachableSeen.get(0));
    }
    var result = finish("slow core link (" + delayMillis + " ms each way, " + length.toSeconds() + " s)", start, 0,
        healed, report, activeCore());
    // an epoch that moved counts as a failover even if its activation event were missing
    return epochNow() != epochBefore && result.activations() == 0
        ? new Result(result.fault(), 0, 1, result.refusedStaleWrites(), result.doubleActiveSamples(),
            result.secondsToOneCluster(), report, result.restarts(), before, result.activeAfter())
        : result;
  }

  /** Where a fault starts from: one cluster, the counts before, the traffic running. */
  private record Start(int activeBefore, long activationsBefore, int restartsBefore, long t0) {}

  private Start begin() {
    awaitOneCluster(START);
    int before = activeCore();
    long activations = activationCount();
    int restarts = heyken.restarts(1) + heyken.restarts(2);
    startTraffic();
    return new Start(before, activations, restarts, System.nanoTime());
  }

  private Result finish(String fault, Start start, double toOne, double healed, HistoryChecker.Report report,
      int after) {
    return new Result(fault, toOne, activationCount() - start.activationsBefore(), refusedStaleWrites(),
        doubleActiveSamples(), healed, report, heyken.restarts(1) + heyken.restarts(2) - start.restartsBefore(),
        start.activeBefore(), after);
  }

  @Override
  public void close() {
    running.set(false);
    try {
      mongo.close();
    } catch (RuntimeException ignored) {
      // closing anyway
    }
    heyken.close();
    hosts.close();
  }
}
