package heyken.actors.gitlab;

/** A failed call to the git host; {@link #transientFailure()} says whether trying again later can help. */
public final class GitHostException extends RuntimeException {

  /** What went wrong, as far as the caller can act on it. */
  public enum Kind {
    /** 401: the token is missing, wrong, expired or revoked. */
    UNAUTHORIZED,
    /** 403: the token is valid but may not do this (scope, role in the group). */
    FORBIDDEN,
    /** 404: the project, group, branch, merge request or pipeline does not exist (or is not visible). */
    NOT_FOUND,
    /** Any other refusal of the request (4xx): it will be refused again. */
    REJECTED,
    /** Unreachable, timed out, 5xx, 429: may work later. */
    UNAVAILABLE
  }

  private final Kind kind;
  private final int status;

  public GitHostException(Kind kind, int status, String message, Throwable cause) {
    super(message, cause);
    this.kind = kind;
    this.status = status;
  }

  public GitHostException(Kind kind, int status, String message) {
    this(kind, status, message, null);
  }

  public Kind kind() {
    return kind;
  }

  /** The HTTP status GitLab answered, or 0 when it did not answer. */
  public int status() {
    return status;
  }

  public boolean transientFailure() {
    return kind == Kind.UNAVAILABLE;
  }
}
