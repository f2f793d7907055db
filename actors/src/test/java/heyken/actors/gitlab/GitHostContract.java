package heyken.actors.gitlab;

import heyken.testkit.TempDirs;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * What Heyken relies on from a git host, run against the stand-in ({@link GitLabHostStandInTest}) and a real GitLab
 * ({@link GitLabHostRealServerTest}, when {@code GITLAB_URL} is set). Each test works in its own new project
 * {@code heyken-contract-<random>}.
 */
abstract class GitHostContract {

  static final String CI = """
      stages: [test]
      unit:
        stage: test
        script:
          - sh test.sh
      """;

  /** The host under test, authenticated with the right token. */
  protected abstract GitHost host();

  /** The same host with a token it does not accept. */
  protected abstract GitHost hostWithWrongToken();

  private Path local;
  private String path;

  @BeforeEach
  void freshProject() throws Exception {
    local = GitRepos.init(Files.createTempDirectory("heyken-gitlab-contract-"));
    path = "heyken-contract-" + UUID.randomUUID().toString().substring(0, 8);
  }

  @org.junit.jupiter.api.AfterEach
  void removeLocalRepository() {
    TempDirs.delete(local.getParent()); // local is the .git inside the working tree
  }

  @Test
  void aProjectIsCreatedOnceAndFoundAfterwards() {
    var created = host().ensureProject(path, "contract test");
    var found = host().ensureProject(path, "contract test");
    assertEquals(created.id(), found.id());
    assertTrue(created.path().endsWith("/" + path), created.path());
    assertTrue(created.httpUrlToRepo().endsWith(path + ".git"), created.httpUrlToRepo());
  }

  @Test
  void aPushedRevisionIsTheHeadOfItsBranch() throws Exception {
    var project = host().ensureProject(path, "contract test");
    String first = GitRepos.commit(local, Map.of("main.sh", "echo one\n"), "one");
    host().push(local, first, project, "main");
    String second = GitRepos.commit(local, Map.of("main.sh", "echo two\n"), "two");
    host().push(local, second, project, "feature/contract-r2");
    assertEquals(Optional.of(first), host().branchHead(project, "main"));
    assertEquals(Optional.of(second), host().branchHead(project, "feature/contract-r2"));
    assertEquals(Optional.empty(), host().branchHead(project, "feature/nothing-here"));
    // pushing the same revision again changes nothing and is no error
    host().push(local, second, project, "feature/contract-r2");
  }

  @Test
  void aMergeRequestIsOpenedOnceAndCanBeMerged() throws Exception {
    var project = host().ensureProject(path, "contract test");
    String first = GitRepos.commit(local, Map.of("main.sh", "echo one\n"), "one");
    host().push(local, first, project, "main");
    String second = GitRepos.commit(local, Map.of("main.sh", "echo two\n"), "two");
    host().push(local, second, project, "feature/contract-r2");

    var opened = host().openMergeRequest(project, "feature/contract-r2", "main", "contract r2", "from the contract");
    assertEquals("opened", opened.state());
    assertEquals("feature/contract-r2", opened.sourceBranch());
    assertEquals("main", opened.targetBranch());
    assertFalse(opened.webUrl().isEmpty());
    // asking again finds the same one instead of failing or opening a second
    assertEquals(opened.iid(), host().openMergeRequest(project, "feature/contract-r2", "main", "again", "").iid());
    assertEquals("opened", host().mergeRequest(project, opened.iid()).state());

    HostAssertions.eventually("the merge request to become mergeable", Duration.ofSeconds(60), () -> {
      try {
        return host().merge(project, opened.iid()).merged();
      } catch (GitHostException e) {
        return false; // a real GitLab computes mergeability in the background (405 until then)
      }
    });
    assertTrue(host().mergeRequest(project, opened.iid()).merged());
  }

  @Test
  void theUnknownIsNotFound() {
    var project = host().ensureProject(path, "contract test");
    var e = assertThrows(GitHostException.class, () -> host().mergeRequest(project, 999_999));
    assertEquals(GitHostException.Kind.NOT_FOUND, e.kind());
    assertTrue(e.getMessage().contains("!999999"), e.getMessage());
  }

  @Test
  void aPushWithAPipelineFileShowsItsPipelineAndJobs() throws Exception {
    var project = host().ensureProject(path, "contract test");
    String sha = GitRepos.commit(local, Map.of(".gitlab-ci.yml", CI, "test.sh", "echo ok\n"), "with ci");
    host().push(local, sha, project, "feature/contract-r1");
    HostAssertions.eventually("GitLab to create the pipeline", Duration.ofSeconds(60),
        () -> host().latestPipeline(project, "feature/contract-r1", sha).isPresent());
    var pipeline = host().latestPipeline(project, "feature/contract-r1", sha).orElseThrow();
    assertEquals(sha, pipeline.sha());
    assertEquals("feature/contract-r1", pipeline.ref());
    assertFalse(pipeline.status().isEmpty());
    var jobs = host().jobs(project, pipeline.id());
    assertEquals(1, jobs.size(), jobs.toString());
    assertEquals("unit", jobs.get(0).name());
    assertEquals("test", jobs.get(0).stage());
    assertEquals(Optional.empty(), host().latestPipeline(project, "feature/contract-r1", "0".repeat(40)));
  }

  @Test
  void aWrongTokenIsAClearErrorForTheApiAndForGit() throws Exception {
    var e = assertThrows(GitHostException.class, () -> hostWithWrongToken().ensureProject(path, "contract test"));
    assertEquals(GitHostException.Kind.UNAUTHORIZED, e.kind());
    assertTrue(e.getMessage().contains("GITLAB_TOKEN"), e.getMessage());

    var project = host().ensureProject(path, "contract test");
    String sha = GitRepos.commit(local, Map.of("main.sh", "echo one\n"), "one");
    var push = assertThrows(GitHostException.class, () -> hostWithWrongToken().push(local, sha, project, "main"));
    assertEquals(GitHostException.Kind.UNAUTHORIZED, push.kind(), push.getMessage());
    assertTrue(push.getMessage().contains("GITLAB_TOKEN"), push.getMessage());
    assertEquals(Optional.empty(), host().branchHead(project, "main"));
  }
}
