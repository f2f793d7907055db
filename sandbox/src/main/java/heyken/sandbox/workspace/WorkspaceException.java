package heyken.sandbox.workspace;

/**
 * A feature repository operation refused for a reason the caller can act on (bad files, unknown revision, a failed
 * import, a missing or already existing feature). Storage failures are {@link java.io.UncheckedIOException}s instead:
 * those are ours, not the caller's.
 */
public abstract sealed class WorkspaceException extends RuntimeException
    permits InvalidFilesException, UnknownRevisionException, UnknownFeatureException, FeatureExistsException,
        GitImportException {

  protected WorkspaceException(String message) {
    super(message);
  }

  protected WorkspaceException(String message, Throwable cause) {
    super(message, cause);
  }
}
