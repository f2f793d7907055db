package heyken.actors.bot;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** The chat command syntax, and that help lists every command the parser knows. */
class BotCommandTest {

  private static BotCommand parse(String text) {
    return BotCommand.parse(text, "heyken_bot");
  }

  @Test
  void everyCommandOfTheIssueIsRecognised() {
    assertInstanceOf(BotCommand.Help.class, parse("help"));
    assertInstanceOf(BotCommand.Status.class, parse("  Status "));
    assertEquals(new BotCommand.Logs(10, null), parse("logs"));
    assertEquals(new BotCommand.Logs(20, "WARN"), parse("logs 20 warning"));
    assertEquals(new BotCommand.Logs(50, "ERROR"), parse("logs 9999 error"));
    assertInstanceOf(BotCommand.Features.class, parse("features"));
    assertEquals(new BotCommand.FeatureCreate("weather", "returns the temperature for a city"),
        parse("feature create weather: returns the temperature for a city"));
    assertEquals(new BotCommand.FeatureTest("3"), parse("feature test 3"));
    assertEquals(new BotCommand.Deploy("3"), parse("deploy 3"));
    assertEquals(new BotCommand.Rollback("12"), parse("rollback 12"));
    assertEquals(new BotCommand.Switch(2), parse("switch 2"));
    assertInstanceOf(BotCommand.Services.class, parse("services"));
    assertInstanceOf(BotCommand.WhoAmI.class, parse("whoami"));
    assertEquals(new BotCommand.Invoke("weather", "Paris"), parse("!weather Paris"));
    assertEquals(new BotCommand.Invoke("hello", ""), parse("!hello"));
  }

  @Test
  void aMentionInFrontIsNotPartOfTheCommand() {
    assertEquals(new BotCommand.Deploy("3"), parse("@heyken_bot deploy 3"));
    assertEquals(new BotCommand.Deploy("3"), parse("@heyken_bot: deploy 3"));
  }

  @Test
  void onlyAdminCommandsNeedAnAdmin() {
    assertTrue(parse("deploy 3").adminOnly());
    assertTrue(parse("rollback 3").adminOnly());
    assertTrue(parse("switch 1").adminOnly());
    assertEquals(false, parse("feature test 3").adminOnly());
    assertEquals(false, parse("!weather x").adminOnly());
  }

  @Test
  void wrongArgumentsSayHowToWriteTheCommand() {
    for (String text : new String[] {"deploy", "deploy abc", "deploy ../3", "switch 3", "feature test x",
        "feature create nameonly", "logs many", "!Bad;cmd"}) {
      var parsed = parse(text);
      assertInstanceOf(BotCommand.Malformed.class, parsed, text);
    }
  }

  @Test
  void anythingElseIsAQuestion() {
    assertEquals(new BotCommand.Question("why is core 2 standby?"), parse("why is core 2 standby?"));
    assertEquals(new BotCommand.Question("deploy the weather feature please now"),
        parse("deploy the weather feature please now"));
    assertInstanceOf(BotCommand.Question.class, parse("help me understand the logs"));
  }

  @Test
  void helpListsEveryCommandOfTheRegistry() {
    for (var syntax : BotCommand.registry()) {
      assertTrue(BotCommand.help().contains(syntax.usage()), syntax.usage());
    }
  }

  @Test
  void serviceCommandsAreAdminOnlyAndKeepTheCaseOfImageAndCommand() {
    var add = parse("service add web sandbox/busybox:1 httpd -f -p 8080 -h /Www");
    assertEquals(new BotCommand.ServiceChange("add", "web", "sandbox/busybox:1",
        java.util.List.of("httpd", "-f", "-p", "8080", "-h", "/Www")), add);
    assertTrue(add.adminOnly());
    assertEquals("service add", add.action());
    assertEquals(new BotCommand.ServiceChange("stop", "web", null, java.util.List.of()), parse("service stop web"));
    assertEquals(new BotCommand.ServiceChange("start", "web", null, java.util.List.of()), parse("Service start web"));
    assertEquals(new BotCommand.ServiceChange("remove", "web", null, java.util.List.of()), parse("service remove web"));
    assertTrue(parse("service remove web").adminOnly());
    for (String bad : java.util.List.of("service", "service add", "service add web", "service stop", "service stop Web_1",
        "service add -x sandbox/busybox:1")) {
      assertInstanceOf(BotCommand.Malformed.class, parse(bad), bad);
    }
    assertInstanceOf(BotCommand.Services.class, parse("services"));
    assertTrue(BotCommand.help().contains("service add <name> <image>"));
  }
}
