package heyken.actors.gitlab;

import heyken.actors.feature.FeatureMirror;
import heyken.protocol.api.feature.FeatureView;
import heyken.protocol.api.feature.GitLabView;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityRef;

/**
 * How the feature service reaches a feature's {@link GitLabSync}: tell it about changes, add GitLab's part to the
 * feature's view, ask whether a revision's merge request is merged. Exists only when GitLab is configured.
 */
public final class GitLabLink implements FeatureMirror {

  private final ActorSystem<?> system;
  private final GitLabSettings settings;
  private final Duration askTimeout;

  private GitLabLink(ActorSystem<?> system, GitLabSettings settings, Duration askTimeout) {
    this.system = system;
    this.settings = settings;
    this.askTimeout = askTimeout;
  }

  /** The link, or null when GitLab is not configured (GITLAB_URL and GITLAB_TOKEN unset). */
  public static GitLabLink of(ActorSystem<?> system) {
    var config = system.settings().config();
    var settings = GitLabSettings.from(config);
    return settings.enabled() ? new GitLabLink(system, settings, heyken.actors.ClusterSettings.from(config).askTimeout())
        : null;
  }

  @Override
  public boolean requireMerge() {
    return settings.requireMerge();
  }

  @Override
  public void wake(String featureId) {
    entity(featureId).tell(new GitLabSync.Wake());
  }

  /** The view with its {@code gitlab} part; if that does not answer in time, the part says so. */
  @Override
  public CompletionStage<FeatureView> decorate(FeatureView view) {
    return entity(view.featureId()).<GitLabSync.Status>ask(GitLabSync.GetStatus::new, askTimeout)
        .thenApply(status -> view.withGitlab(status.view()))
        .exceptionally(error -> view.withGitlab(new GitLabView(null, null, null, null, null, null,
            "the GitLab status of this feature did not answer in time (" + error.getClass().getSimpleName() + ")",
            Instant.now().toString())));
  }

  @Override
  public CompletionStage<MergeCheck> checkMerge(String featureId, String revision) {
    return entity(featureId).<GitLabSync.MergeCheck>ask(reply -> new GitLabSync.CheckMerge(revision, reply),
            askTimeout.plus(settings.requestTimeout()))
        .thenApply(check -> new MergeCheck(check.revision(), check.problem()))
        .exceptionally(error -> new MergeCheck(revision, heyken.protocol.api.Problem.unavailable(
            "gitlab_unavailable", "the merge request could not be checked in time; with HEYKEN_REQUIRE_MERGE=true "
                + "nothing is deployed unchecked, try again")));
  }


  private EntityRef<GitLabSync.Command> entity(String featureId) {
    return ClusterSharding.get(system).entityRefFor(GitLabSync.ENTITY_KEY, featureId);
  }
}
