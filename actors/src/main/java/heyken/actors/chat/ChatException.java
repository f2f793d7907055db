package heyken.actors.chat;

/**
 * A chat server refused or failed a call. The message says which call, what the server answered and, where known,
 * what to do about it.
 */
public class ChatException extends RuntimeException {

  private final int status;
  private final String errorType;

  public ChatException(String message, int status, String errorType, Throwable cause) {
    super(message, cause);
    this.status = status;
    this.errorType = errorType;
  }

  public ChatException(String message) {
    this(message, 0, null, null);
  }

  /** HTTP status of the refusal, 0 when the server was not reached. */
  public int status() {
    return status;
  }

  /** Rocket.Chat's {@code errorType} (e.g. {@code error-room-not-found}), or null. */
  public String errorType() {
    return errorType;
  }

  /** The server refused a password login (wrong password, blocked user, email 2FA). Never retried in a loop. */
  public static final class LoginRefused extends ChatException {
    public LoginRefused(String message, int status, String errorType) {
      super(message, status, errorType, null);
    }
  }

  /** The server kept answering 429 for longer than {@code heyken.chat.max-rate-limit-wait}. */
  public static final class RateLimited extends ChatException {
    public RateLimited(String message) {
      super(message, 429, "error-too-many-requests", null);
    }
  }
}
