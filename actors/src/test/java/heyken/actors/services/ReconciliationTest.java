package heyken.actors.services;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import heyken.actors.services.Reconciliation.Action;
import heyken.actors.services.Reconciliation.Backoff;
import heyken.actors.services.Reconciliation.Create;
import heyken.actors.services.Reconciliation.Remove;
import heyken.actors.services.Reconciliation.Start;
import heyken.actors.services.Reconciliation.Stop;
import heyken.actors.services.ServiceEngine.Observed;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The reconciler's decisions: adopt, create, never duplicate, restart with back-off, remove the unwanted. */
class ReconciliationTest {

  private static final Instant NOW = Instant.parse("2026-11-29T12:00:00Z");

  private static ServiceSpec spec(String name, String restart) {
    return new ServiceSpec(name, "sandbox/busybox:1", Map.of(), List.of(), List.of("sleep", "1000"), null, restart);
  }

  private static DesiredService wanted(ServiceSpec spec, boolean running) {
    return new DesiredService(spec, running, NOW, "test");
  }

  private static Observed container(String id, ServiceSpec spec, String state, Long exit, long created) {
    return new Observed(id, spec.name(), spec.hash(), state, "none", exit, "2026-11-29T11:00:00Z", created);
  }

  private static List<Action> plan(Map<String, DesiredService> desired, List<Observed> observed) {
    return Reconciliation.plan(desired, observed, Map.of(), NOW);
  }

  @Test
  void aRunningContainerOfTheCurrentSpecIsAdoptedUntouched() {
    var web = spec("web", "always");
    assertEquals(List.of(), plan(Map.of("web", wanted(web, true)), List.of(container("a", web, "running", null, 1))));
  }

  @Test
  void aWantedServiceWithoutAContainerGetsOne() {
    var web = spec("web", "always");
    assertEquals(List.of(new Create(web)), plan(Map.of("web", wanted(web, true)), List.of()));
  }

  @Test
  void aStoppedServiceWithoutAContainerGetsNone() {
    var web = spec("web", "always");
    assertEquals(List.of(), plan(Map.of("web", wanted(web, false)), List.of()));
  }

  @Test
  void duplicatesAreRemovedKeepingTheRunningOne() {
    var web = spec("web", "always");
    var actions = plan(Map.of("web", wanted(web, true)), List.of(
        container("old-exited", web, "exited", 1L, 5), container("runs", web, "running", null, 1),
        container("newer-created", web, "created", null, 9)));
    assertEquals(2, actions.size(), actions.toString());
    assertTrue(actions.stream().allMatch(a -> a instanceof Remove), actions.toString());
    assertTrue(actions.stream().noneMatch(a -> ((Remove) a).containerId().equals("runs")), actions.toString());
  }

  @Test
  void containersNobodyWantsAreRemoved() {
    var gone = spec("gone", "always");
    var actions = plan(Map.of(), List.of(container("x", gone, "running", null, 1),
        new Observed("y", null, null, "exited", "none", 0L, null, 1)));
    assertEquals(List.of("x", "y"), actions.stream().map(a -> ((Remove) a).containerId()).sorted().toList());
  }

  @Test
  void aContainerOfAnotherSpecIsReplacedRemovalFirst() {
    var web = spec("web", "always");
    var older = new Observed("old", "web", "0000", "running", "none", null, null, 1);
    var actions = plan(Map.of("web", wanted(web, true)), List.of(older));
    assertEquals(2, actions.size());
    assertTrue(actions.get(0) instanceof Remove r && r.containerId().equals("old"), actions.toString());
    assertEquals(new Create(web), actions.get(1));
  }

  @Test
  void anExitedServiceIsStartedAgainOnlyAfterItsBackoff() {
    var web = spec("web", "always");
    var desired = Map.of("web", wanted(web, true));
    var dead = List.of(container("a", web, "exited", 137L, 1));
    var waiting = Map.of("web", new Backoff(3, NOW.plusSeconds(4)));
    assertEquals(List.of(), Reconciliation.plan(desired, dead, waiting, NOW));
    var due = Map.of("web", new Backoff(3, NOW.minusMillis(1)));
    var actions = Reconciliation.plan(desired, dead, due, NOW);
    assertEquals(1, actions.size());
    assertTrue(actions.get(0) instanceof Start s && s.containerId().equals("a"), actions.toString());
  }

  @Test
  void theBackoffDoublesUpToItsMaximum() {
    Duration min = Duration.ofSeconds(1);
    Duration max = Duration.ofSeconds(5);
    var first = Backoff.after(null, NOW, min, max);
    var second = Backoff.after(first, NOW, min, max);
    var third = Backoff.after(second, NOW, min, max);
    var capped = Backoff.after(Backoff.after(third, NOW, min, max), NOW, min, max);
    assertEquals(NOW.plusSeconds(1), first.notBefore());
    assertEquals(NOW.plusSeconds(2), second.notBefore());
    assertEquals(NOW.plusSeconds(4), third.notBefore());
    assertEquals(NOW.plusSeconds(5), capped.notBefore());
  }

  @Test
  void theRestartPolicyDecidesWhetherAnExitedServiceComesBack() {
    var never = spec("never", "no");
    var onFailure = spec("onfail", "on-failure");
    var desired = Map.of("never", wanted(never, true), "onfail", wanted(onFailure, true));
    assertEquals(List.of(), plan(desired, List.of(container("n", never, "exited", 1L, 1),
        container("o", onFailure, "exited", 0L, 1))));
    var failed = plan(desired, List.of(container("n", never, "exited", 1L, 1),
        container("o", onFailure, "exited", 2L, 1)));
    assertEquals(List.of(new Start("onfail", "o", "it exited with code 2")), failed);
  }

  @Test
  void aServiceStoppedOnRequestHasItsContainerStoppedNotRemoved() {
    var web = spec("web", "always");
    assertEquals(List.of(new Stop("web", "a")),
        plan(Map.of("web", wanted(web, false)), List.of(container("a", web, "running", null, 1))));
    assertEquals(List.of(),
        plan(Map.of("web", wanted(web, false)), List.of(container("a", web, "exited", 143L, 1))));
  }

  @Test
  void aCreatedButNeverStartedContainerIsStarted() {
    var web = spec("web", "always");
    var actions = plan(Map.of("web", wanted(web, true)), List.of(container("a", web, "created", null, 1)));
    assertEquals(List.of(new Start("web", "a", "created, not started yet")), actions);
  }
}
