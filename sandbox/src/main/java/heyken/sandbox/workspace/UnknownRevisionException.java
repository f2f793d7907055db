package heyken.sandbox.workspace;

/** A revision id or prefix that names no commit of the feature, or more than one. */
public final class UnknownRevisionException extends WorkspaceException {

  public UnknownRevisionException(String message) {
    super(message);
  }
}
