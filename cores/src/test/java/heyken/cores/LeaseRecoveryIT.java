package heyken.cores;

import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import heyken.sandbox.JobWorkDir;
import heyken.testkit.HeykenProcesses;
import heyken.testkit.StallingProxy;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * Recovery after the lease lapsed (issue 16, finding 6), with the real thing: the store and both cores as separate
 * JVMs, each core reaching the store through its own {@link StallingProxy}. The store is made to stop answering for
 * longer than the lease's TTL, then answers again; within {@link #BOUND} exactly one core acts as the active core, its
 * {@code /api/status} is healthy, {@code GET :5010/api/features} answers 200, and the documented ports are held by that
 * core's process only (read from the kernel's socket table).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class LeaseRecoveryIT {

  /** The bound stated in docs/production.md ("After the lease lapsed"): from the store answering again. */
  static final Duration BOUND = Duration.ofSeconds(45);
  /** Longer than three TTLs (4 s): every lease of the stalled side lapses. */
  private static final Duration STALL = Duration.ofSeconds(14);
  private static final Duration START = Duration.ofSeconds(120);

  private HeykenProcesses heyken;
  private final StallingProxy[] proxies = new StallingProxy[3];

  @BeforeAll
  void up() throws Exception {
    heyken = new HeykenProcesses(HeykenProcesses.itJar(), Files.createTempDirectory("heyken-lease-recovery-"))
        .withEnv("HEYKEN_SANDBOX_BACKEND", "bubblewrap");
    heyken.startStore();
    for (int id = 1; id <= 2; id++) {
      proxies[id] = new StallingProxy(heyken.port("store"));
      heyken.withCoreEnv(id, "HEYKEN_MONGO_URI", "mongodb://127.0.0.1:" + proxies[id].port() + "/heyken");
    }
    heyken.startCore(1);
    heyken.startCore(2);
    heyken.awaitStatus("both cores up, one active", START, s -> s.path("healthy").asBoolean());
  }

  @AfterAll
  void down() throws IOException {
    try {
      HeykenProcesses.closeAll(proxies[1], proxies[2], heyken);
    } finally {
      if (heyken != null) {
        JobWorkDir.deleteTree(heyken.dir()); // the installation's data, logs included
      }
    }
  }

  @Test
  @Order(1)
  void theActiveCoreCutFromAStoreThatStopsAnsweringLeavesExactlyOneActiveCoreWithinTheBound() throws Exception {
    int active = heyken.status().path("active_core").asInt();
    proxies[active].stall();
    try {
      // the lease lapses on the stalled core: it must stop acting, whatever else happens meanwhile
      HeykenProcesses.await("core " + active + " no longer acting as active while its store is away",
          Duration.ofSeconds(20), () -> !acting(active));
    } finally {
      pause(STALL);
      proxies[active].resume();
    }
    assertRecovered("core " + active + "'s store answering again");
  }

  @Test
  @Order(2)
  void aStoreThatStopsAnsweringBothCoresLeavesExactlyOneActiveCoreWithinTheBoundOnceItAnswers() throws Exception {
    proxies[1].stall();
    proxies[2].stall();
    try {
      pause(STALL);
    } finally {
      proxies[1].resume();
      proxies[2].resume();
    }
    assertRecovered("the store answering both cores again");
  }

  @Test
  @Order(3)
  void aSlowStoreAndAStallingActiveCoreTogetherLeaveExactlyOneActiveCoreWithinTheBoundOnceThePressureEnds()
      throws Exception {
    // the audit's pressure, made on purpose: the active core's store answers late (renewals succeed in the store
    // after the core has given the lease up), and the core itself stalls past the failure detector's pause
    int active = heyken.status().path("active_core").asInt();
    proxies[active].delay(Duration.ofMillis(2500));
    try {
      for (int i = 0; i < 3; i++) {
        pause(Duration.ofSeconds(4));
        heyken.signal(active, "STOP");
        pause(Duration.ofMillis(3000));
        heyken.signal(active, "CONT");
      }
      pause(Duration.ofSeconds(4));
    } finally {
      heyken.signal(active, "CONT");
      proxies[active].delay(Duration.ZERO);
    }
    assertRecovered("the pressure on core " + active + " ended");
  }

  @Test
  @Order(4)
  void aCoreLeftAloneWhoseLeaseLapsesIsTheActiveCoreAgainWithinTheBound() throws Exception {
    // the peer freezes and is downed by the split brain resolver: the active core is alone in its cluster
    int active = heyken.status().path("active_core").asInt();
    int peer = 3 - active;
    heyken.signal(peer, "STOP");
    try {
      HeykenProcesses.await("core " + peer + " removed from core " + active + "'s cluster", Duration.ofSeconds(60),
          () -> {
            JsonNode s = heyken.statusFrom(active);
            return s != null && "absent".equals(HeykenProcesses.core(s, peer).path("status").asText());
          });
      proxies[active].stall();
      try {
        pause(STALL);
      } finally {
        proxies[active].resume();
      }
      // with nobody to take over, the lone core takes its lease again; its singletons must be reachable once more
      long start = System.nanoTime();
      String[] last = {""};
      try {
        HeykenProcesses.await("core " + active + " active again, serving, alone on the documented ports", BOUND,
            () -> {
              last[0] = picture();
              return aloneRecovered(active);
            });
      } catch (AssertionError e) {
        throw new AssertionError(e.getMessage() + "\nlast: " + last[0] + dump(), e);
      }
      System.out.printf("recovered %.1f s after the lone core's store answering again: %s%n",
          (System.nanoTime() - start) / 1e9, picture());
    } finally {
      heyken.signal(peer, "CONT");
    }
  }

  /** The peer is frozen: "healthy" cannot hold (it names the missing core); the rest must. */
  private boolean aloneRecovered(int active) throws Exception {
    JsonNode status = heyken.status();
    if (!acting(active) || status == null || status.path("active_core").asInt() != active
        || status.path("served_by").asInt() != active) {
      return false;
    }
    if (heyken.get(heyken.port("sandbox"), "/api/features").status() != 200) {
      return false;
    }
    var holders = documentedPortHolders();
    return holders.size() == 4 && holders.values().stream().allMatch(pid -> pid == heyken.pid(active));
  }

  /** Within the bound, and then for a few seconds more: exactly one active core, serving, holding the ports alone. */
  private void assertRecovered(String since) throws Exception {
    long start = System.nanoTime();
    String[] last = {""};
    try {
      HeykenProcesses.await("exactly one active core, healthy, serving, alone on the documented ports after " + since,
          BOUND, () -> {
            last[0] = picture();
            return recovered();
          });
    } catch (AssertionError e) {
      throw new AssertionError(e.getMessage() + "\nlast: " + last[0] + dump(), e);
    }
    double seconds = (System.nanoTime() - start) / 1e9;
    System.out.printf("recovered %.1f s after %s: %s%n", seconds, since, picture());
    // and it stays so: no flapping once recovered
    long until = System.nanoTime() + Duration.ofSeconds(5).toNanos();
    while (System.nanoTime() < until) {
      assertTrue(recovered(), "recovered, then lost again: " + picture() + dump());
      pause(Duration.ofMillis(500));
    }
  }

  private boolean recovered() throws Exception {
    boolean one = acting(1) ^ acting(2);
    if (!one) {
      return false;
    }
    int active = acting(1) ? 1 : 2;
    JsonNode status = heyken.status();
    if (status == null || !status.path("healthy").asBoolean() || status.path("active_core").asInt() != active
        || status.path("served_by").asInt() != active) {
      return false;
    }
    var features = heyken.get(heyken.port("sandbox"), "/api/features");
    if (features.status() != 200) {
      return false;
    }
    long activePid = heyken.pid(active);
    for (var holder : documentedPortHolders().entrySet()) {
      if (holder.getValue() != activePid) {
        return false;
      }
    }
    return documentedPortHolders().size() == 4;
  }

  /** Whether core {@code id} says, on its own inspection port, that it acts as the active core. */
  private boolean acting(int id) {
    JsonNode s = heyken.statusFrom(id);
    return s != null && s.path("this_core").path("active").asBoolean();
  }

  private String picture() {
    var sb = new StringBuilder();
    for (int id = 1; id <= 2; id++) {
      JsonNode s = heyken.statusFrom(id);
      sb.append("core ").append(id).append(": ").append(s == null ? "no answer" : s.path("this_core")).append("; ");
    }
    JsonNode status = heyken.status();
    sb.append("documented status: ").append(status == null ? "no answer" : "active_core="
        + status.path("active_core") + " healthy=" + status.path("healthy") + " problems=" + status.path("problems"));
    sb.append("; :5010/api/features ").append(heyken.get(heyken.port("sandbox"), "/api/features").status());
    try {
      sb.append("; port holders ").append(documentedPortHolders()).append(" (pids: core 1 ").append(heyken.pid(1))
          .append(", core 2 ").append(heyken.pid(2)).append(')');
    } catch (IOException | InterruptedException e) {
      sb.append("; port holders unknown: ").append(e);
    }
    return sb.toString();
  }

  private static final Pattern PID = Pattern.compile("pid=(\\d+)");

  /** Which process listens on each documented port, from {@code ss -Hltnp}. */
  private Map<Integer, Long> documentedPortHolders() throws IOException, InterruptedException {
    var wanted = List.of(heyken.port("registry"), heyken.port("sandbox"), heyken.port("logger"),
        heyken.port("monitor"));
    Process ss = new ProcessBuilder("ss", "-Hltnp").redirectErrorStream(true).start();
    String out = new String(ss.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    ss.waitFor();
    Map<Integer, Long> holders = new TreeMap<>();
    for (String line : out.split("\n")) {
      String[] cols = line.trim().split("\\s+");
      if (cols.length < 4) {
        continue;
      }
      String local = cols[3];
      int port;
      try {
        port = Integer.parseInt(local.substring(local.lastIndexOf(':') + 1));
      } catch (NumberFormatException e) {
        continue;
      }
      if (wanted.contains(port)) {
        Matcher m = PID.matcher(line);
        holders.put(port, m.find() ? Long.parseLong(m.group(1)) : -1L);
      }
    }
    return holders;
  }

  private String dump() {
    var sb = new StringBuilder();
    for (int id = 1; id <= 2; id++) {
      sb.append("\n--- core-").append(id).append(" ---\n").append(heyken.tail("core-" + id, 60));
    }
    return sb.toString();
  }

  private static void pause(Duration d) {
    try {
      Thread.sleep(d.toMillis()); // the fault's duration, not synchronization
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
