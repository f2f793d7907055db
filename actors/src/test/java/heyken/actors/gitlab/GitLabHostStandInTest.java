package heyken.actors.gitlab;

import heyken.testkit.TempDirs;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import heyken.testkit.gitlab.GitLabStandIn;
import java.nio.file.Files;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The git host contract against the GitLab stand-in, plus what only a stand-in can do on demand (outages). */
class GitLabHostStandInTest extends GitHostContract {

  private static GitLabStandIn gitlab;

  @BeforeAll
  static void start() throws Exception {
    gitlab = GitLabStandIn.start(Files.createTempDirectory("heyken-gitlab-standin-"), "contract-token", "heyken");
  }

  @AfterAll
  static void stop() {
    gitlab.close();
  }

  static GitLabSettings settings(String url, String token) {
    return new GitLabSettings(url, token, "heyken", false, Duration.ofMillis(100), Duration.ofSeconds(5), 2, "main");
  }

  @Override
  protected GitHost host() {
    return new GitLabHost(settings(gitlab.url(), "contract-token"));
  }

  @Override
  protected GitHost hostWithWrongToken() {
    return new GitLabHost(settings(gitlab.url(), "not-the-token"));
  }

  @Test
  void thePushedFilesAreInTheProjectsRepository() throws Exception {
    var local = GitRepos.init(Files.createTempDirectory("heyken-gitlab-files-"));
    var project = host().ensureProject("files-check", "files");
    try {
      String sha = GitRepos.commit(local, Map.of("main.sh", "echo hello\n", "lib/util.sh", "true\n"), "files");
      host().push(local, sha, project, "feature/files-r1");
    } finally {
      TempDirs.delete(local.getParent()); // local is the .git inside the working tree
    }
    assertEquals(Optional.of("echo hello\n"), gitlab.readFile("heyken/files-check", "feature/files-r1", "main.sh"));
    assertEquals(Optional.of("true\n"), gitlab.readFile("heyken/files-check", "feature/files-r1", "lib/util.sh"));
    // the first branch pushed to an empty project becomes its default, as on GitLab
    assertEquals("feature/files-r1", host().ensureProject("files-check", "files").defaultBranch());
  }

  @Test
  void anUnavailableGitLabIsTriedAgainThenReportedAsTransient() {
    gitlab.setAvailable(false);
    try {
      int before = gitlab.requests().size();
      var e = assertThrows(GitHostException.class, () -> host().ensureProject("down", "down"));
      assertEquals(GitHostException.Kind.UNAVAILABLE, e.kind());
      assertTrue(e.transientFailure());
      assertTrue(e.getMessage().contains("503") && e.getMessage().contains("after 2 attempts"), e.getMessage());
      assertEquals(2, gitlab.requests().size() - before, "one call, tried twice: " + gitlab.requests());
    } finally {
      gitlab.setAvailable(true);
    }
  }

  @Test
  void anUnreachableGitLabIsTransientAndSaysWhere() {
    var e = assertThrows(GitHostException.class,
        () -> new GitLabHost(settings("http://127.0.0.1:9", "contract-token")).ensureProject("x", "x"));
    assertEquals(GitHostException.Kind.UNAVAILABLE, e.kind());
    assertTrue(e.getMessage().contains("127.0.0.1:9") && e.getMessage().contains("unreachable"), e.getMessage());
  }

  @Test
  void aMissingGroupSaysWhatToDo() {
    var e = assertThrows(GitHostException.class, () -> new GitLabHost(new GitLabSettings(gitlab.url(),
        "contract-token", "no-such-group", false, Duration.ofSeconds(1), Duration.ofSeconds(5), 1, "main"))
        .ensureProject("x", "x"));
    assertEquals(GitHostException.Kind.NOT_FOUND, e.kind());
    assertTrue(e.getMessage().contains("GITLAB_GROUP"), e.getMessage());
  }
}
