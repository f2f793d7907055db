package heyken.actors.gitlab;

import heyken.testkit.TempDirs;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import heyken.actors.support.TestStore;
import heyken.protocol.api.feature.FeatureView;
import heyken.protocol.api.feature.GitLabView;
import heyken.testkit.gitlab.GitLabStandIn;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.typed.ActorRef;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A feature's copy on GitLab (against the stand-in): revisions pushed to their branches, a merge request only once
 * the local tests passed, GitLab's pipeline read back, the merge check of HEYKEN_REQUIRE_MERGE, and GitLab failures
 * shown without touching the feature. The feature itself is modelled by the view the entity reads.
 */
class GitLabSyncTest {

  private static final String TOKEN = "sync-token";
  private static TestStore store;
  private static ActorTestKit testKit;
  private static GitLabStandIn gitlab;
  private static int featureNumber = 40;

  @BeforeAll
  static void start() throws Exception {
    store = new TestStore();
    testKit = ActorTestKit.create("gitlab-sync-test", store.config(""));
    gitlab = GitLabStandIn.start(Files.createTempDirectory("heyken-gitlab-sync-"), TOKEN, "heyken");
  }

  @AfterAll
  static void stop() {
    testKit.shutdownTestKit();
    gitlab.close();
    store.close();
  }

  /** A feature as the entity sees it: its revisions (oldest first) and what their tests said. */
  private static final class FeatureModel {
    final String id;
    final String name;
    final Path gitDir;
    final List<String[]> revisions = new ArrayList<>(); // {sha, tests}
    volatile boolean exists = true;
    final java.util.concurrent.atomic.AtomicInteger lookups = new java.util.concurrent.atomic.AtomicInteger();

    FeatureModel(String id, String name) throws Exception {
      this.id = id;
      this.name = name;
      this.gitDir = GitRepos.init(Files.createTempDirectory("heyken-feature-"));
    }

    synchronized String commit(Map<String, String> files, String tests) throws Exception {
      String sha = GitRepos.commit(gitDir, files, "revision " + (revisions.size() + 1));
      revisions.add(new String[] {sha, tests});
      return sha;
    }

    synchronized void tests(String sha, String tests) {
      revisions.stream().filter(r -> r[0].equals(sha)).forEach(r -> r[1] = tests);
    }

    synchronized FeatureView view() {
      lookups.incrementAndGet();
      if (!exists) {
        return null;
      }
      var views = new ArrayList<FeatureView.RevisionView>();
      for (int i = revisions.size() - 1; i >= 0; i--) {
        var r = revisions.get(i);
        views.add(new FeatureView.RevisionView(r[0], "revision " + (i + 1), "api", Instant.now().toString(), r[1],
            null));
      }
      boolean testing = revisions.stream().anyMatch(r -> r[1].equals("running"));
      return new FeatureView(id, name, "a test feature", testing ? "testing" : "ready", name, Instant.now().toString(),
          revisions.isEmpty() ? null : revisions.get(revisions.size() - 1)[0], views, List.of(), null);
    }

    String project() {
      return "heyken/" + name + "-" + id;
    }
  }

  private FeatureModel feature;

  @AfterEach
  void removeFeatureRepository() {
    if (feature != null) {
      TempDirs.delete(feature.gitDir.getParent()); // gitDir is the .git inside the working tree
    }
  }

  @BeforeEach
  void fresh() throws Exception {
    featureNumber++;
    feature = new FeatureModel(String.valueOf(featureNumber), "hello" + featureNumber);
  }

  private static GitLabSettings settings(String token, String url) {
    return new GitLabSettings(url, token, "heyken", true, Duration.ofMillis(100), Duration.ofSeconds(5), 1, "main");
  }

  private ActorRef<GitLabSync.Command> spawn(String token, String url) {
    var s = settings(token, url);
    var wiring = new GitLabSync.Wiring(new GitLabHost(s), s, id -> feature.gitDir,
        id -> CompletableFuture.completedFuture(feature.view()), Executors.newCachedThreadPool());
    return testKit.spawn(GitLabSync.create(feature.id, wiring));
  }

  private ActorRef<GitLabSync.Command> spawn() {
    return spawn(TOKEN, gitlab.url());
  }

  private static GitLabView status(ActorRef<GitLabSync.Command> sync) {
    var probe = testKit.<GitLabSync.Status>createTestProbe();
    sync.tell(new GitLabSync.GetStatus(probe.ref()));
    return probe.receiveMessage(Duration.ofSeconds(10)).view();
  }

  private static GitLabView awaitStatus(ActorRef<GitLabSync.Command> sync, String what,
      java.util.function.Predicate<GitLabView> accept) {
    GitLabView[] last = new GitLabView[1];
    HostAssertions.eventually(what, Duration.ofSeconds(20), () -> accept.test(last[0] = status(sync)));
    return last[0];
  }

  private static GitLabSync.MergeCheck checkMerge(ActorRef<GitLabSync.Command> sync, String revision) {
    var probe = testKit.<GitLabSync.MergeCheck>createTestProbe();
    sync.tell(new GitLabSync.CheckMerge(revision, probe.ref()));
    return probe.receiveMessage(Duration.ofSeconds(15));
  }

  private static Map<String, String> files(String greeting) {
    return Map.of("main.sh", "echo " + greeting + "\n", ".gitlab-ci.yml", GitHostContract.CI,
        "test.sh", "sh main.sh | grep -q " + greeting + "\n");
  }

  @Test
  void eachRevisionIsPushedToItsOwnBranchWithItsFiles() throws Exception {
    String first = feature.commit(files("hello"), "untested");
    var sync = spawn();
    var view = awaitStatus(sync, "revision 1 on GitLab", v -> ("feature/" + feature.name + "-r1").equals(v.branch()));
    assertEquals(feature.project(), view.project());
    assertEquals(first, view.revision());
    assertEquals(Optional.of(first), gitlab.branchHead(feature.project(), "feature/" + feature.name + "-r1"));
    assertEquals(Optional.of("echo hello\n"), gitlab.readFile(feature.project(), "feature/" + feature.name + "-r1",
        "main.sh"));
    // the first revision also starts main in the new project
    assertEquals(Optional.of(first), gitlab.branchHead(feature.project(), "main"));

    String second = feature.commit(files("again"), "untested");
    sync.tell(new GitLabSync.Wake());
    view = awaitStatus(sync, "revision 2 on GitLab", v -> second.equals(v.revision()));
    assertEquals("feature/" + feature.name + "-r2", view.branch());
    assertEquals(Optional.of("echo again\n"), gitlab.readFile(feature.project(), view.branch(), "main.sh"));
    assertEquals(Optional.of(first), gitlab.branchHead(feature.project(), "main"), "main moves only by merging");
    assertNull(view.error());
  }

  @Test
  void aMergeRequestIsOpenedOnlyOnceTheLocalTestsPassed() throws Exception {
    feature.commit(files("hello"), "passed");
    String second = feature.commit(files("again"), "running");
    var sync = spawn();
    awaitStatus(sync, "revision 2 pushed", v -> second.equals(v.revision()));
    // pushed, tests still running: no merge request (the first revision started main: nothing to merge it into)
    int polls = gitlab.requests().size();
    HostAssertions.eventually("a few more polls", Duration.ofSeconds(10), () -> gitlab.requests().size() > polls + 4);
    assertEquals(List.of(), gitlab.mergeRequests(feature.project()));
    assertNull(status(sync).mergeRequest());

    feature.tests(second, "failed");
    sync.tell(new GitLabSync.Wake());
    int polls2 = gitlab.requests().size();
    HostAssertions.eventually("a few more polls", Duration.ofSeconds(10), () -> gitlab.requests().size() > polls2 + 2);
    assertEquals(List.of(), gitlab.mergeRequests(feature.project()), "a failed revision gets no merge request");

    feature.tests(second, "passed");
    sync.tell(new GitLabSync.Wake());
    var view = awaitStatus(sync, "the merge request", v -> v.mergeRequest() != null);
    assertEquals("opened", view.mergeRequest().state());
    var mrs = gitlab.mergeRequests(feature.project());
    assertEquals(1, mrs.size(), mrs.toString());
    assertEquals("feature/" + feature.name + "-r2", mrs.get(0).sourceBranch());
    assertEquals("main", mrs.get(0).targetBranch());
    assertEquals(mrs.get(0).iid(), view.mergeRequest().iid());
    assertTrue(view.mergeRequest().url().endsWith("/-/merge_requests/" + mrs.get(0).iid()), view.toString());

    // merged on GitLab by a reviewer: the state follows
    gitlab.merge(feature.project(), mrs.get(0).iid());
    awaitStatus(sync, "the merge to show", v -> "merged".equals(v.mergeRequest().state()));
  }

  @Test
  void gitLabsPipelineIsShownWithItsJobs() throws Exception {
    feature.commit(files("hello"), "running");
    var sync = spawn();
    var view = awaitStatus(sync, "the pipeline", v -> v.pipeline() != null);
    assertEquals("pending", view.pipeline().status());
    assertEquals(List.of(new GitLabView.Job("unit", "test", "pending")), view.pipeline().jobs());
    assertTrue(view.pipeline().url().contains("/-/pipelines/" + view.pipeline().id()), view.toString());

    gitlab.setPipelineStatus(feature.project(), "feature/" + feature.name + "-r1", "running");
    awaitStatus(sync, "running", v -> "running".equals(v.pipeline().status()));
    gitlab.setPipelineStatus(feature.project(), "feature/" + feature.name + "-r1", "success");
    view = awaitStatus(sync, "success", v -> "success".equals(v.pipeline().status()));
    assertEquals("success", view.pipeline().jobs().get(0).status());
  }

  @Test
  void requireMergeAllowsADeployOnlyOnceTheMergeRequestIsMerged() throws Exception {
    String first = feature.commit(files("hello"), "passed");
    String second = feature.commit(files("again"), "passed");
    String third = feature.commit(files("third"), "untested");
    var sync = spawn();
    awaitStatus(sync, "all pushed", v -> third.equals(v.revision()));
    HostAssertions.eventually("the merge request of revision 2", Duration.ofSeconds(20),
        () -> gitlab.mergeRequests(feature.project()).size() == 1);
    long iid = gitlab.mergeRequests(feature.project()).get(0).iid();

    var refused = checkMerge(sync, second.substring(0, 10));
    assertEquals(second, refused.revision());
    assertNotNull(refused.problem());
    assertEquals(409, refused.problem().status());
    assertEquals("merge_required", refused.problem().error());
    assertTrue(refused.problem().detail().contains("merge MR !" + iid + " first"), refused.problem().detail());

    // the revision that started main needs no merge request; an untested one is for the feature's rules to refuse
    assertNull(checkMerge(sync, first).problem());
    var untested = checkMerge(sync, null);
    assertEquals(third, untested.revision());
    assertNull(untested.problem());

    gitlab.merge(feature.project(), iid);
    var allowed = checkMerge(sync, second);
    assertNull(allowed.problem(), String.valueOf(allowed.problem()));
    assertEquals(second, allowed.revision());
  }

  @Test
  void aGitLabOutageIsShownAndOverOnceGitLabAnswersAgain() throws Exception {
    String first = feature.commit(files("hello"), "passed");
    gitlab.setAvailable(false);
    ActorRef<GitLabSync.Command> sync;
    try {
      sync = spawn();
      var view = awaitStatus(sync, "the error", v -> v.error() != null);
      assertTrue(view.error().contains("unavailable") && view.error().contains("503"), view.error());
      assertNotNull(view.errorAt());
      assertNull(view.branch());
      // the merge check says GitLab is why, not the feature
      var check = checkMerge(sync, first);
      assertEquals("merge_required", check.problem().error());
      assertTrue(check.problem().detail().contains("not on GitLab yet"), check.problem().detail());
    } finally {
      gitlab.setAvailable(true);
    }
    var view = awaitStatus(sync, "recovery", v -> v.error() == null && v.branch() != null);
    assertEquals(first, view.revision());
    assertEquals(Optional.of(first), gitlab.branchHead(feature.project(), "feature/" + feature.name + "-r1"));
  }

  @Test
  void aBadTokenIsAClearErrorInTheFeaturesState() throws Exception {
    feature.commit(files("hello"), "passed");
    var sync = spawn("wrong-token", gitlab.url());
    var view = awaitStatus(sync, "the error", v -> v.error() != null);
    assertTrue(view.error().contains("401") && view.error().contains("GITLAB_TOKEN"), view.error());
    assertEquals(List.of(), gitlab.projectPaths().stream().filter(p -> p.equals(feature.project())).toList());
  }

  @Test
  void whatHappenedOnGitLabSurvivesARestart() throws Exception {
    String first = feature.commit(files("hello"), "passed");
    var sync = spawn();
    awaitStatus(sync, "pushed", v -> first.equals(v.revision()));
    testKit.stop(sync);
    int pushes = (int) gitlab.requests().stream().filter(r -> r.endsWith("git-receive-pack")).count();
    var again = spawn();
    var view = status(again);
    assertEquals(first, view.revision());
    assertEquals(feature.project(), view.project());
    // recovered from the journal: after another round nothing is pushed twice
    int polls = gitlab.requests().size();
    HostAssertions.eventually("a poll after the restart", Duration.ofSeconds(10),
        () -> gitlab.requests().size() > polls + 1);
    assertEquals(pushes, gitlab.requests().stream().filter(r -> r.endsWith("git-receive-pack")).count());
  }

  @Test
  void withoutGitLabTheFeaturesJsonHasNoGitlabPart() throws Exception {
    var json = new com.fasterxml.jackson.databind.ObjectMapper();
    feature.commit(files("hello"), "passed");
    assertTrue(!json.valueToTree(feature.view()).has("gitlab"));
    var withError = json.valueToTree(feature.view().withGitlab(new GitLabView(null, null, null, null, null, null,
        "down", "now")));
    assertEquals("down", withError.get("gitlab").get("error").asText());
    assertTrue(!withError.get("gitlab").has("pipeline") && !withError.get("gitlab").has("merge_request"));
  }

  @Test
  void aDeletedFeatureIsLeftAlone() throws Exception {
    feature.exists = false;
    var sync = spawn();
    // a second look happens only once the first answer (no such feature) was handled
    HostAssertions.eventually("two looks at the feature", Duration.ofSeconds(10), () -> {
      sync.tell(new GitLabSync.Wake());
      return feature.lookups.get() >= 2;
    });
    var view = status(sync);
    assertNull(view.project());
    assertNull(view.error());
    assertEquals(List.of(), gitlab.projectPaths().stream().filter(p -> p.equals(feature.project())).toList());
  }
}
