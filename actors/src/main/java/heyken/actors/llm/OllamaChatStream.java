package heyken.actors.llm;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import heyken.actors.llm.LanguageModel.DoneReason;
import heyken.actors.llm.LanguageModel.Reply;
import heyken.actors.llm.LanguageModel.Usage;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BiConsumer;

/**
 * One streamed {@code POST /api/chat} over the JDK HttpClient, read as NDJSON line by line.
 *
 * <p>Why not ollama4j here (ollama.md §2): with 1.1.6 a mid-stream {@code {"error":…}} line becomes a
 * NullPointerException that loses the server's text; a stream that goes silent after the headers blocks its
 * thread for good (its timeout only covers the wait for headers, and {@code cancel} does not interrupt it);
 * and statuses are hidden, so 503 cannot be told from 500. Here the request timeout covers the wait for the
 * first chunk (model load + prompt), a watchdog closes the body when no chunk arrives for the idle timeout,
 * and every failure keeps its status and text.
 */
final class OllamaChatStream {

  private static final int MAX_ERROR_BODY = 64 * 1024;

  private final HttpClient http;
  private final URI chatUri;
  private final Duration requestTimeout;
  private final Duration idleTimeout;
  private final ScheduledExecutorService watchdog;
  private final OllamaFailures failures;

  OllamaChatStream(HttpClient http, URI chatUri, Duration requestTimeout, Duration idleTimeout,
      ScheduledExecutorService watchdog, OllamaFailures failures) {
    this.http = http;
    this.chatUri = chatUri;
    this.requestTimeout = requestTimeout;
    this.idleTimeout = idleTimeout;
    this.watchdog = watchdog;
    this.failures = failures;
  }

  /**
   * Sends {@code body} (a complete chat request with {@code "stream": true}) and hands every non-empty delta to
   * {@code onDelta} with the text so far. Returns the reply once the final chunk arrived.
   */
  Reply run(String model, ObjectNode body, BiConsumer<String, String> onDelta) {
    HttpRequest request = HttpRequest.newBuilder(chatUri)
        .timeout(requestTimeout)
        .header("Content-Type", "application/json")
        .header("Accept", "application/x-ndjson")
        .POST(HttpRequest.BodyPublishers.ofString(body.toString(), StandardCharsets.UTF_8))
        .build();
    HttpResponse<InputStream> response;
    try {
      response = http.send(request, HttpResponse.BodyHandlers.ofInputStream());
    } catch (IOException e) {
      throw failures.fromIo(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw OllamaFailures.interrupted();
    }
    if (response.statusCode() != 200) {
      throw failures.fromStatus(response.statusCode(), errorText(response.body()), model);
    }
    return read(model, response.body(), onDelta);
  }

  private Reply read(String model, InputStream body, BiConsumer<String, String> onDelta) {
    var text = new StringBuilder();
    var stalled = new AtomicBoolean();
    var silence = new Silence(body, stalled);
    JsonNode done = null;
    try (body; var lines = new BufferedReader(new InputStreamReader(body, StandardCharsets.UTF_8))) {
      silence.restart();
      String line;
      while ((line = lines.readLine()) != null) {
        silence.restart();
        if (line.isBlank()) {
          continue; // Ollama never sends blank lines, but one must not end the answer
        }
        JsonNode chunk = parse(line);
        if (chunk.hasNonNull("error")) {
          throw failures.streamError(chunk.get("error").asText(), model);
        }
        String delta = chunk.path("message").path("content").asText("");
        if (!delta.isEmpty()) {
          text.append(delta);
          onDelta.accept(delta, text.toString());
        }
        if (chunk.path("done").asBoolean(false)) {
          done = chunk;
          break;
        }
      }
    } catch (IOException e) {
      if (stalled.get()) {
        throw failures.stalled(model);
      }
      throw failures.fromIo(e);
    } finally {
      silence.stop();
    }
    if (done == null) {
      throw stalled.get() ? failures.stalled(model) : failures.unfinished(model);
    }
    return new Reply(text.toString(), done.path("model").asText(model),
        DoneReason.fromWire(done.path("done_reason").asText(null)), usage(done), 1);
  }

  static Usage usage(JsonNode done) {
    return new Usage(done.path("prompt_eval_count").asInt(0), done.path("eval_count").asInt(0),
        Duration.ofNanos(done.path("total_duration").asLong(0)), Duration.ofNanos(done.path("load_duration").asLong(0)),
        Duration.ofNanos(done.path("eval_duration").asLong(0)));
  }

  private JsonNode parse(String line) {
    try {
      return Wire.JSON.readTree(line);
    } catch (JsonProcessingException e) {
      throw failures.unreadable(line, e);
    }
  }

  /** The {@code error} of an error body, or the body itself (a proxy page), bounded. */
  private static String errorText(InputStream body) {
    try (body) {
      String text = new String(body.readNBytes(MAX_ERROR_BODY), StandardCharsets.UTF_8).trim();
      try {
        JsonNode json = Wire.JSON.readTree(text);
        if (json != null && json.hasNonNull("error")) {
          return json.get("error").asText();
        }
      } catch (JsonProcessingException e) {
        // not JSON: a proxy's page; show it as is
      }
      return text.length() > 300 ? text.substring(0, 300) + "…" : text;
    } catch (IOException e) {
      return "";
    }
  }

  /** Closes the body when no chunk arrived for the idle timeout, which unblocks the reading thread. */
  private final class Silence {
    private final InputStream body;
    private final AtomicBoolean stalled;
    private ScheduledFuture<?> timer;

    Silence(InputStream body, AtomicBoolean stalled) {
      this.body = body;
      this.stalled = stalled;
    }

    void restart() {
      stop();
      timer = watchdog.schedule(() -> {
        stalled.set(true);
        try {
          body.close();
        } catch (IOException e) {
          // closing is all that is wanted; the reader sees the failure
        }
      }, idleTimeout.toNanos(), TimeUnit.NANOSECONDS);
    }

    void stop() {
      if (timer != null) {
        timer.cancel(false);
      }
    }
  }
}
