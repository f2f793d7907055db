package heyken.actors.llm;

import heyken.testkit.ollama.OllamaStandIn;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.condition.EnabledIfEnvironmentVariable;

/**
 * The {@link LanguageModelContract} against a real Ollama: runs only when {@code OLLAMA_URL} is set (model from
 * {@code OLLAMA_MODEL}, default llama3, which must be pulled). Rules that need scripted answers or faults skip.
 */
@EnabledIfEnvironmentVariable(named = "OLLAMA_URL", matches = ".+")
class OllamaModelRealServerTest extends LanguageModelContract {

  @Override
  protected String url() {
    return System.getenv("OLLAMA_URL");
  }

  @Override
  protected String installedModel() {
    String model = System.getenv("OLLAMA_MODEL");
    return model == null || model.isBlank() ? LlmSettings.DEFAULT_MODEL : model;
  }

  @Override
  protected Optional<OllamaStandIn> standIn() {
    return Optional.empty();
  }

  @Override
  protected Map<String, Object> serverSettings() {
    // a cold load of an 8B model on CPU takes minutes
    return Map.of(
        "heyken.llm.request-timeout", "300s",
        "heyken.llm.connect-timeout", "3s",
        "heyken.llm.stream-idle-timeout", "120s");
  }
}
