package heyken.actors.core;

import heyken.actors.store.MongoStore;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;

/**
 * The one fencing mechanism of the active core's side effects: before a singleton persists a change that only the
 * active core may make (a deployment, a service, a planned switch), it confirms here that its core's epoch is still
 * the newest in the {@link EpochFence}. The verdict says whether the write may go ahead; a superseded epoch is
 * reported to the {@link CoreManager} ({@link CoreManager.Superseded}), which alone decides that this core stops
 * acting as the active one.
 */
public final class FencedWrites {

  /** Null refusal: go ahead. {@code supersededBy} &gt; 0: a newer epoch exists (this core is fenced). */
  public record Verdict(long supersededBy, CoreRefusal refused) {
    public boolean allowed() {
      return refused == null;
    }
  }

  private final EpochFence fence;
  private final MongoStore store;

  public FencedWrites(EpochFence fence, MongoStore store) {
    this.fence = fence;
    this.store = store;
  }

  public EpochFence fence() {
    return fence;
  }

  /** Confirms {@code epoch} in the store, on the blocking dispatcher; never fails (the verdict carries the refusal). */
  public CompletionStage<Verdict> check(long epoch) {
    return store.async(db -> {
      fence.check(epoch);
      return epoch;
    }).handle((ok, error) -> verdict(error));
  }

  static Verdict verdict(Throwable error) {
    Throwable cause = error instanceof CompletionException ? error.getCause() : error;
    if (cause == null) {
      return new Verdict(0, null);
    }
    if (cause instanceof EpochFence.StaleEpochException stale) {
      return new Verdict(stale.currentEpoch, CoreRefusal.superseded(CoreRefusal.Kind.EPOCH_SUPERSEDED, 0, stale.epoch,
          stale.currentEpoch));
    }
    return new Verdict(0, CoreRefusal.storeUnavailable(0, cause.getMessage()));
  }
}
