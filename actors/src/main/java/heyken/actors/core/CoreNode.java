package heyken.actors.core;

import java.time.Instant;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongConsumer;

/**
 * What this JVM knows about itself: which core it is, its process, and the epoch under which it is the
 * active core (0 while standby). The CoreManager singleton sets the epoch when it activates here and clears
 * it when it stops or finds itself fenced; listeners (the port binder, the fenced ledgers) follow.
 */
public final class CoreNode {

  /** Called on activation (epoch &gt; 0) and deactivation (0). */
  public interface ActivationListener extends LongConsumer {}

  private final int coreId;
  private final long pid = ProcessHandle.current().pid();
  private final Instant jvmStartedAt =
      ProcessHandle.current().info().startInstant().orElse(Instant.now());
  private final AtomicLong activeEpoch = new AtomicLong();
  private final AtomicLong fencedWritesRefused = new AtomicLong();
  private final java.util.List<ActivationListener> listeners = new java.util.concurrent.CopyOnWriteArrayList<>();
  private volatile Runnable switchAway = () -> {};
  // why this core last stopped acting (null: it never did), and when; shown by /api/status as this_core.reason
  private volatile String stepDownReason;
  private volatile Instant stepDownAt;
  private volatile Runnable restartForUpgrade = () -> {};
  private volatile Instant activatedAt;

  public CoreNode(int coreId) {
    if (coreId != 1 && coreId != 2) {
      throw new IllegalArgumentException("core id must be 1 or 2, got " + coreId);
    }
    this.coreId = coreId;
  }

  public int coreId() {
    return coreId;
  }

  public int peerId() {
    return coreId == 1 ? 2 : 1;
  }

  public long pid() {
    return pid;
  }

  /** The JVM's start, not the ActorSystem's: a planned switch restarts the system in the same process. */
  public Instant startedAt() {
    return jvmStartedAt;
  }

  public long activeEpoch() {
    return activeEpoch.get();
  }

  public boolean isActive() {
    return activeEpoch.get() > 0;
  }

  public long fencedWritesRefused() {
    return fencedWritesRefused.get();
  }

  void recordRefusedWrite() {
    fencedWritesRefused.incrementAndGet();
  }

  void activated(long epoch) {
    activatedAt = Instant.now();
    activeEpoch.set(epoch);
    listeners.forEach(l -> l.accept(epoch));
  }

  /** Clears the active epoch only if it is still the given one (a newer activation wins). */
  void deactivated(long epoch) {
    deactivated(epoch, "stopped");
  }

  void deactivated(long epoch, String why) {
    if (activeEpoch.compareAndSet(epoch, 0)) {
      stepDownReason = "stopped acting under epoch " + epoch + ": " + why;
      stepDownAt = Instant.now();
      listeners.forEach(l -> l.accept(0));
    }
  }

  /**
   * The CoreManager's singleton lease was lost at {@code at}: this core stops acting now, not when the singleton has
   * stopped (it stops at its next message, and an active CoreManager in the middle of a journal write waits for the
   * write, which hangs while the store is away: the cut-off core went on reporting itself active beside the new one).
   * A loss from before this core's current activation is old news and changes nothing.
   */
  public void leaseLost(Instant at, String why) {
    long epoch = activeEpoch.get();
    Instant since = activatedAt;
    if (epoch > 0 && since != null && since.isBefore(at)) {
      deactivated(epoch, "the lease was lost (" + why + ")");
    }
  }

  /** Why this core last stopped acting as the active core, with when; null if it never did. */
  public String stepDownReason() {
    String why = stepDownReason;
    return why == null ? null : why + " (at " + stepDownAt + ")";
  }

  /**
   * Follows this core's activation: told the current epoch at once, then every change. The returned action stops
   * following (the node outlives the ActorSystems of planned switches: their followers must not pile up).
   */
  public Runnable onActivationChange(ActivationListener listener) {
    listeners.add(listener);
    listener.accept(activeEpoch.get());
    return () -> listeners.remove(listener);
  }

  /** What a planned switch does to this JVM: leave the cluster and rejoin as standby. Set by the runtime. */
  public void onSwitchAway(Runnable switchAway) {
    this.switchAway = switchAway;
  }

  void switchAway() {
    switchAway.run();
  }

  /**
   * What an upgrade's restart does to this JVM: leave the cluster gracefully and exit with
   * {@link #RESTART_EXIT_CODE}, so that the supervisor starts it again at once (on the jar the upgrade named).
   */
  public void onRestartForUpgrade(Runnable restart) {
    this.restartForUpgrade = restart;
  }

  /** Asks the runtime to restart this JVM (the upgrade's restart of a standby core). */
  public void restartForUpgrade() {
    restartForUpgrade.run();
  }

  /** The exit status of a JVM that asks its supervisor to start it again at once (scripts/lib/supervise.sh). */
  public static final int RESTART_EXIT_CODE = 3;
}
