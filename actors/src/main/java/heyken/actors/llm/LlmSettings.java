package heyken.actors.llm;

import com.typesafe.config.Config;
import heyken.actors.llm.LanguageModel.Purpose;
import java.net.URI;
import java.time.Duration;
import java.util.Objects;

/**
 * How Heyken talks to Ollama, read from {@code heyken.llm.*} (the URL from {@code heyken.components.ollama-url},
 * shared with the status probes). Every key has a default here, so a configuration without the block works.
 *
 * @param url               base URL of Ollama; empty means not configured (free-text answers are off)
 * @param model             the conversation model ({@code OLLAMA_MODEL})
 * @param codeModel         the model that writes features ({@code OLLAMA_CODE_MODEL}; defaults to {@code model})
 * @param numCtx            context window asked for on every call ({@code options.num_ctx}); llama3 has 8192
 * @param replyReserve      tokens of the context kept free for the answer when trimming a history
 * @param requestTimeout    time to the first token when streaming (model load + prompt), or to the whole answer
 * @param connectTimeout    TCP connect, and the bound of each availability probe
 * @param streamIdleTimeout the longest silence between two chunks of a stream before it is abandoned
 * @param maxConcurrent     calls sent to Ollama at once; the rest wait in FIFO order
 * @param maxWaiting        callers allowed to wait; beyond it a call fails at once with "queue full"
 * @param retries           extra attempts after a transient failure (connection, timeout, 503, broken stream)
 * @param retryBackoff      wait before the first retry; doubled before each further one
 * @param keepAlive         how long Ollama keeps the model loaded after a call ({@code keep_alive})
 */
public record LlmSettings(String url, String model, String codeModel, int numCtx, int replyReserve,
    Duration requestTimeout, Duration connectTimeout, Duration streamIdleTimeout, int maxConcurrent, int maxWaiting,
    int retries, Duration retryBackoff, String keepAlive) {

  public static final String DEFAULT_URL = "http://localhost:11434";
  public static final String DEFAULT_MODEL = "llama3";

  public LlmSettings {
    Objects.requireNonNull(url, "url");
    url = url.trim().replaceAll("/+$", "");
    if (!url.isEmpty()) {
      URI uri;
      try {
        uri = URI.create(url);
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException("heyken.components.ollama-url (OLLAMA_URL) is not a URL: " + url, e);
      }
      if (!("http".equals(uri.getScheme()) || "https".equals(uri.getScheme())) || uri.getHost() == null) {
        throw new IllegalArgumentException(
            "heyken.components.ollama-url (OLLAMA_URL) must be an http(s) URL such as " + DEFAULT_URL + ", got " + url);
      }
    }
    model = requireText(model, "heyken.llm.model");
    codeModel = codeModel == null || codeModel.isBlank() ? model : codeModel.trim();
    atLeast(numCtx, 256, "heyken.llm.num-ctx");
    atLeast(replyReserve, 0, "heyken.llm.reply-reserve");
    if (replyReserve >= numCtx) {
      throw new IllegalArgumentException("heyken.llm.reply-reserve (" + replyReserve
          + ") must be smaller than heyken.llm.num-ctx (" + numCtx + ")");
    }
    positive(requestTimeout, "heyken.llm.request-timeout");
    positive(connectTimeout, "heyken.llm.connect-timeout");
    positive(streamIdleTimeout, "heyken.llm.stream-idle-timeout");
    atLeast(maxConcurrent, 1, "heyken.llm.max-concurrent");
    atLeast(maxWaiting, 0, "heyken.llm.max-waiting");
    atLeast(retries, 0, "heyken.llm.retries");
    Objects.requireNonNull(retryBackoff, "heyken.llm.retry-backoff");
    if (retryBackoff.isNegative()) {
      throw new IllegalArgumentException("heyken.llm.retry-backoff must not be negative: " + retryBackoff);
    }
    keepAlive = requireText(keepAlive, "heyken.llm.keep-alive");
  }

  /** Reads {@code heyken.components.ollama-url} and {@code heyken.llm.*}, each with its default. */
  public static LlmSettings from(Config config) {
    return new LlmSettings(
        string(config, "heyken.components.ollama-url", DEFAULT_URL),
        string(config, "heyken.llm.model", DEFAULT_MODEL),
        string(config, "heyken.llm.code-model", ""),
        integer(config, "heyken.llm.num-ctx", 8192),
        integer(config, "heyken.llm.reply-reserve", 1024),
        duration(config, "heyken.llm.request-timeout", Duration.ofSeconds(120)),
        duration(config, "heyken.llm.connect-timeout", Duration.ofSeconds(3)),
        duration(config, "heyken.llm.stream-idle-timeout", Duration.ofSeconds(60)),
        integer(config, "heyken.llm.max-concurrent", 2),
        integer(config, "heyken.llm.max-waiting", 32),
        integer(config, "heyken.llm.retries", 2),
        duration(config, "heyken.llm.retry-backoff", Duration.ofSeconds(1)),
        string(config, "heyken.llm.keep-alive", "10m"));
  }

  /** False when the URL is empty: the model is switched off on purpose. */
  public boolean configured() {
    return !url.isEmpty();
  }

  public String modelFor(Purpose purpose) {
    return purpose == Purpose.CODE ? codeModel : model;
  }

  private static String string(Config config, String path, String fallback) {
    return config.hasPath(path) ? config.getString(path) : fallback;
  }

  private static int integer(Config config, String path, int fallback) {
    return config.hasPath(path) ? config.getInt(path) : fallback;
  }

  private static Duration duration(Config config, String path, Duration fallback) {
    return config.hasPath(path) ? config.getDuration(path) : fallback;
  }

  private static String requireText(String value, String key) {
    if (value == null || value.isBlank()) {
      throw new IllegalArgumentException(key + " must not be empty");
    }
    return value.trim();
  }

  private static void atLeast(int value, int minimum, String key) {
    if (value < minimum) {
      throw new IllegalArgumentException(key + " must be at least " + minimum + ", got " + value);
    }
  }

  private static void positive(Duration value, String key) {
    Objects.requireNonNull(value, key);
    if (value.isZero() || value.isNegative()) {
      throw new IllegalArgumentException(key + " must be positive, got " + value);
    }
  }
}
