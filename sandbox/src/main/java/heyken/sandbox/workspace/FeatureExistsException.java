package heyken.sandbox.workspace;

/** A create or import for a feature id whose repository already exists. */
public final class FeatureExistsException extends WorkspaceException {

  public FeatureExistsException(String featureId) {
    super("feature " + featureId + " already has a repository: commit to it, or delete it before creating it again");
  }
}
