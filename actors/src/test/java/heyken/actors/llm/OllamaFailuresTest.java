package heyken.actors.llm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import heyken.actors.llm.LanguageModelException.Kind;
import io.github.ollama4j.exceptions.OllamaException;
import java.io.EOFException;
import java.net.ConnectException;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpTimeoutException;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** How failures are classified: retry only what another attempt can fix, and always say what to do. */
class OllamaFailuresTest {

  private static final String QUEUE_FULL = "server busy, please try again.  maximum pending requests exceeded";

  private final OllamaFailures failures =
      new OllamaFailures("http://ollama:11434", Duration.ofSeconds(120), Duration.ofSeconds(60));

  @Test
  void statusesMapToKinds() {
    var missing = failures.fromStatus(404, "model 'llama3' not found", "llama3");
    assertEquals(Kind.MODEL_MISSING, missing.kind());
    assertFalse(missing.isTransient());
    assertEquals("run `ollama pull llama3` on the Ollama host (Heyken never pulls by itself)", missing.action());

    for (int status : new int[] {429, 502, 503, 504}) {
      var busy = failures.fromStatus(status, QUEUE_FULL, "llama3");
      assertEquals(Kind.BUSY, busy.kind(), "status " + status);
      assertTrue(busy.isTransient());
      assertEquals(status, busy.status());
    }
    var runner = failures.fromStatus(500, "llama runner process has terminated: exit status 2", "llama3");
    assertEquals(Kind.SERVER_ERROR, runner.kind());
    assertFalse(runner.isTransient(), "the runner's own failure repeats: not retried");

    var tools = failures.fromStatus(400, "registry.ollama.ai/library/llama3:latest does not support tools", "llama3");
    assertEquals(Kind.REJECTED, tools.kind());
    assertTrue(tools.action().contains("supports it"), tools.action());
    var format = failures.fromStatus(400, "invalid format: \"x\"; expected \"json\" or a valid JSON Schema object", "m");
    assertTrue(format.action().contains("schema"), format.action());
    assertEquals(Kind.REJECTED, failures.fromStatus(404, "", "llama3").kind(), "a 404 without 'not found' is a wrong URL");
  }

  @Test
  void ollama4jExceptionsMapToKindsAsOllamaMdDocumentsThem() {
    // 503/429/502: ollama4j keeps no message (chat wraps its own exception again)
    var busy = failures.fromOllama4j(new OllamaException("", new OllamaException("")), "llama3");
    assertEquals(Kind.BUSY, busy.kind());

    var refused = failures.fromOllama4j(new OllamaException(null, new ConnectException()), "llama3");
    assertEquals(Kind.UNREACHABLE, refused.kind());
    assertTrue(refused.getMessage().contains("connection refused"), refused.getMessage());
    assertTrue(refused.action().startsWith("start Ollama"), refused.action());

    var slow = failures.fromOllama4j(
        new OllamaException("request timed out", new HttpTimeoutException("request timed out")), "llama3");
    assertEquals(Kind.TIMEOUT, slow.kind());
    assertTrue(slow.getMessage().contains("within 2m"), slow.getMessage());

    var noConnection = failures.fromOllama4j(
        new OllamaException("timed out", new HttpConnectTimeoutException("HTTP connect timed out")), "llama3");
    assertEquals(Kind.UNREACHABLE, noConnection.kind());

    var missing = failures.fromOllama4j(
        new OllamaException("model 'nope' not found", new OllamaException("model 'nope' not found")), "nope");
    assertEquals(Kind.MODEL_MISSING, missing.kind());
    assertTrue(missing.action().contains("ollama pull nope"));

    assertEquals(Kind.SERVER_ERROR,
        failures.fromOllama4j(new OllamaException("an error was encountered while running the model"), "m").kind());
    assertEquals(Kind.REJECTED, failures.fromOllama4j(new OllamaException("invalid options"), "m").kind());
    assertEquals(Kind.CONNECTION_LOST,
        failures.fromOllama4j(new OllamaException(null, new EOFException("EOF reached while reading")), "m").kind());
  }

  @Test
  void ioFailuresOfTheStreamingClient() {
    assertEquals(Kind.UNREACHABLE, failures.fromIo(new ConnectException()).kind());
    assertEquals(Kind.UNREACHABLE, failures.fromIo(new HttpConnectTimeoutException("connect timed out")).kind());
    assertEquals(Kind.TIMEOUT, failures.fromIo(new HttpTimeoutException("request timed out")).kind());
    assertEquals(Kind.CONNECTION_LOST, failures.fromIo(new EOFException("EOF reached while reading")).kind());
  }

  @Test
  void streamFailuresSayWhatHappened() {
    var midStream = failures.streamError("an error was encountered while running the model", "llama3");
    assertEquals(Kind.STREAM_FAILED, midStream.kind());
    assertTrue(midStream.isTransient());
    assertTrue(midStream.getMessage().contains("an error was encountered while running the model"));
    assertEquals(Kind.TIMEOUT, failures.stalled("llama3").kind());
    assertTrue(failures.stalled("llama3").getMessage().contains("nothing for 1m"));
    assertEquals(Kind.CONNECTION_LOST, failures.unfinished("llama3").kind());
  }

  @Test
  void attemptsAndPartialTextAreKept() {
    var failure = failures.streamError("boom", "llama3").after(3, "a b ");
    assertEquals(3, failure.attempts());
    assertEquals("a b ", failure.partialText());
    assertTrue(failure.getMessage().contains("(after 3 attempts)"), failure.getMessage());
  }

  @Test
  void durationsReadAsInTheConfiguration() {
    assertEquals("300ms", OllamaFailures.human(Duration.ofMillis(300)));
    assertEquals("1s", OllamaFailures.human(Duration.ofSeconds(1)));
    assertEquals("1.5s", OllamaFailures.human(Duration.ofMillis(1500)));
    assertEquals("90s", OllamaFailures.human(Duration.ofSeconds(90)));
    assertEquals("2m", OllamaFailures.human(Duration.ofSeconds(120)));
  }
}
