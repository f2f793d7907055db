package heyken.actors.feature;

import heyken.protocol.api.Problem;
import heyken.protocol.api.feature.FeatureView;
import java.util.concurrent.CompletionStage;

/**
 * The features' copy on a Git host, as the {@link FeatureService} uses it: the {@code gitlab} package implements it
 * ({@code GitLabLink}) and depends on this package, never the other way round. Given to the service by the wiring
 * ({@code Guardian}) only when GitLab is configured.
 */
public interface FeatureMirror {

  /** The answer to whether a revision may be deployed: {@code problem} null when it may. */
  record MergeCheck(String revision, Problem problem) {}

  /** Whether a deploy waits for the revision's merge request to be merged (HEYKEN_REQUIRE_MERGE). */
  boolean requireMerge();

  /** Something changed in the feature: bring its copy up to date. */
  void wake(String featureId);

  /** The view with the mirror's part added (or a part saying why it is missing). */
  CompletionStage<FeatureView> decorate(FeatureView view);

  CompletionStage<MergeCheck> checkMerge(String featureId, String revision);
}
