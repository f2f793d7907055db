package heyken.actors.llm;

import heyken.testkit.ollama.OllamaStandIn;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;

/** The {@link LanguageModelContract} against the Ollama stand-in: every rule, scripted answers and faults included. */
class OllamaModelStandInTest extends LanguageModelContract {

  private OllamaStandIn ollama;

  @BeforeEach
  void startStandIn() {
    ollama = OllamaStandIn.start();
  }

  @AfterEach
  void stopStandIn() {
    ollama.close();
  }

  @Override
  protected String url() {
    return ollama.url();
  }

  @Override
  protected String installedModel() {
    return "llama3";
  }

  @Override
  protected Optional<OllamaStandIn> standIn() {
    return Optional.of(ollama);
  }

  @Override
  protected Map<String, Object> serverSettings() {
    return Map.of(
        "heyken.llm.request-timeout", "5s",
        "heyken.llm.connect-timeout", "1s",
        "heyken.llm.stream-idle-timeout", "5s");
  }
}
