package heyken.actors.gitlab;

import com.typesafe.config.Config;
import java.time.Duration;

/**
 * {@code heyken.gitlab}: where features are mirrored. On only when both {@code url} and {@code token} are set
 * ({@code GITLAB_URL}, {@code GITLAB_TOKEN}); without them features stay local, as before.
 */
public record GitLabSettings(String url, String token, String group, boolean requireMerge, Duration pollInterval,
    Duration requestTimeout, int attempts, String targetBranch) {

  public GitLabSettings {
    url = url == null ? "" : url.strip().replaceAll("/+$", "");
    token = token == null ? "" : token.strip();
    group = group == null ? "" : group.strip().replaceAll("^/+|/+$", "");
    if (attempts < 1) {
      throw new IllegalArgumentException("heyken.gitlab.attempts must be at least 1, got " + attempts);
    }
  }

  public static GitLabSettings from(Config config) {
    var c = config.getConfig("heyken.gitlab");
    return new GitLabSettings(c.getString("url"), c.getString("token"), c.getString("group"),
        c.getBoolean("require-merge"), c.getDuration("poll-interval"), c.getDuration("request-timeout"),
        c.getInt("attempts"), c.getString("target-branch"));
  }

  public boolean enabled() {
    return !url.isEmpty() && !token.isEmpty();
  }

  /** The REST API's base, e.g. {@code https://gitlab.example.org/api/v4}. */
  public String apiBase() {
    return url + "/api/v4";
  }

  @Override
  public String toString() {
    // never the token
    return "GitLabSettings[url=" + url + ", group=" + group + ", requireMerge=" + requireMerge + ", pollInterval="
        + pollInterval + ", token=" + (token.isEmpty() ? "unset" : "set") + "]";
  }
}
