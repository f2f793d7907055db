package heyken.actors.logs.question;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

import com.typesafe.config.ConfigFactory;
import heyken.actors.llm.LlmSettings;
import heyken.actors.llm.OllamaModel;
import heyken.protocol.api.LogQuestion;
import java.time.Clock;
import java.time.Duration;
import java.time.ZoneOffset;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfEnvironmentVariable;

/**
 * The three questions translated by a real Ollama: runs only when {@code OLLAMA_URL} is set (model from
 * {@code OLLAMA_MODEL}, default llama3, which must be pulled). A failure here is a translation the model got wrong.
 */
@EnabledIfEnvironmentVariable(named = "OLLAMA_URL", matches = ".+")
class LogQuestionsRealModelTest {

  private static heyken.actors.postgres.PostgresDatabase db;
  private static ExecutorService blocking;
  private static OllamaModel model;
  private static LogQuestions questions;

  @BeforeAll
  static void start() {
    blocking = Executors.newFixedThreadPool(4);
    db = QuestionDatabase.create("realmodel", blocking);
    db.withConnection(c -> {
      LogQuestionsTest.seed(c);
      return null;
    });
    String name = System.getenv("OLLAMA_MODEL");
    model = new OllamaModel(LlmSettings.from(ConfigFactory.parseMap(Map.of(
        "heyken.components.ollama-url", System.getenv("OLLAMA_URL"),
        "heyken.llm.model", name == null || name.isBlank() ? LlmSettings.DEFAULT_MODEL : name,
        "heyken.llm.request-timeout", "300s"))));
    // a cold load of an 8B model on CPU takes minutes
    // the structured query: these questions check its fields (the model's own SQL is LogQuestionsSqlTest's)
    questions = new LogQuestions(QuestionSettings.defaults().withLlmTimeout(Duration.ofMinutes(5)).withUseSql(false),
        model, db, Clock.fixed(LogQuestionsTest.NOW, ZoneOffset.UTC));
  }

  @AfterAll
  static void stop() {
    questions.close();
    model.close();
    db.close();
    blocking.shutdownNow();
  }

  private static LogQuestion.Query translated(String question) {
    var outcome = LogQuestionsTest.ask(questions, question);
    var answer = assertInstanceOf(LogQuestions.Answered.class, outcome, () -> String.valueOf(outcome)).answer();
    assertEquals("llm", answer.source(), () -> "the rules answered: " + answer.note());
    return answer.query();
  }

  @Test
  void errorsFromSandboxInTheLastHour() {
    var q = translated("errors from sandbox in the last hour");
    assertEquals("ERROR", q.level());
    assertEquals("sandbox", q.component());
    assertEquals(LogQuestionsTest.NOW.minusSeconds(3600).toString(), q.since());
  }

  @Test
  void warningsOnCore2Today() {
    var q = translated("warnings on core 2 today");
    assertEquals("WARN", q.level());
    assertEquals(2, q.core());
    assertEquals("2026-11-25T00:00:00Z", q.since());
  }

  @Test
  void howManyErrorsPerComponentSinceYesterday() {
    var q = translated("how many errors per component since yesterday");
    assertEquals("ERROR", q.level());
    assertEquals("component", q.groupBy());
    assertEquals("2026-11-24T00:00:00Z", q.since());
  }
}
