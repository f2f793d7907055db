package heyken.actors.registry;

import heyken.protocol.api.ComponentRegistration;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.Behaviors;

/**
 * Registers this core (and the store it uses) in the Component Registry, retrying until the registry
 * accepts: right after start there may be no active core yet. Registration is idempotent.
 */
public final class SelfRegistration {

  interface Command {}

  private enum Attempt implements Command {
    INSTANCE
  }

  private record Answered(ComponentRegistration registration, ComponentRegistry.Reply reply) implements Command {}

  public static Behavior<Command> create(
      ActorRef<ComponentRegistry.Command> registry, List<ComponentRegistration> registrations, Duration retry) {
    return Behaviors.setup(context -> Behaviors.withTimers(timers -> {
      var missing = new ArrayList<>(registrations);
      timers.startTimerWithFixedDelay(Attempt.INSTANCE, Duration.ZERO, retry);
      return Behaviors.receive(Command.class)
          .onMessageEquals(Attempt.INSTANCE, () -> {
            for (var registration : missing) {
              context.ask(ComponentRegistry.Reply.class, registry,
                  retry,
                  reply -> new ComponentRegistry.Register(registration, "core self-registration", reply),
                  (reply, error) -> new Answered(registration, reply));
            }
            return Behaviors.same();
          })
          .onMessage(Answered.class, answered -> {
            if (answered.reply() != null && answered.reply().problem() == null) {
              missing.remove(answered.registration());
            }
            if (missing.isEmpty()) {
              context.getLog().info("registered {} in the Component Registry",
                  registrations.stream().map(ComponentRegistration::name).toList());
              return Behaviors.stopped();
            }
            return Behaviors.same();
          })
          .build();
    }));
  }
}
