package heyken.sandbox.workspace;

/** An operation on a feature that has no repository (never created, or deleted). */
public final class UnknownFeatureException extends WorkspaceException {

  public UnknownFeatureException(String featureId) {
    super("feature " + featureId + " has no repository: create it first");
  }
}
