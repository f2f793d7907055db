package heyken.actors.core;

import com.mongodb.client.MongoCollection;
import com.mongodb.client.MongoDatabase;
import com.mongodb.client.model.Filters;
import com.mongodb.client.model.FindOneAndUpdateOptions;
import com.mongodb.client.model.ReturnDocument;
import com.mongodb.client.model.UpdateOptions;
import com.mongodb.client.model.Updates;
import java.util.Date;
import org.bson.Document;

/**
 * The fencing token of the active core, kept in MongoDB. Each activation takes the next epoch with one
 * atomic increment, so epochs are unique and strictly increasing even when two CoreManagers believe they are
 * active (a frozen core that wakes up). Every side effect of the active core checks its epoch here first and
 * is refused once a newer epoch exists. Blocking: call it on the blocking dispatcher.
 */
public final class EpochFence {

  static final String COLLECTION = "heyken_fence";
  static final String FENCE_ID = "core-manager";
  static final String ACTIVE_CORE_ID = "active-core";

  /** A side effect attempted under an epoch that is no longer the newest. */
  public static final class StaleEpochException extends RuntimeException {
    public final long epoch;
    public final long currentEpoch;

    StaleEpochException(long epoch, long currentEpoch) {
      super(message(epoch, currentEpoch));
      this.epoch = epoch;
      this.currentEpoch = currentEpoch;
    }

    static String message(long epoch, long currentEpoch) {
      return "epoch " + epoch + " was superseded by epoch " + currentEpoch + ": this core is no longer active";
    }
  }

  private final MongoCollection<Document> fence;

  public EpochFence(MongoDatabase database) {
    this.fence = database.getCollection(COLLECTION);
  }

  /** Takes the next epoch for the given core; the previous holder is fenced from now on. */
  public long nextEpoch(int coreId, long pid) {
    Document after =
        fence.findOneAndUpdate(
            Filters.eq("_id", FENCE_ID),
            Updates.combine(
                Updates.inc("epoch", 1L),
                Updates.set("core", coreId),
                Updates.set("pid", pid),
                Updates.set("activated_at", new Date())),
            new FindOneAndUpdateOptions().upsert(true).returnDocument(ReturnDocument.AFTER));
    return after.get("epoch", Number.class).longValue();
  }

  /** The newest epoch handed out (0 before the first activation). */
  public long currentEpoch() {
    Document doc = fence.find(Filters.eq("_id", FENCE_ID)).first();
    return doc == null ? 0 : doc.get("epoch", Number.class).longValue();
  }

  /** Throws {@link StaleEpochException} unless {@code epoch} is still the newest. */
  public void check(long epoch) {
    long current = currentEpoch();
    if (current != epoch) {
      throw new StaleEpochException(epoch, current);
    }
  }

  /** Null while {@code epoch} is still the newest, else why not (the message {@link #check} throws). */
  public String supersededBecause(long epoch) {
    try {
      check(epoch);
      return null;
    } catch (StaleEpochException stale) {
      return stale.getMessage();
    }
  }

  /**
   * The active core's heartbeat: a fenced write of who is active. The update itself is conditional on the
   * stored epoch not being newer, so even a write that passed the check just before a takeover cannot put an
   * older epoch back.
   */
  public void heartbeat(long epoch, int coreId, long pid) {
    check(epoch);
    try {
      fence.updateOne(
          Filters.and(
              Filters.eq("_id", ACTIVE_CORE_ID),
              Filters.or(Filters.lte("epoch", epoch), Filters.exists("epoch", false))),
          Updates.combine(
              Updates.set("epoch", epoch),
              Updates.set("core", coreId),
              Updates.set("pid", pid),
              Updates.set("at", new Date())),
          new UpdateOptions().upsert(true));
    } catch (com.mongodb.MongoWriteException e) {
      // the upsert collided with the document a newer epoch wrote: it did not match our filter
      if (e.getError().getCategory() == com.mongodb.ErrorCategory.DUPLICATE_KEY) {
        throw new StaleEpochException(epoch, currentEpoch());
      }
      throw e;
    }
  }
}
