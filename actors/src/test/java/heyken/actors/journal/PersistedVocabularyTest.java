package heyken.actors.journal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.exc.ValueInstantiationException;
import heyken.actors.bot.Conversation;
import heyken.actors.feature.Feature;
import heyken.actors.feature.PipelineRun;
import heyken.actors.feature.RunStatus;
import java.time.Instant;
import java.util.Optional;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.serialization.jackson.JacksonObjectMapperProvider;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The typed vocabulary of the journal (run status, the conversation's answer kinds and decisions) writes exactly the
 * text the string fields wrote, and a name this version does not know either fails with that name (run status: it
 * decides the feature's state) or reads as the documented OTHER (the conversation's kinds and outcomes: only logged).
 */
class PersistedVocabularyTest {

  // the mappers of the persistence plugin's serializer, configured as in application.conf
  private static ActorTestKit testKit;
  private static ObjectMapper JSON;
  private static ObjectMapper CBOR;
  private static final Instant AT = Instant.parse("2026-12-06T20:00:00Z");

  @BeforeAll
  static void start() {
    testKit = ActorTestKit.create("vocabulary-test");
    var mappers = JacksonObjectMapperProvider.get(testKit.system());
    JSON = mappers.getOrCreate("jackson-json", Optional.empty());
    CBOR = mappers.getOrCreate("jackson-cbor", Optional.empty());
  }

  @AfterAll
  static void stop() {
    testKit.shutdownTestKit();
  }

  @Test
  void runStatusIsPersistedAsTheLowerCaseNameItAlwaysHad() throws Exception {
    for (var status : RunStatus.values()) {
      assertEquals("\"" + status.name().toLowerCase() + "\"", JSON.writeValueAsString(status));
    }
    String json = JSON.writeValueAsString(new PipelineRun.RunFinished(RunStatus.ERROR, "no job", AT));
    assertEquals("{\"status\":\"error\",\"detail\":\"no job\",\"at\":\"2026-12-06T20:00:00Z\"}", json);
    var event = new Feature.TestRunFinished("r1", "abc", RunStatus.PASSED, "1 of 1", AT);
    assertEquals(event, CBOR.readValue(CBOR.writeValueAsBytes(event), Feature.TestRunFinished.class));
  }

  @Test
  void anUnknownRunStatusFailsTheRecoveryWithItsName() {
    String json = "{\"runId\":\"r1\",\"revision\":\"abc\",\"status\":\"flaky\",\"detail\":null,"
        + "\"at\":\"2026-12-06T20:00:00Z\"}";
    var failure = assertThrows(ValueInstantiationException.class,
        () -> JSON.readValue(json, Feature.TestRunFinished.class));
    assertTrue(failure.getMessage().contains("unknown run status 'flaky'"), failure.getMessage());
  }

  @Test
  void conversationKindsAndDecisionsKeepTheirPersistedNames() throws Exception {
    var answered = new Conversation.MessageAnswered("m1", "u1", "alice", "!status", "ok",
        Conversation.AnswerKind.LLM, AT);
    assertTrue(JSON.writeValueAsString(answered).contains("\"kind\":\"llm\""));
    var decided = new Conversation.ActionDecided("t", "u1", "deploy", Conversation.Decision.EXPIRED, "late", AT);
    assertTrue(JSON.writeValueAsString(decided).contains("\"outcome\":\"expired\""));
    assertEquals(decided, CBOR.readValue(CBOR.writeValueAsBytes(decided), Conversation.ActionDecided.class));
    for (var kind : Conversation.AnswerKind.values()) {
      assertEquals(kind, Conversation.AnswerKind.of(kind.json()));
    }
  }

  @Test
  void anUnknownConversationKindOrOutcomeReadsAsOther() throws Exception {
    var answered = JSON.readValue("{\"messageId\":\"m\",\"kind\":\"question\",\"at\":\"2026-12-06T20:00:00Z\"}",
        Conversation.MessageAnswered.class);
    assertEquals(Conversation.AnswerKind.OTHER, answered.kind());
    var decided = JSON.readValue("{\"token\":\"t\",\"outcome\":\"confirmed\"}", Conversation.ActionDecided.class);
    assertEquals(Conversation.Decision.OTHER, decided.outcome());
  }

  @Test
  void featureStatusIsServedAsTheLowerCaseName() {
    assertEquals("deployed", Feature.Status.DEPLOYED.json());
    assertEquals("draft", Feature.Status.DRAFT.json());
  }
}
