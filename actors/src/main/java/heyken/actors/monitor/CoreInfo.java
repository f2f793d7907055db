package heyken.actors.monitor;

import heyken.actors.cluster.LeaseRenewals;
import heyken.actors.core.CoreNode;
import heyken.actors.logs.LogBuffer;
import heyken.protocol.CborSerializable;
import heyken.protocol.api.SystemStatus;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.receptionist.Receptionist;
import org.apache.pekko.actor.typed.receptionist.ServiceKey;
import org.apache.pekko.cluster.typed.Cluster;

/** One per core, found through the receptionist: answers what only the core itself knows (pid, uptime). */
public final class CoreInfo {

  public static final ServiceKey<Command> KEY = ServiceKey.create(Command.class, "heyken-core-info");

  public interface Command extends CborSerializable {}

  public record GetInfo(ActorRef<Info> replyTo) implements Command {}

  public record Info(
      int coreId, String address, long pid, long startedAtMillis, long activeEpoch,
      long fencedWritesRefused, long logLinesDropped, long logLinesWritten, long logLinesBuffered,
      SystemStatus.LeaseStatus lease)
      implements CborSerializable {}

  public static Behavior<Command> create(CoreNode node) {
    return Behaviors.setup(context -> {
      context.getSystem().receptionist().tell(Receptionist.register(KEY, context.getSelf()));
      String address = Cluster.get(context.getSystem()).selfMember().address().toString();
      return Behaviors.receive(Command.class)
          .onMessage(GetInfo.class, get -> {
            get.replyTo().tell(new Info(node.coreId(), address, node.pid(), node.startedAt().toEpochMilli(),
                node.activeEpoch(), node.fencedWritesRefused(), LogBuffer.get().dropped(),
                LogBuffer.get().written(), LogBuffer.get().buffered(), LeaseRenewals.get().snapshot()));
            return Behaviors.same();
          })
          .build();
    });
  }
}
