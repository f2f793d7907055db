package heyken.actors.monitor;

import java.time.Instant;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.pekko.actor.Address;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.Props;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.ClusterEvent;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Subscribe;

/**
 * Since when each cluster member has been unreachable, as this core learned it from the cluster's reachability
 * events (a partition shows here first). Kept after the member was removed, until it is up again, so that a core
 * left alone can still say since when it lost its peer.
 */
public final class ReachabilityLog {

  private static final AtomicInteger INSTANCES = new AtomicInteger();
  private final Map<Address, Instant> unreachableSince = new ConcurrentHashMap<>();

  private ReachabilityLog() {}

  public static ReachabilityLog start(ActorSystem<?> system) {
    var log = new ReachabilityLog();
    system.systemActorOf(log.listener(), "heyken-reachability-" + INSTANCES.incrementAndGet(), Props.empty());
    return log;
  }

  /** When {@code address} became unreachable (still unreachable, or removed since), or null. */
  public Instant unreachableSince(Address address) {
    return unreachableSince.get(address);
  }

  private Behavior<ClusterEvent.ClusterDomainEvent> listener() {
    return Behaviors.setup(context -> {
      Cluster.get(context.getSystem()).subscriptions()
          .tell(Subscribe.create(context.getSelf(), ClusterEvent.ClusterDomainEvent.class));
      return Behaviors.receive(ClusterEvent.ClusterDomainEvent.class)
          .onMessage(ClusterEvent.UnreachableMember.class, e -> {
            unreachableSince.putIfAbsent(e.member().address(), Instant.now());
            return Behaviors.same();
          })
          .onMessage(ClusterEvent.ReachableMember.class, e -> {
            unreachableSince.remove(e.member().address());
            return Behaviors.same();
          })
          .onMessage(ClusterEvent.MemberUp.class, e -> {
            unreachableSince.remove(e.member().address());
            return Behaviors.same();
          })
          .onAnyMessage(e -> Behaviors.same())
          .build();
    });
  }
}
