package heyken.actors.bot;

import static org.junit.jupiter.api.Assertions.assertEquals;

import heyken.actors.core.DeploymentLedger;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/**
 * {@code !command} in chat goes through the bot's handler to the deployments (a handler that called itself for
 * Invoke overflowed the stack and took the whole core down with the first {@code !weather}).
 */
class SystemBotActionsInvokeTest {

  private static final ActorTestKit kit = ActorTestKit.create();

  @AfterAll
  static void stop() {
    kit.shutdownTestKit();
  }

  @Test
  void aCommandNoFeatureAnswersToIsAnsweredWithTheDeployedCommands() throws Exception {
    var deployments = kit.spawn(Behaviors.<DeploymentLedger.Command>receiveMessage(m -> {
      if (m instanceof DeploymentLedger.GetDeployments get) {
        get.replyTo().tell(new DeploymentLedger.Deployments(Map.of()));
      }
      return Behaviors.same();
    }));
    var actions = new SystemBotActions(kit.system(), null, null, null, null, deployments, null, null, null, "none",
        Runnable::run);
    String answer = actions.execute(new BotCommand.Invoke("weather", "Paris"),
        new BotActions.Speaker("u1", "ada", false)).toCompletableFuture().get(10, TimeUnit.SECONDS);
    assertEquals("No deployed feature answers to !weather. The commands: none yet", answer);
  }
}
