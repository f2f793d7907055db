package heyken.actors.llm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.TextNode;
import heyken.actors.llm.LanguageModel.ChatRequest;
import heyken.actors.llm.LanguageModel.DoneReason;
import heyken.actors.llm.LanguageModel.Message;
import heyken.actors.llm.LanguageModel.Reply;
import heyken.actors.llm.LanguageModel.Usage;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

class LanguageModelTypesTest {

  private static Reply reply(String text, DoneReason reason) {
    return new Reply(text, "llama3", reason, new Usage(26, 12, Duration.ofSeconds(2), Duration.ZERO,
        Duration.ofMillis(500)), 1);
  }

  @Test
  void aRequestNeedsMessagesAndAValidFormat() {
    assertThrows(IllegalArgumentException.class, () -> ChatRequest.of(List.of()));
    assertThrows(IllegalArgumentException.class,
        () -> ChatRequest.of(Message.user("hi")).withSchema(TextNode.valueOf("xml")));
    assertEquals("json", ChatRequest.of(Message.user("hi")).withJsonFormat().format().asText());
  }

  @Test
  void doneReasonsReadFromTheWire() {
    assertEquals(DoneReason.STOP, DoneReason.fromWire("stop"));
    assertEquals(DoneReason.LENGTH, DoneReason.fromWire("length"));
    assertEquals(DoneReason.LOAD, DoneReason.fromWire("load"));
    assertEquals(DoneReason.UNKNOWN, DoneReason.fromWire(null));
    assertEquals(DoneReason.UNKNOWN, DoneReason.fromWire("something-new"));
  }

  @Test
  void tokensPerSecondComeFromTheEvalDuration() {
    assertEquals(24.0, reply("x", DoneReason.STOP).usage().tokensPerSecond(), 1e-9);
    assertEquals(0.0, Usage.NONE.tokensPerSecond());
  }

  @Test
  void jsonRepliesParseAndBrokenOnesSayWhy() {
    assertEquals("Paris", reply("{\"city\":\"Paris\"}", DoneReason.STOP).json().path("city").asText());

    var cut = assertThrows(LanguageModelException.class, () -> reply("{\"city\":", DoneReason.LENGTH).json());
    assertEquals(LanguageModelException.Kind.INVALID_OUTPUT, cut.kind());
    assertTrue(cut.getMessage().contains("cut off"), cut.getMessage());

    var prose = assertThrows(LanguageModelException.class, () -> reply("Sure! Here it is", DoneReason.STOP).json());
    assertTrue(prose.getMessage().contains("not JSON"), prose.getMessage());
    assertThrows(LanguageModelException.class, () -> reply("", DoneReason.STOP).json());
  }
}
