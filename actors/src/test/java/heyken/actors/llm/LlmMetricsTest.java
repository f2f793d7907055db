package heyken.actors.llm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.typesafe.config.ConfigFactory;
import heyken.actors.metrics.Metrics;
import heyken.testkit.ollama.OllamaStandIn;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Language-model calls show up in GET /metrics: counted by outcome, timed. */
class LlmMetricsTest {

  private static long sum(String outcome) {
    return Metrics.REGISTRY.render().lines()
        .filter(l -> l.startsWith("heyken_llm_calls_total{") && l.contains("outcome=\"" + outcome + "\""))
        .mapToLong(l -> Long.parseLong(l.substring(l.lastIndexOf(' ') + 1))).sum();
  }

  private static long timed() {
    return Metrics.REGISTRY.render().lines().filter(l -> l.startsWith("heyken_llm_call_duration_seconds_count{"))
        .mapToLong(l -> Long.parseLong(l.substring(l.lastIndexOf(' ') + 1))).sum();
  }

  @Test
  void everyCallIsCountedWithItsOutcomeAndTimed() {
    var ollama = OllamaStandIn.start();
    var model = new OllamaModel(LlmSettings.from(ConfigFactory.parseMap(Map.of(
        "heyken.components.ollama-url", ollama.url(), "heyken.llm.model", "llama3",
        "heyken.llm.request-timeout", "5s", "heyken.llm.connect-timeout", "1s", "heyken.llm.stream-idle-timeout", "5s",
        "heyken.llm.retries", 0, "heyken.llm.retry-backoff", "10ms"))));
    try {
      long ok = sum("ok");
      long failed = Metrics.REGISTRY.render().lines().filter(l -> l.startsWith("heyken_llm_calls_total{")
          && !l.contains("outcome=\"ok\"")).mapToLong(l -> Long.parseLong(l.substring(l.lastIndexOf(' ') + 1))).sum();
      long timed = timed();
      model.chat(LanguageModel.ChatRequest.of(LanguageModel.Message.user("hi")));
      model.stream(LanguageModel.ChatRequest.of(LanguageModel.Message.user("hi")), (delta, soFar) -> { });
      assertEquals(ok + 2, sum("ok"));
      ollama.goDown();
      assertThrows(LanguageModelException.class,
          () -> model.chat(LanguageModel.ChatRequest.of(LanguageModel.Message.user("hi"))));
      long failedNow = Metrics.REGISTRY.render().lines().filter(l -> l.startsWith("heyken_llm_calls_total{")
          && !l.contains("outcome=\"ok\"")).mapToLong(l -> Long.parseLong(l.substring(l.lastIndexOf(' ') + 1))).sum();
      assertEquals(failed + 1, failedNow);
      assertEquals(timed + 3, timed());
    } finally {
      model.close();
      ollama.close();
    }
  }
}
