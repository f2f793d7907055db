package heyken.actors.llm;

import heyken.actors.llm.LanguageModelException.Kind;
import io.github.ollama4j.exceptions.OllamaException;
import java.io.IOException;
import java.net.ConnectException;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpTimeoutException;
import java.time.Duration;

/**
 * Turns what went wrong talking to Ollama into a {@link LanguageModelException} that says whether to retry and
 * what a person should do. Two sources: HTTP statuses (the JDK client used for streams) and ollama4j's
 * exceptions, which carry no status (ollama.md §2 "Error mapping"): 404/400/500 keep the server's message, any
 * other status (503, 429, 502) arrives with an empty message, an unreachable server with a null message and a
 * {@link ConnectException} cause.
 */
final class OllamaFailures {

  static final String START_OLLAMA =
      "start Ollama (`ollama serve`, or `docker compose up -d ollama`) or correct OLLAMA_URL in .env";
  private static final String OVERLOADED =
      "Ollama is overloaded or restarting; if this persists lower heyken.llm.max-concurrent or raise "
          + "OLLAMA_NUM_PARALLEL / OLLAMA_MAX_QUEUE on the Ollama host";
  private static final String RUNNER =
      "the model runner failed (often out of memory while loading): check `ollama ps` and the Ollama log, "
          + "or use a smaller model or a lower heyken.llm.num-ctx";

  private final String url;
  private final Duration requestTimeout;
  private final Duration idleTimeout;

  OllamaFailures(String url, Duration requestTimeout, Duration idleTimeout) {
    this.url = url;
    this.requestTimeout = requestTimeout;
    this.idleTimeout = idleTimeout;
  }

  static String pullHint(String model) {
    return "run `ollama pull " + model + "` on the Ollama host (Heyken never pulls by itself)";
  }

  /** An error status with the server's {@code error} text (may be empty). */
  LanguageModelException fromStatus(int status, String error, String model) {
    String said = error == null || error.isBlank() ? "" : ": " + error;
    if (status == 404 && error != null && error.contains("not found")) {
      return new LanguageModelException(Kind.MODEL_MISSING,
          "model " + model + " is not installed on Ollama at " + url + " (404" + said + ")", pullHint(model), status,
          null);
    }
    if (status == 429 || status == 502 || status == 503 || status == 504) {
      return new LanguageModelException(Kind.BUSY, "Ollama at " + url + " cannot take the call now (" + status + said
          + ")", OVERLOADED, status, null);
    }
    if (status >= 500) {
      return new LanguageModelException(Kind.SERVER_ERROR, "Ollama at " + url + " failed running model " + model
          + " (" + status + said + ")", RUNNER, status, null);
    }
    return rejected("Ollama at " + url + " refused the request for model " + model + " (" + status + said + ")",
        error, status);
  }

  /** What ollama4j threw; its message is the server's text when there was one. */
  LanguageModelException fromOllama4j(OllamaException e, String model) {
    String message = e.getMessage() == null ? "" : e.getMessage().trim();
    if (has(e, HttpConnectTimeoutException.class) || has(e, ConnectException.class)) {
      return unreachable(e);
    }
    if (has(e, HttpTimeoutException.class)) {
      return new LanguageModelException(Kind.TIMEOUT, "model " + model + " did not answer within "
          + human(requestTimeout) + " (a cold load alone can take a minute)", timeoutAction(), -1, e);
    }
    if (message.isEmpty() && !has(e, IOException.class)) {
      // ollama4j reports every status but 400/401/404/500 with an empty message: 503, 429, 502
      return new LanguageModelException(Kind.BUSY, "Ollama at " + url
          + " answered an error status without a reason (503 busy, 429 or a 502 from a proxy)", OVERLOADED, -1, e);
    }
    if (message.contains("not found")) {
      return new LanguageModelException(Kind.MODEL_MISSING, "model " + model + " is not installed on Ollama at " + url
          + " (" + message + ")", pullHint(model), 404, e);
    }
    if (message.contains("running the model") || message.contains("runner")) {
      return new LanguageModelException(Kind.SERVER_ERROR, "Ollama at " + url + " failed running model " + model
          + " (" + message + ")", RUNNER, 500, e);
    }
    if (has(e, IOException.class)) {
      return connectionLost(message.isEmpty() ? rootMessage(e) : message, e);
    }
    if (has(e, InterruptedException.class) || Thread.currentThread().isInterrupted()) {
      return interrupted();
    }
    return rejected("Ollama at " + url + " refused the request for model " + model + " (" + message + ")", message, -1);
  }

  /** An I/O failure of the JDK client before or during a response. */
  LanguageModelException fromIo(IOException e) {
    if (e instanceof HttpConnectTimeoutException || e instanceof ConnectException
        || e.getCause() instanceof ConnectException) {
      return unreachable(e);
    }
    if (e instanceof HttpTimeoutException) {
      return new LanguageModelException(Kind.TIMEOUT, "no answer from Ollama at " + url + " within "
          + human(requestTimeout) + " (model load and prompt evaluation; a cold load alone can take a minute)",
          timeoutAction(), -1, e);
    }
    return connectionLost(rootMessage(e), e);
  }

  LanguageModelException stalled(String model) {
    return new LanguageModelException(Kind.TIMEOUT, "model " + model + " sent nothing for " + human(idleTimeout)
        + " in the middle of its answer", "check the Ollama host (`ollama ps`, its log); raise "
            + "heyken.llm.stream-idle-timeout if the machine is just slow", -1, null);
  }

  LanguageModelException streamError(String error, String model) {
    return new LanguageModelException(Kind.STREAM_FAILED, "model " + model + " failed in the middle of its answer ("
        + error + ")", RUNNER, 200, null);
  }

  LanguageModelException unfinished(String model) {
    return new LanguageModelException(Kind.CONNECTION_LOST, "Ollama at " + url + " ended the answer of model " + model
        + " before its final chunk", "check the Ollama host and any proxy in between", -1, null);
  }

  LanguageModelException unreadable(String line, Exception cause) {
    String shown = line.length() > 200 ? line.substring(0, 200) + "…" : line;
    return new LanguageModelException(Kind.CONNECTION_LOST, "Ollama at " + url + " sent a line that is not JSON: "
        + shown, "check that OLLAMA_URL points at Ollama itself and not at another service or a proxy page", -1, cause);
  }

  static LanguageModelException interrupted() {
    return new LanguageModelException(Kind.INTERRUPTED, "the language-model call was interrupted", "");
  }

  private LanguageModelException unreachable(Exception cause) {
    return new LanguageModelException(Kind.UNREACHABLE, "Ollama at " + url + " does not answer ("
        + connectFailure(cause) + ")", START_OLLAMA, -1, cause);
  }

  private LanguageModelException connectionLost(String detail, Exception cause) {
    return new LanguageModelException(Kind.CONNECTION_LOST, "the connection to Ollama at " + url + " broke ("
        + detail + ")", "check the Ollama host and any proxy in between", -1, cause);
  }

  private static LanguageModelException rejected(String reason, String error, int status) {
    String action;
    if (error != null && error.contains("does not support")) {
      action = "use a model that supports it (llama3.1 or qwen2.5-coder support tools) or leave the option out";
    } else if (error != null && error.contains("invalid format")) {
      action = "the JSON schema passed as format is not valid: fix the schema in the calling code";
    } else {
      action = "this request cannot succeed as built: report it with this log line";
    }
    return new LanguageModelException(Kind.REJECTED, reason, action, status, null);
  }

  private String timeoutAction() {
    return "keep the model loaded (keep_alive), use a smaller model, or raise heyken.llm.request-timeout (now "
        + human(requestTimeout) + ")";
  }

  /** Why a connection was not made, in words: the JDK's cause is often a bare ClosedChannelException. */
  static String connectFailure(Throwable e) {
    if (has(e, HttpConnectTimeoutException.class)) {
      return "no connection within the connect timeout";
    }
    if (has(e, ConnectException.class)) {
      return "connection refused";
    }
    return rootMessage(e);
  }

  /** {@code 1s}, {@code 300ms}, {@code 2m}: how durations read in messages and in the configuration. */
  static String human(Duration duration) {
    if (duration.toMillis() < 1000) {
      return duration.toMillis() + "ms";
    }
    if (duration.toMillis() % 1000 != 0) {
      return String.format(java.util.Locale.ROOT, "%.1fs", duration.toMillis() / 1000.0);
    }
    long seconds = duration.toSeconds();
    return seconds % 60 == 0 && seconds >= 60 ? seconds / 60 + "m" : seconds + "s";
  }

  private static boolean has(Throwable e, Class<? extends Throwable> type) {
    for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
      if (type.isInstance(t)) {
        return true;
      }
    }
    return false;
  }

  private static String rootMessage(Throwable e) {
    Throwable root = e;
    while (root.getCause() != null && root.getCause() != root) {
      root = root.getCause();
    }
    String m = root.getMessage();
    return root.getClass().getSimpleName() + (m == null || m.isBlank() ? "" : ": " + m);
  }
}
