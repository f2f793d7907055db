package heyken.cores.bench;

import heyken.cores.PartitionFaults;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.Supplier;

/**
 * bench/partition.sh: every fault of PartitionIT for N rounds on one set of test hosts, then the long slow link;
 * prints per fault the seconds until exactly one core is active and the documented ports answer, activations,
 * stale-epoch writes refused and accepted, acknowledged writes lost, seconds until one cluster again.
 * Arguments: JAR ROOT; -Dbench.rounds (5), -Dbench.slow-minutes (10), -Dbench.flap-seconds (120).
 */
public final class PartitionBench {

  public static void main(String[] args) throws Exception {
    Locale.setDefault(Locale.ROOT);
    Path jar = Path.of(args[0]);
    Path root = Path.of(args[1]);
    int rounds = Integer.getInteger("bench.rounds", 5);
    int slowMinutes = Integer.getInteger("bench.slow-minutes", 10);
    int flapSeconds = Integer.getInteger("bench.flap-seconds", 120);
    Duration heal = Duration.ofSeconds(120);
    var lines = new ArrayList<String>();
    try (var faults = new PartitionFaults(root, jar)) {
      List<Supplier<PartitionFaults.Result>> kinds = List.of(
          () -> faults.coresCutFromEachOther(Duration.ofSeconds(20), heal),
          () -> faults.activeCutFromStoreAndPeer(Duration.ofSeconds(20), heal),
          () -> faults.activeCutFromStoreOnly(Duration.ofSeconds(20), heal),
          () -> faults.oneWayCut(Duration.ofSeconds(20), heal));
      for (var kind : kinds) {
        var results = new ArrayList<PartitionFaults.Result>();
        for (int r = 0; r < rounds; r++) {
          var result = kind.get();
          System.out.println("round " + (r + 1) + ": " + result);
          results.add(result);
        }
        lines.add(summary(results));
      }
      var flap = faults.flappingLink(Duration.ofSeconds(flapSeconds), Duration.ofSeconds(3), heal);
      System.out.println(flap);
      lines.add(summary(List.of(flap)));
      var slow = faults.slowLink(Duration.ofMinutes(slowMinutes), 300);
      System.out.println(slow);
      lines.add(summary(List.of(slow)) + "  failovers " + slow.activations() + " (target 0)");
    }
    System.out.println();
    System.out.println("partition benchmark (" + rounds + " rounds per fault):");
    lines.forEach(System.out::println);
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
