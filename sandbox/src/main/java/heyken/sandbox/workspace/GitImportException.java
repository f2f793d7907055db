package heyken.sandbox.workspace;

/**
 * An import from a git URL that was refused (a transport Heyken does not accept) or failed (unreachable, not a
 * repository, empty, too slow, too big). The message says which and what to do; it never repeats credentials of the
 * URL.
 */
public final class GitImportException extends WorkspaceException {

  public GitImportException(String message) {
    super(message);
  }

  public GitImportException(String message, Throwable cause) {
    super(message, cause);
  }
}
