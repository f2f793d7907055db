package heyken.cores;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import heyken.testkit.HeykenProcesses;
import heyken.testkit.rocketchat.RocketChatStandIn;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * heyken_bot in Rocket.Chat (the protocol stand-in) with two real core JVMs: the gateway provisions the server, a DM
 * gets one answer, and DMs written while no core listened (the active core killed with -9) get exactly one answer
 * each from the new active core.
 */
class ChatGatewayIT {

  private static RocketChatStandIn rocketChat;
  private static HeykenProcesses heyken;

  @BeforeAll
  static void start() throws Exception {
    rocketChat = RocketChatStandIn.start();
    Path jar = HeykenProcesses.itJar();
    heyken = new HeykenProcesses(jar, Files.createTempDirectory("heyken-chat-"))
        .withRocketChat(rocketChat.url());
    heyken.startBothCores("both cores up", Duration.ofSeconds(90));
    HeykenProcesses.await("provisioning to create the human user", Duration.ofSeconds(60),
        () -> rocketChat.user("user").isPresent() && rocketChat.myMessagesSubscribers("heyken_bot") > 0);
  }

  @AfterAll
  static void stop() {
    HeykenProcesses.closeAll(heyken, rocketChat);
  }

  private static List<RocketChatStandIn.Posted> botPostsIn(String roomId) {
    return rocketChat.postedBy("heyken_bot").stream().filter(p -> p.roomId().equals(roomId)).toList();
  }

  @Test
  void everyDirectMessageGetsExactlyOneAnswerAcrossACrashOfTheActiveCore() throws Exception {
    rocketChat.directMessage("user", "heyken_bot", "help");
    String[] room = new String[1];
    HeykenProcesses.await("the answer to help", Duration.ofSeconds(30), () -> {
      var answers = rocketChat.postedBy("heyken_bot").stream()
          .filter(p -> p.text() != null && p.text().startsWith("Commands:")).toList();
      if (answers.isEmpty()) {
        return false;
      }
      room[0] = answers.get(0).roomId();
      return true;
    });

    int active = heyken.status().get("active_core").asInt();
    heyken.kill9(active);
    // written while no core listens (the killed one was listening; the other has not taken over yet)
    rocketChat.directMessage("user", "heyken_bot", "whoami");
    rocketChat.directMessage("user", "heyken_bot", "features");
    rocketChat.directMessage("user", "heyken_bot", "status");

    HeykenProcesses.await("three more answers from the new active core", Duration.ofSeconds(90),
        () -> botPostsIn(room[0]).size() >= 4);
    // and no more: each message was answered once (the quiet period is the check, not synchronization)
    long quietUntil = System.nanoTime() + Duration.ofSeconds(4).toNanos();
    while (System.nanoTime() < quietUntil) {
      Thread.sleep(200);
    }
    var posts = botPostsIn(room[0]);
    assertEquals(4, posts.size(), "answers: " + posts);
    assertTrue(posts.stream().anyMatch(p -> p.text().startsWith("You are user")), posts.toString());
    assertTrue(posts.stream().anyMatch(p -> p.text().startsWith("No features yet")), posts.toString());
    assertTrue(posts.stream().anyMatch(p -> p.text().contains(" is active (epoch")), posts.toString());
    int now = heyken.status().get("active_core").asInt();
    assertTrue(now != active);
    // each activation is announced in heyken-system, the failover with its reason
    HeykenProcesses.await("the failover announced in heyken-system", Duration.ofSeconds(30), () ->
        rocketChat.postedBy("heyken_bot").stream().anyMatch(p -> "heyken-system".equals(p.roomName())
            && p.text().startsWith("Core " + now + " is active (epoch") && p.text().contains("failover")));
  }
}
