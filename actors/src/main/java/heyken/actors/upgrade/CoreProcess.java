package heyken.actors.upgrade;

import heyken.actors.core.CoreNode;
import heyken.protocol.CborSerializable;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.receptionist.Receptionist;
import org.apache.pekko.actor.typed.receptionist.ServiceKey;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One per core, found through the receptionist: which build this JVM runs, and the restart the upgrade asks of a
 * standby core (leave the cluster, exit for the supervisor, which starts the jar named in {@code data/run/core-N.jar}).
 */
public final class CoreProcess {

  public static final ServiceKey<Command> KEY = ServiceKey.create(Command.class, "heyken-core-process");
  private static final Logger log = LoggerFactory.getLogger(CoreProcess.class);

  public interface Command extends CborSerializable {}

  public record GetVersion(ActorRef<RunningVersion> replyTo) implements Command {}

  /** Restart this core; refused (ok false) while it is the active core: the upgrade switches away first. */
  public record Restart(String upgradeId, ActorRef<Restarting> replyTo) implements Command {}

  public record RunningVersion(int coreId, BuildVersion version, String jar, long pid, long startedAtMillis,
      boolean active) implements CborSerializable {}

  public record Restarting(int coreId, boolean ok, String detail) implements CborSerializable {}

  private CoreProcess() {}

  public static Behavior<Command> create(CoreNode node) {
    return Behaviors.setup(context -> {
      context.getSystem().receptionist().tell(Receptionist.register(KEY, context.getSelf()));
      var jar = BuildVersion.runningJar();
      return Behaviors.receive(Command.class)
          .onMessage(GetVersion.class, get -> {
            get.replyTo().tell(new RunningVersion(node.coreId(), BuildVersion.current(),
                jar == null ? null : jar.toString(), node.pid(), node.startedAt().toEpochMilli(), node.isActive()));
            return Behaviors.same();
          })
          .onMessage(Restart.class, restart -> {
            if (node.isActive()) {
              restart.replyTo().tell(new Restarting(node.coreId(), false, "core " + node.coreId()
                  + " is the active core; it is restarted only as standby"));
              return Behaviors.same();
            }
            log.info("upgrade {}: core {} restarts for its supervisor (the jar is named in data/run/core-{}.jar)",
                restart.upgradeId(), node.coreId(), node.coreId());
            restart.replyTo().tell(new Restarting(node.coreId(), true, "restarting"));
            node.restartForUpgrade();
            return Behaviors.same();
          })
          .build();
    });
  }
}
