package heyken.actors.services;

import heyken.actors.services.ServiceEngine.Observed;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * The reconciler's decisions, as a pure function of what is wanted and what the engine runs: which containers to
 * create, start, stop or remove. Rules, per service:
 * <ul>
 *   <li>a running container of the current spec is adopted as it is (after a failover too: never restarted);
 *   <li>none: one is created (and started) when the service should run;
 *   <li>more than one: the running (else the newest) is kept, the others are removed — never duplicates;
 *   <li>a container of an older spec is replaced;
 *   <li>an exited one is started again when its restart policy says so, no sooner than its back-off allows;
 *   <li>a service that should be stopped has its container stopped (kept, for its logs);
 *   <li>containers of this installation that no service wants are removed.
 * </ul>
 */
public final class Reconciliation {

  private Reconciliation() {}

  public sealed interface Action {
    String service();
  }

  public record Create(ServiceSpec spec) implements Action {
    @Override
    public String service() {
      return spec.name();
    }
  }

  public record Start(String service, String containerId, String why) implements Action {}

  public record Stop(String service, String containerId) implements Action {}

  public record Remove(String service, String containerId, String why) implements Action {}

  /** Restarts of a service that keeps dying: how many so far, and when the next one may happen. */
  public record Backoff(int attempts, Instant notBefore) {

    public static Backoff after(Backoff previous, Instant now, Duration min, Duration max) {
      int attempts = previous == null ? 1 : previous.attempts() + 1;
      long factor = 1L << Math.min(attempts - 1, 20);
      Duration delay = min.multipliedBy(factor);
      if (delay.compareTo(max) > 0 || delay.isNegative()) {
        delay = max;
      }
      return new Backoff(attempts, now.plus(delay));
    }
  }

  /** Removals first (a replaced container frees its name), then stops, starts and creations. */
  public static List<Action> plan(Map<String, DesiredService> desired, List<Observed> observed,
      Map<String, Backoff> backoff, Instant now) {
    var removals = new ArrayList<Action>();
    var others = new ArrayList<Action>();
    var names = new TreeSet<String>(desired.keySet());
    for (var o : observed) {
      if (o.service() != null) {
        names.add(o.service());
      }
    }
    for (var o : observed) {
      if (o.service() == null) {
        removals.add(new Remove(null, o.id(), "labelled with this installation but with no service"));
      }
    }
    for (String name : names) {
      var want = desired.get(name);
      var mine = observed.stream().filter(o -> name.equals(o.service())).toList();
      if (want == null) {
        mine.forEach(o -> removals.add(new Remove(name, o.id(), "no service '" + name + "' is wanted")));
        continue;
      }
      String hash = want.spec().hash();
      var current = new ArrayList<Observed>();
      for (var o : mine) {
        if (hash.equals(o.specHash())) {
          current.add(o);
        } else {
          removals.add(new Remove(name, o.id(), "made from another spec"));
        }
      }
      current.sort(Comparator.comparing(Observed::running).thenComparingLong(Observed::createdSeconds).reversed());
      for (var extra : current.subList(Math.min(1, current.size()), current.size())) {
        removals.add(new Remove(name, extra.id(), "a duplicate of " + shortId(current.get(0).id())));
      }
      Observed keep = current.isEmpty() ? null : current.get(0);
      if (keep == null) {
        if (want.running()) {
          others.add(new Create(want.spec()));
        }
      } else if (!want.running()) {
        if (keep.running()) {
          others.add(new Stop(name, keep.id()));
        }
      } else if ("created".equals(keep.state())) {
        others.add(new Start(name, keep.id(), "created, not started yet"));
      } else if ("exited".equals(keep.state()) || "dead".equals(keep.state())) {
        if (shouldRestart(want.spec().restart(), keep.exitCode())) {
          var b = backoff.get(name);
          if (b == null || !now.isBefore(b.notBefore())) {
            others.add(new Start(name, keep.id(), "it " + keep.state() + " with code " + keep.exitCode()));
          }
        }
      }
    }
    var all = new ArrayList<Action>(removals);
    all.addAll(others);
    return all;
  }

  static boolean shouldRestart(String policy, Long exitCode) {
    if (ServiceSpec.RESTART_NO.equals(policy)) {
      return false;
    }
    if (ServiceSpec.RESTART_ON_FAILURE.equals(policy)) {
      return exitCode == null || exitCode != 0;
    }
    return true;
  }

  /** Whether a running container has run long enough that its back-off starts over. */
  public static boolean ranLongEnough(Observed o, Instant now, Duration reset) {
    if (!o.running() || o.startedAt() == null) {
      return false;
    }
    try {
      return Instant.parse(o.startedAt()).plus(reset).isBefore(now);
    } catch (DateTimeParseException e) {
      return false;
    }
  }

  /** Names that have at least one container. */
  public static Set<String> withContainers(List<Observed> observed) {
    var names = new TreeSet<String>();
    observed.forEach(o -> {
      if (o.service() != null) {
        names.add(o.service());
      }
    });
    return names;
  }

  static String shortId(String id) {
    return id == null ? "-" : id.substring(0, Math.min(12, id.length()));
  }
}
