package heyken.actors.llm;

import java.util.Objects;

/**
 * A language-model call that failed: its {@link Kind} (which says whether it was worth retrying), the reason
 * and what to do about it, and how many attempts were made. The message reads "reason: action" so that a log
 * line or a chat reply is enough to act on.
 */
public final class LanguageModelException extends RuntimeException {

  public enum Kind {
    /** No Ollama URL configured. */
    NOT_CONFIGURED(false),
    /** Connection refused or not established in time. */
    UNREACHABLE(true),
    /** No answer within the request timeout (model load + prompt), or a stream went silent. */
    TIMEOUT(true),
    /** 503 queue full, 429, or 502/504 from a proxy: the server is there but cannot take the call now. */
    BUSY(true),
    /** The connection broke or the stream ended without its final chunk. */
    CONNECTION_LOST(true),
    /** The server reported an error in the middle of a stream (the runner failed). */
    STREAM_FAILED(true),
    /** 404: the model is not installed. Ollama never pulls by itself and neither does Heyken. */
    MODEL_MISSING(false),
    /** 400 and other 4xx: the request is wrong or asks for a capability the model lacks. */
    REJECTED(false),
    /** 500 with a reason: the runner failed before answering (often out of memory); retrying repeats it. */
    SERVER_ERROR(false),
    /** The answer is not the JSON that was asked for. */
    INVALID_OUTPUT(false),
    /** Too many callers already wait for a turn. */
    QUEUE_FULL(false),
    /** The calling thread was interrupted (the caller gave up). */
    INTERRUPTED(false);

    private final boolean transientFailure;

    Kind(boolean transientFailure) {
      this.transientFailure = transientFailure;
    }

    public boolean isTransient() {
      return transientFailure;
    }
  }

  private final Kind kind;
  private final String reason;
  private final String action;
  private final int status;
  private final int attempts;
  private final String partialText;

  public LanguageModelException(Kind kind, String reason, String action) {
    this(kind, reason, action, -1, null, 1, "");
  }

  LanguageModelException(Kind kind, String reason, String action, int status, Throwable cause) {
    this(kind, reason, action, status, cause, 1, "");
  }

  private LanguageModelException(Kind kind, String reason, String action, int status, Throwable cause, int attempts,
      String partialText) {
    super(message(reason, action, attempts), cause);
    this.kind = Objects.requireNonNull(kind);
    this.reason = Objects.requireNonNull(reason);
    this.action = Objects.requireNonNull(action);
    this.status = status;
    this.attempts = attempts;
    this.partialText = partialText;
  }

  private static String message(String reason, String action, int attempts) {
    String tried = attempts > 1 ? " (after " + attempts + " attempts)" : "";
    return action.isEmpty() ? reason + tried : reason + tried + ": " + action;
  }

  /** The same failure, recording how many attempts were made and the text streamed before it. */
  LanguageModelException after(int attemptsMade, String streamedText) {
    var copy = new LanguageModelException(kind, reason, action, status, getCause(), attemptsMade,
        streamedText == null ? "" : streamedText);
    copy.setStackTrace(getStackTrace());
    return copy;
  }

  public Kind kind() {
    return kind;
  }

  /** Whether another attempt may succeed (connection, timeout, busy, broken stream). */
  public boolean isTransient() {
    return kind.isTransient();
  }

  /** What went wrong, without the advice. */
  public String reason() {
    return reason;
  }

  /** What to do about it. */
  public String action() {
    return action;
  }

  /** The HTTP status when one was seen, else -1 (ollama4j does not expose statuses). */
  public int status() {
    return status;
  }

  public int attempts() {
    return attempts;
  }

  /** What a stream had delivered before it failed ("" when nothing). */
  public String partialText() {
    return partialText;
  }
}
