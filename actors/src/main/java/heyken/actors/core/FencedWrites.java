package heyken.actors.core;

import heyken.actors.store.MongoStore;
import heyken.protocol.api.Problem;
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

  /** Null problem: go ahead. {@code supersededBy} &gt; 0: a newer epoch exists (this core is fenced). */
  public record Verdict(long supersededBy, Problem problem) {
    public boolean allowed() {
      return problem == null;
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

  /** Confirms {@code epoch} in the store, on the blocking dispatcher; never fails (the verdict carries the problem). */
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
      return new Verdict(stale.currentEpoch, Problem.unavailable("not_active", stale.getMessage()));
    }
    return new Verdict(0, Problem.unavailable("store_unavailable",
        "the store could not confirm this core's epoch (" + cause.getMessage() + "); nothing was changed, try again"));
  }
}
