package heyken.actors.registry;

import heyken.protocol.api.ComponentRegistration;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.Behaviors;

/**
 * Registers this core (and the store it uses) in the Component Registry, retrying until the registry
 * accepts: right after start there may be no active core yet. Registration is idempotent.
 *
 * <p>One ask per registration is in flight at a time, with a deadline well beyond the retry interval: the singleton
 * proxy holds messages until the registry runs, and an ask that gave up before its answer came made that answer a
 * dead letter (logged at every cold start).
 */
public final class SelfRegistration {

  private static final int ASK_RETRIES = 10;

  interface Command {}

  private enum Attempt implements Command {
    INSTANCE
  }

  private record Answered(ComponentRegistration registration, ComponentRegistry.Reply reply) implements Command {}

  public static Behavior<Command> create(
      ActorRef<ComponentRegistry.Command> registry, List<ComponentRegistration> registrations, Duration retry) {
    return Behaviors.setup(context -> Behaviors.withTimers(timers -> {
      var missing = new ArrayList<>(registrations);
      var inFlight = new HashSet<ComponentRegistration>();
      timers.startTimerWithFixedDelay(Attempt.INSTANCE, Duration.ZERO, retry);
      return Behaviors.receive(Command.class)
          .onMessageEquals(Attempt.INSTANCE, () -> {
            for (var registration : missing) {
              if (!inFlight.add(registration)) {
                continue;
              }
              context.ask(ComponentRegistry.Reply.class, registry,
                  retry.multipliedBy(ASK_RETRIES),
                  reply -> new ComponentRegistry.Register(registration, "core self-registration", reply),
                  (reply, error) -> new Answered(registration, reply));
            }
            return Behaviors.same();
          })
          .onMessage(Answered.class, answered -> {
            inFlight.remove(answered.registration());
            if (answered.reply() != null && RegistryApi.problem(answered.reply()) == null) {
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
