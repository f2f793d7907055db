package heyken.actors.llm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import heyken.actors.llm.LanguageModel.Purpose;
import java.io.File;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class LlmSettingsTest {

  @Test
  void everyKeyHasADefault() {
    LlmSettings settings = LlmSettings.from(ConfigFactory.empty());
    assertEquals("http://localhost:11434", settings.url());
    assertEquals("llama3", settings.model());
    assertEquals("llama3", settings.codeModel());
    assertEquals(8192, settings.numCtx());
    assertEquals(1024, settings.replyReserve());
    assertEquals(Duration.ofSeconds(120), settings.requestTimeout());
    assertEquals(Duration.ofSeconds(3), settings.connectTimeout());
    assertEquals(Duration.ofSeconds(60), settings.streamIdleTimeout());
    assertEquals(2, settings.maxConcurrent());
    assertEquals(32, settings.maxWaiting());
    assertEquals(2, settings.retries());
    assertEquals(Duration.ofSeconds(1), settings.retryBackoff());
    assertEquals("10m", settings.keepAlive());
    assertTrue(settings.configured());
  }

  @Test
  void readsTheSharedOllamaUrlAndTheLlmBlock() {
    LlmSettings settings = LlmSettings.from(ConfigFactory.parseString("""
        heyken.components.ollama-url = "http://ollama:11434/"
        heyken.llm {
          model = "qwen2.5:7b"
          code-model = "qwen2.5-coder:7b"
          num-ctx = 16384
          reply-reserve = 2048
          request-timeout = 10m
          connect-timeout = 1s
          stream-idle-timeout = 30s
          max-concurrent = 1
          max-waiting = 5
          retries = 0
          retry-backoff = 250ms
          keep-alive = "-1"
        }
        """));
    assertEquals("http://ollama:11434", settings.url(), "a trailing slash is dropped");
    assertEquals("qwen2.5:7b", settings.modelFor(Purpose.CONVERSATION));
    assertEquals("qwen2.5-coder:7b", settings.modelFor(Purpose.CODE));
    assertEquals(16384, settings.numCtx());
    assertEquals(2048, settings.replyReserve());
    assertEquals(Duration.ofMinutes(10), settings.requestTimeout());
    assertEquals(Duration.ofSeconds(1), settings.connectTimeout());
    assertEquals(Duration.ofSeconds(30), settings.streamIdleTimeout());
    assertEquals(1, settings.maxConcurrent());
    assertEquals(5, settings.maxWaiting());
    assertEquals(0, settings.retries());
    assertEquals(Duration.ofMillis(250), settings.retryBackoff());
    assertEquals("-1", settings.keepAlive());
  }

  @Test
  void anEmptyCodeModelMeansTheConversationModel() {
    LlmSettings settings = LlmSettings.from(ConfigFactory.parseString(
        "heyken.llm.model = mistral\nheyken.llm.code-model = \"\""));
    assertEquals("mistral", settings.codeModel());
  }

  @Test
  void anEmptyUrlSwitchesTheModelOff() {
    LlmSettings settings = LlmSettings.from(ConfigFactory.parseString("heyken.components.ollama-url = \"\""));
    assertFalse(settings.configured());
    var model = new OllamaModel(settings);
    try {
      var availability = model.availability();
      assertEquals(LanguageModel.Availability.State.NOT_CONFIGURED, availability.state());
      assertTrue(availability.action().contains("OLLAMA_URL"), availability.action());
      var failure = assertThrows(LanguageModelException.class,
          () -> model.chat(LanguageModel.ChatRequest.of(LanguageModel.Message.user("hi"))));
      assertEquals(LanguageModelException.Kind.NOT_CONFIGURED, failure.kind());
    } finally {
      model.close();
    }
  }

  @Test
  void wrongValuesNameTheirKey() {
    var zero = assertThrows(IllegalArgumentException.class,
        () -> LlmSettings.from(ConfigFactory.parseString("heyken.llm.max-concurrent = 0")));
    assertTrue(zero.getMessage().contains("heyken.llm.max-concurrent"), zero.getMessage());
    var url = assertThrows(IllegalArgumentException.class,
        () -> LlmSettings.from(ConfigFactory.parseString("heyken.components.ollama-url = \"localhost:11434\"")));
    assertTrue(url.getMessage().contains("OLLAMA_URL"), url.getMessage());
    var reserve = assertThrows(IllegalArgumentException.class,
        () -> LlmSettings.from(ConfigFactory.parseString("heyken.llm.num-ctx = 2048\nheyken.llm.reply-reserve = 4096")));
    assertTrue(reserve.getMessage().contains("heyken.llm.reply-reserve"), reserve.getMessage());
  }

  @Test
  void theInstallationsApplicationConfIsReadable() {
    File conf = new File("../application.conf");
    if (!conf.isFile()) {
      return; // run outside the reactor checkout
    }
    var config = ConfigFactory.parseFile(conf).withFallback(ConfigFactory.defaultReference()).resolve();
    LlmSettings settings = LlmSettings.from(config);
    assertFalse(settings.model().isBlank());
    assertEquals(config.getString("heyken.components.ollama-url").trim().replaceAll("/+$", ""), settings.url());
  }
}
