package heyken.cores;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import heyken.testkit.HeykenProcesses;
import heyken.testkit.rocketchat.RocketChatStandIn;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** scripts/setup_rocketchat.sh (the jar's setup-rocketchat) against the Rocket.Chat stand-in, run twice. */
class SetupRocketChatIT {

  private static RocketChatStandIn rocketChat;
  private static final Path ROOT = Path.of(System.getProperty("heyken.root", "..")).toAbsolutePath();
  private static final Path JAR = HeykenProcesses.itJar().toAbsolutePath();

  @BeforeAll
  static void start() {
    rocketChat = RocketChatStandIn.builder().admin("admin", "admin-password").start();
  }

  @AfterAll
  static void stop() {
    rocketChat.close();
  }

  private record Run(int exit, String out) {}

  private static Run script(Map<String, String> env) throws IOException, InterruptedException {
    var pb = new ProcessBuilder("bash", ROOT.resolve("scripts/setup_rocketchat.sh").toString())
        .directory(ROOT.toFile()).redirectErrorStream(true);
    pb.environment().keySet().removeIf(k -> k.startsWith("ROCKETCHAT_") || k.startsWith("HEYKEN_"));
    pb.environment().put("HEYKEN_ENV_FILE", "/nonexistent/.env");
    pb.environment().put("HEYKEN_JAR", JAR.toString());
    pb.environment().put("NO_COLOR", "1");
    pb.environment().putAll(env);
    var process = pb.start();
    String out = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(process.waitFor(60, TimeUnit.SECONDS), "the script did not end: " + out);
    return new Run(process.exitValue(), out);
  }

  private static Map<String, String> accounts() {
    return Map.of("ROCKETCHAT_URL", rocketChat.url(), "ROCKETCHAT_ADMIN_USERNAME", "admin",
        "ROCKETCHAT_ADMIN_PASSWORD", "admin-password", "ROCKETCHAT_BOT_PASSWORD", "bot-password-1",
        "ROCKETCHAT_HUMAN_PASSWORD", "user-password-1");
  }

  @Test
  void theFirstRunProvisionsAndTheSecondChangesNothing() throws Exception {
    var first = script(accounts());
    assertEquals(0, first.exit(), first.out());
    assertTrue(first.out().contains("Rocket.Chat provisioned:"), first.out());
    assertTrue(first.out().contains("created: user heyken_bot"), first.out());
    assertTrue(rocketChat.room("heyken-sandbox").orElseThrow().memberUsernames().contains("user"), first.out());
    assertTrue(rocketChat.room("heyken-system").isPresent() && rocketChat.room("heyken-logs").isPresent());
    assertEquals("completed", String.valueOf(rocketChat.settingValue("Show_Setup_Wizard")).replace("\"", ""));

    int requestsBefore = rocketChat.requests().size();
    var second = script(accounts());
    assertEquals(0, second.exit(), second.out());
    assertTrue(second.out().contains("Rocket.Chat was already provisioned; nothing changed"), second.out());
    assertTrue(second.out().contains("Nothing to do: a second run changes nothing."), second.out());
    assertTrue(rocketChat.requests().subList(requestsBefore, rocketChat.requests().size()).stream()
        .noneMatch(r -> r.endpoint().endsWith(".create") || r.endpoint().endsWith(".invite")), "the second run "
        + "created or invited something");
  }

  @Test
  void withoutAServerItSaysWhatToSet() throws Exception {
    var run = script(Map.of());
    assertEquals(1, run.exit(), run.out());
    assertTrue(run.out().contains("ROCKETCHAT_URL is not set"), run.out());
  }

  @Test
  void aWrongAdminPasswordIsRefusedWithExitTwo() throws Exception {
    var env = new java.util.HashMap<>(accounts());
    env.put("ROCKETCHAT_ADMIN_PASSWORD", "wrong");
    var run = script(env);
    assertEquals(2, run.exit(), run.out());
    assertTrue(run.out().contains("setup-rocketchat: "), run.out());
  }
}
