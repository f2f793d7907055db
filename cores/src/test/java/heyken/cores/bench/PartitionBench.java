package heyken.cores.bench;

import heyken.cores.PartitionFaults;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;

/**
 * bench/partition.sh: every fault of PartitionIT for N rounds on one set of test hosts, then the long slow link;
 * prints per fault the seconds until exactly one core is active and the documented ports answer, activations,
 * stale-epoch writes refused and accepted, acknowledged writes lost, seconds until one cluster again.
 * Arguments: JAR ROOT; -Dbench.rounds (5), -Dbench.slow-minutes (10), -Dbench.flap-seconds (120), -Dbench.faults
 * (comma-separated names of {@link #FAULTS}; all by default). A round that misses its bound is reported as FAILED
 * and counted; the run goes on.
 */
public final class PartitionBench {

  /** The names of --faults, in the order they run. */
  static final List<String> FAULTS = List.of("cores", "store-and-peer", "store-only", "one-way", "flap", "slow");

  public static void main(String[] args) throws Exception {
    Locale.setDefault(Locale.ROOT);
    Path jar = Path.of(args[0]);
    Path root = Path.of(args[1]);
    int rounds = Integer.getInteger("bench.rounds", 5);
    int slowMinutes = Integer.getInteger("bench.slow-minutes", 10);
    int flapSeconds = Integer.getInteger("bench.flap-seconds", 120);
    Set<String> only = Set.of(System.getProperty("bench.faults", String.join(",", FAULTS)).split(","));
    Duration heal = Duration.ofSeconds(120);
    var lines = new ArrayList<String>();
    try (var faults = new PartitionFaults(root, jar)) {
      Map<String, Supplier<PartitionFaults.Result>> kinds = new LinkedHashMap<>();
      kinds.put("cores", () -> faults.coresCutFromEachOther(Duration.ofSeconds(20), heal));
      kinds.put("store-and-peer", () -> faults.activeCutFromStoreAndPeer(Duration.ofSeconds(20), heal));
      kinds.put("store-only", () -> faults.activeCutFromStoreOnly(Duration.ofSeconds(20), heal));
      kinds.put("one-way", () -> faults.oneWayCut(Duration.ofSeconds(20), heal));
      for (var kind : kinds.entrySet()) {
        if (!only.contains(kind.getKey())) {
          continue;
        }
        var results = new ArrayList<PartitionFaults.Result>();
        int failed = 0;
        for (int r = 0; r < rounds; r++) {
          try {
            var result = kind.getValue().get();
            System.out.println("round " + (r + 1) + ": " + result);
            results.add(result);
          } catch (AssertionError | RuntimeException e) {
            // a round that missed its bound counts as failed; the hosts are healed and the next round starts from
            // one cluster again (or the next fault, when the cluster does not come back)
            failed++;
            System.out.println("round " + (r + 1) + " of " + kind.getKey() + " FAILED: " + e.getMessage()
                + faults.dump());
            if (!recovered(faults, heal)) {
              break;
            }
          }
        }
        lines.add((results.isEmpty() ? "  " + kind.getKey() + ": no round passed" : summary(results))
            + (failed > 0 ? "  | FAILED rounds " + failed + " of " + rounds : ""));
      }
      if (only.contains("flap")) {
        var flap = faults.flappingLink(Duration.ofSeconds(flapSeconds), Duration.ofSeconds(3), heal);
        System.out.println(flap);
        lines.add(summary(List.of(flap)));
      }
      if (only.contains("slow")) {
        var slow = faults.slowLink(Duration.ofMinutes(slowMinutes), 300);
        System.out.println(slow);
        lines.add(summary(List.of(slow)) + "  failovers " + slow.activations() + " (target 0)");
      }
    }
    System.out.println();
    System.out.println("partition benchmark (" + rounds + " rounds per fault):");
    lines.forEach(System.out::println);
  }

  private static boolean recovered(PartitionFaults faults, Duration heal) {
    try {
      faults.healAll();
      faults.awaitOneCluster(heal);
      return true;
    } catch (AssertionError | RuntimeException e) {
      System.out.println("the cluster did not come back after a failed round: " + e.getMessage());
      return false;
    }
  }

  private static String summary(List<PartitionFaults.Result> results) {
    var first = results.get(0);
    double[] toOne = results.stream().mapToDouble(PartitionFaults.Result::secondsToOneActive).sorted().toArray();
    double[] heal = results.stream().mapToDouble(PartitionFaults.Result::secondsToOneCluster).sorted().toArray();
    long activations = results.stream().mapToLong(PartitionFaults.Result::activations).sum();
    long refused = results.stream().mapToLong(PartitionFaults.Result::refusedStaleWrites).max().orElse(0);
    long lost = 0;
    long staleAccepted = 0;
    long doubleActive = 0;
    long acknowledged = 0;
    for (var r : results) {
      acknowledged += r.history().count("acknowledged registrations") + r.history().count("acknowledged test runs");
      doubleActive += r.doubleActiveSamples();
      for (String v : r.history().violations()) {
        if (v.contains("lost")) {
          lost++;
        } else if (v.contains("stale") || v.contains("acted after") || v.contains("never activated")) {
          staleAccepted++;
        }
      }
    }
    return String.format("  %-45s one active: median %.1f s, max %.1f s | activations %d | stale writes refused %d,"
            + " accepted %d | acknowledged %d, lost %d | two active seen %d | one cluster after heal: median %.1f s,"
            + " max %.1f s", first.fault().replaceAll(" \\(.*", ""), toOne[toOne.length / 2], toOne[toOne.length - 1],
        activations, refused, staleAccepted, acknowledged, lost, doubleActive, heal[heal.length / 2],
        heal[heal.length - 1]);
  }
}
