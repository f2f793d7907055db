package heyken.actors.bot;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.annotation.JsonSubTypes;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * What the compiler cannot check about a new chat command: it has a persisted name (a command waiting for its yes/no
 * is in the conversation's journal), and the one handler answers it. The compiler checks that every command has its
 * {@link BotCommand.Handler} method.
 */
class BotCommandRegistrationTest {

  @Test
  void everyCommandHasItsPersistedName() {
    Set<Class<?>> commands = Set.of(BotCommand.class.getPermittedSubclasses());
    Set<Class<?>> named = Arrays.stream(BotCommand.class.getAnnotation(JsonSubTypes.class).value())
        .map(JsonSubTypes.Type::value).collect(Collectors.toSet());
    assertEquals(commands, named, "add the command to @JsonSubTypes of BotCommand (docs/architecture.md)");
  }

  @Test
  void everyRegisteredCommandHasItsGrammarInTheHelpAndTheParser() {
    int typed = BotCommand.class.getPermittedSubclasses().length - 2; // all but Question and Malformed
    assertEquals(typed, BotCommand.grammars().size(), "every command but Question and Malformed has a GRAMMAR");
    assertEquals(15, BotCommand.registry().size(), "one help line per syntax (service has two)");
    assertEquals(new BotCommand.WhoAmI(), BotCommand.parse("whoami", null));
    org.junit.jupiter.api.Assertions.assertTrue(BotCommand.help().startsWith("Commands:\n  help — this list\n"),
        BotCommand.help());
  }

  @Test
  void everyCommandSurvivesTheJournal() throws Exception {
    var json = new ObjectMapper();
    for (BotCommand command : List.of(new BotCommand.Deploy("3"), new BotCommand.Logs(20, "WARN"),
        new BotCommand.ServiceChange("add", "web", "sandbox/busybox:1", List.of("httpd")),
        new BotCommand.SelfUpgrade("main"), new BotCommand.Switch(2))) {
      String written = json.writeValueAsString(command);
      assertEquals(command, json.readValue(written, BotCommand.class), written);
    }
    assertEquals("{\"type\":\"deploy\",\"featureId\":\"3\"}", json.writeValueAsString(new BotCommand.Deploy("3")));
  }

  @Test
  void aCommandReachesItsOwnBranch() {
    var names = new BotCommand.Handler<String>() {
      public String help(BotCommand.Help c) { return "help"; }
      public String status(BotCommand.Status c) { return "status"; }
      public String logs(BotCommand.Logs c) { return "logs"; }
      public String features(BotCommand.Features c) { return "features"; }
      public String featureCreate(BotCommand.FeatureCreate c) { return "feature create"; }
      public String featureTest(BotCommand.FeatureTest c) { return "feature test"; }
      public String deploy(BotCommand.Deploy c) { return "deploy " + c.featureId(); }
      public String rollback(BotCommand.Rollback c) { return "rollback " + c.featureId(); }
      public String switchCore(BotCommand.Switch c) { return "switch " + c.core(); }
      public String selfUpgrade(BotCommand.SelfUpgrade c) { return "upgrade"; }
      public String services(BotCommand.Services c) { return "services"; }
      public String serviceChange(BotCommand.ServiceChange c) { return "service " + c.verb(); }
      public String whoAmI(BotCommand.WhoAmI c) { return "whoami"; }
      public String invoke(BotCommand.Invoke c) { return "!" + c.command(); }
      public String question(BotCommand.Question c) { return "question"; }
      public String malformed(BotCommand.Malformed c) { return "malformed"; }
    };
    assertEquals("deploy 3", BotCommand.parse("deploy 3", "heyken_bot").accept(names));
    assertEquals("rollback 4", BotCommand.parse("@heyken_bot rollback 4", "heyken_bot").accept(names));
    assertEquals("switch 2", BotCommand.parse("switch 2", null).accept(names));
    assertEquals("service stop", BotCommand.parse("service stop web", null).accept(names));
    assertEquals("!weather", BotCommand.parse("!weather Paris", null).accept(names));
    assertEquals("question", BotCommand.parse("what is heyken?", null).accept(names));
    assertEquals("malformed", BotCommand.parse("deploy", null).accept(names));
  }
}
