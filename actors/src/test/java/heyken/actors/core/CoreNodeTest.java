package heyken.actors.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** What a core does with a lost CoreManager lease: it stops acting at once, and only for the activation it ended. */
class CoreNodeTest {

  @Test
  void aLostLeaseEndsTheCurrentActivationAtOnceAndTellsTheListeners() {
    var node = new CoreNode(1);
    List<Long> seen = new ArrayList<>();
    node.onActivationChange(seen::add);
    node.activated(7);
    assertTrue(node.isActive());
    node.leaseLost(Instant.now().plusMillis(1), "not renewed within PT4S");
    assertFalse(node.isActive());
    assertEquals(List.of(0L, 7L, 0L), seen, "the port binder and the fenced ledgers hear of it");
    assertTrue(node.stepDownReason().contains("the lease was lost (not renewed within PT4S)"), node.stepDownReason());
    // the singleton's own stop comes later and changes nothing more
    node.deactivated(7, "the singleton stopped");
    assertEquals(List.of(0L, 7L, 0L), seen);
  }

  @Test
  void aLossFromBeforeTheCurrentActivationChangesNothing() {
    var node = new CoreNode(2);
    Instant before = Instant.now().minusSeconds(5);
    node.activated(3);
    node.leaseLost(before, "an old incarnation's lease");
    assertTrue(node.isActive());
    assertEquals(3, node.activeEpoch());
  }

  @Test
  void aStandbyIgnoresLeaseLosses() {
    var node = new CoreNode(1);
    node.leaseLost(Instant.now(), "not renewed");
    assertFalse(node.isActive());
    assertEquals(null, node.stepDownReason());
  }
}
