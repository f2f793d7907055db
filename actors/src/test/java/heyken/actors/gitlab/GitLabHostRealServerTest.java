package heyken.actors.gitlab;

import java.time.Duration;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.condition.EnabledIfEnvironmentVariable;

/**
 * The git host contract against a real GitLab, when {@code GITLAB_URL} is set (with {@code GITLAB_TOKEN}, and
 * {@code GITLAB_GROUP}, default {@code heyken}, an existing group the token may create projects in). It creates
 * private projects {@code heyken-contract-*} there and leaves them: point it at a test instance. The pipeline test
 * needs the instance to create pipelines for pushes (Auto DevOps off is fine; a runner is not needed).
 */
@EnabledIfEnvironmentVariable(named = "GITLAB_URL", matches = ".+",
    disabledReason = "GITLAB_URL is not set: the contract runs against the GitLab stand-in only")
class GitLabHostRealServerTest extends GitHostContract {

  private static GitLabSettings settings(String token) {
    String group = System.getenv().getOrDefault("GITLAB_GROUP", "heyken");
    return new GitLabSettings(System.getenv("GITLAB_URL"), token, group, false, Duration.ofSeconds(5),
        Duration.ofSeconds(30), 3, "main");
  }

  @Override
  protected GitHost host() {
    String token = System.getenv("GITLAB_TOKEN");
    Assumptions.assumeTrue(token != null && !token.isBlank(), "GITLAB_URL is set but GITLAB_TOKEN is not");
    return new GitLabHost(settings(token));
  }

  @Override
  protected GitHost hostWithWrongToken() {
    return new GitLabHost(settings("glpat-not-a-valid-token-000000"));
  }
}
