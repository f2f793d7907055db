package heyken.actors.core;

/**
 * Where this core stands for a fenced singleton, as the {@link CoreManager} publishes it through {@link CoreNode}:
 * not active yet (commands wait), active under an epoch, or stood down (superseded or stopped: writes are refused).
 */
final class Activation {

  enum Phase {
    ACTIVATING, ACTIVE, STOOD_DOWN
  }

  private final int coreId;
  private Phase phase = Phase.ACTIVATING;
  private long epoch;

  Activation(int coreId) {
    this.coreId = coreId;
  }

  /** The node's epoch changed: &gt; 0 active under it, 0 no longer active. */
  void changed(long nodeEpoch) {
    if (nodeEpoch > 0) {
      phase = Phase.ACTIVE;
      epoch = nodeEpoch;
    } else if (phase == Phase.ACTIVE) {
      phase = Phase.STOOD_DOWN;
    }
  }

  Phase phase() {
    return phase;
  }

  boolean activating() {
    return phase == Phase.ACTIVATING;
  }

  boolean active() {
    return phase == Phase.ACTIVE;
  }

  /** The epoch this core is (or last was) active under; 0 before its first activation. */
  long epoch() {
    return epoch;
  }

  int coreId() {
    return coreId;
  }

  /** The refusal of a write once this core is not the active one any more. */
  CoreRefusal notActive() {
    return CoreRefusal.of(CoreRefusal.Kind.STOOD_DOWN, coreId, epoch);
  }
}
