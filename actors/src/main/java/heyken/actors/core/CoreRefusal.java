package heyken.actors.core;

import heyken.protocol.CborSerializable;

/**
 * Why one of the core's fenced singletons (the {@link DeploymentLedger}, the {@link ServiceLedger}, the
 * {@link CoreManager}) refused a change, in its own terms: the kind and the facts the caller needs to say so. The edge
 * ({@link CoreApi#problem(CoreRefusal)}) turns it into the API's status, error and detail with the hint of what to do.
 * Only the facts of the kind are set: {@code core} is the refusing core, {@code epoch} the epoch it is (or was) active
 * under, {@code supersededBy} the newer epoch, {@code targetCore} the core asked for, {@code command} and
 * {@code owner} the chat command and the deployed feature that answers it, {@code service} and {@code image} the
 * service concerned, {@code owner} also the service that publishes a port, {@code action} the action asked for, and
 * {@code storeError} why the store could not confirm the epoch.
 */
public record CoreRefusal(Kind kind, int core, long epoch, long supersededBy, Integer targetCore, String command,
    String owner, String service, String image, String action, String storeError) implements CborSerializable {

  public enum Kind {
    /** A ledger's core stood down (superseded or stopped) and refuses writes. */
    STOOD_DOWN,
    /** The epoch fence found a newer epoch than the one the write was made under. */
    EPOCH_SUPERSEDED,
    /** The store could not confirm the epoch; nothing was changed. */
    STORE_UNAVAILABLE,
    /** A target core that is neither 1 nor 2. */
    INVALID_TARGET,
    /** A deployment asked of a core that is not the active one. */
    TARGET_NOT_ACTIVE,
    /** Another deployed feature answers the chat command already. */
    COMMAND_TAKEN,
    SERVICE_EXISTS,
    PORT_IN_USE,
    UNKNOWN_SERVICE,
    INVALID_ACTION,
    /** The CoreManager is fenced: a switch cannot be planned from here. */
    SWITCH_NOT_ACTIVE,
    /** The fence found a newer epoch while a switch was checked (the CoreManager fences itself). */
    SWITCH_SUPERSEDED,
    ALREADY_ACTIVE,
    TARGET_NOT_UP
  }

  static CoreRefusal of(Kind kind, int core, long epoch) {
    return new CoreRefusal(kind, core, epoch, 0, null, null, null, null, null, null, null);
  }

  static CoreRefusal target(Kind kind, int core, long epoch, int targetCore) {
    return new CoreRefusal(kind, core, epoch, 0, targetCore, null, null, null, null, null, null);
  }

  static CoreRefusal superseded(Kind kind, int core, long epoch, long supersededBy) {
    return new CoreRefusal(kind, core, epoch, supersededBy, null, null, null, null, null, null, null);
  }

  static CoreRefusal commandTaken(int core, long epoch, String command, String owner) {
    return new CoreRefusal(Kind.COMMAND_TAKEN, core, epoch, 0, null, command, owner, null, null, null, null);
  }

  static CoreRefusal service(Kind kind, String service, String image, String owner, String action) {
    return new CoreRefusal(kind, 0, 0, 0, null, null, owner, service, image, action, null);
  }

  static CoreRefusal storeUnavailable(long epoch, String storeError) {
    return new CoreRefusal(Kind.STORE_UNAVAILABLE, 0, epoch, 0, null, null, null, null, null, null, storeError);
  }
}
