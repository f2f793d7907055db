package heyken.cores;

import heyken.testkit.TempDirs;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import heyken.testkit.HeykenProcesses;
import heyken.testkit.HeykenProcesses.Response;
import heyken.testkit.gitlab.GitLabStandIn;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * GitLab over real HTTP against store + two cores (bubblewrap sandbox) and the GitLab stand-in, with
 * {@code HEYKEN_REQUIRE_MERGE=true}: revisions pushed to branches, the merge request opened once the local tests
 * passed, GitLab's pipeline shown in {@code GET /api/features/{id}}, deploy refused until the merge request is merged,
 * and a GitLab outage that leaves the feature working locally.
 */
class GitLabIT {

  private static final String TOKEN = "it-gitlab-token";
  private static GitLabStandIn gitlab;
  private static HeykenProcesses heyken;
  private static Path dir;
  private static int sandbox;

  static final String CI = """
      stages: [test]
      unit:
        stage: test
        script:
          - sh test.sh
      """;

  static Map<String, String> files(String name, String greeting) {
    return Map.of("heyken.yml", "name: " + name + "\ndescription: gitlab test\ncommand: " + name + "\nrun: sh main.sh\n",
        "main.sh", "echo " + greeting + "\n", "test.sh", "sh main.sh | grep -q " + greeting + "\n",
        ".gitlab-ci.yml", CI);
  }

  @BeforeAll
  static void start() throws Exception {
    dir = Files.createTempDirectory("heyken-gitlab-it-");
    // bubblewrap jobs run as uid 65534: their work directories must be reachable
    Files.setPosixFilePermissions(dir, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
    gitlab = GitLabStandIn.start(dir.resolve("gitlab"), TOKEN, "heyken");
    var jar = HeykenProcesses.itJar();
    heyken = new HeykenProcesses(jar, dir.resolve("heyken"))
        .withEnv("HEYKEN_SANDBOX_BACKEND", "bubblewrap")
        .withEnv("GITLAB_URL", gitlab.url())
        .withEnv("GITLAB_TOKEN", TOKEN)
        .withEnv("GITLAB_GROUP", "heyken")
        .withEnv("HEYKEN_REQUIRE_MERGE", "true")
        .withEnv("HEYKEN_GITLAB_POLL_INTERVAL", "300ms");
    heyken.startBothCores("both cores up", Duration.ofSeconds(90));
    sandbox = heyken.port("sandbox");
  }

  @AfterAll
  static void stop() {
    HeykenProcesses.closeAll(heyken, gitlab, TempDirs.removal(dir));
  }

  private Response post(String path, String json) {
    return heyken.post(sandbox, path, json, heyken.token());
  }

  private JsonNode awaitFeature(String id, String what, Predicate<JsonNode> accept) {
    JsonNode[] last = new JsonNode[1];
    try {
      HeykenProcesses.await(what, Duration.ofSeconds(60), () -> {
        var r = heyken.get(sandbox, "/api/features/" + id);
        last[0] = r.body();
        return r.status() == 200 && accept.test(r.body());
      });
    } catch (AssertionError e) {
      throw new AssertionError(e.getMessage() + "; last: " + last[0], e);
    }
    return last[0];
  }

  private String create(String name, Map<String, String> files) {
    var created = post("/api/features/create", SandboxFixtures.createBody(name, files));
    assertEquals(201, created.status(), created.raw());
    return created.body().get("feature_id").asText();
  }

  private JsonNode testAndWait(String id) {
    var accepted = post("/api/features/test", "{\"feature_id\":\"" + id + "\"}");
    assertEquals(202, accepted.status(), accepted.raw());
    return SandboxFixtures.awaitRun(heyken, sandbox, id, accepted.body().get("run_id").asText(),
        Duration.ofSeconds(90));
  }

  @Test
  void aRevisionGoesThroughGitLabBeforeItIsDeployed() throws Exception {
    String id = create("glgreeter", files("glgreeter", "hello"));
    String project = "heyken/glgreeter-" + id;
    var view = awaitFeature(id, "revision 1 on GitLab", v -> "feature/glgreeter-r1".equals(
        v.path("gitlab").path("branch").asText()));
    String first = view.get("head_revision").asText();
    assertEquals(project, view.get("gitlab").get("project").asText());
    assertEquals(Optional.of(first), gitlab.branchHead(project, "feature/glgreeter-r1"));
    assertEquals(Optional.of("echo hello\n"), gitlab.readFile(project, "feature/glgreeter-r1", "main.sh"));

    var revised = post("/api/features/" + id + "/revisions", "{\"files\":{\"main.sh\":\"echo again\\n\","
        + "\"test.sh\":\"sh main.sh | grep -q again\\n\"},\"message\":\"again\"}");
    assertEquals(201, revised.status(), revised.raw());
    String second = revised.body().get("head_revision").asText();
    // pushed; GitLab's pipeline for the push is shown beside the local state
    view = awaitFeature(id, "revision 2 and its pipeline on GitLab", v -> second.equals(
        v.path("gitlab").path("revision").asText()) && v.path("gitlab").has("pipeline"));
    assertEquals("feature/glgreeter-r2", view.get("gitlab").get("branch").asText());
    assertEquals("pending", view.get("gitlab").get("pipeline").get("status").asText());
    assertEquals("unit", view.get("gitlab").get("pipeline").get("jobs").get(0).get("name").asText());
    assertEquals(List.of(), gitlab.mergeRequests(project), "no merge request before the tests passed");
    ApiAssertions.assertError(post("/api/features/deploy", "{\"feature_id\":\"" + id + "\"}"), 409, "not_tested");

    assertEquals("passed", testAndWait(id).get("status").asText());
    view = awaitFeature(id, "the merge request", v -> v.path("gitlab").has("merge_request"));
    long iid = view.get("gitlab").get("merge_request").get("iid").asLong();
    assertEquals("opened", view.get("gitlab").get("merge_request").get("state").asText());
    assertEquals("feature/glgreeter-r2", gitlab.mergeRequests(project).get(0).sourceBranch());

    var refused = ApiAssertions.assertError(post("/api/features/deploy", "{\"feature_id\":\"" + id + "\"}"), 409,
        "merge_required");
    assertTrue(refused.get("detail").asText().contains("merge MR !" + iid + " first"), refused.toString());

    gitlab.setPipelineStatus(project, "feature/glgreeter-r2", "success");
    awaitFeature(id, "GitLab's pipeline to pass", v -> "success".equals(
        v.path("gitlab").path("pipeline").path("status").asText()));

    gitlab.merge(project, iid);
    var deployed = post("/api/features/deploy", "{\"feature_id\":\"" + id + "\"}");
    assertEquals(200, deployed.status(), deployed.raw());
    assertEquals(second, deployed.body().get("revision").asText());
    var answer = post("/api/features/" + id + "/invoke", "{\"args\":\"x\"}");
    assertEquals("again\n", answer.body().get("output").asText(), answer.raw());
    awaitFeature(id, "the merge to show", v -> "merged".equals(
        v.path("gitlab").path("merge_request").path("state").asText()));
  }

  @Test
  void withGitLabDownAFeatureStillWorksLocallyAndShowsTheError() throws Exception {
    gitlab.setAvailable(false);
    String id;
    try {
      id = create("gldown", files("gldown", "down"));
      assertEquals("passed", testAndWait(id).get("status").asText());
      var view = awaitFeature(id, "the GitLab error", v -> v.path("gitlab").has("error"));
      assertEquals("passed", view.get("status").asText());
      assertTrue(view.get("gitlab").get("error").asText().contains("503"), view.toString());
    } finally {
      gitlab.setAvailable(true);
    }
    var view = awaitFeature(id, "GitLab back", v -> !v.path("gitlab").has("error")
        && v.path("gitlab").has("branch"));
    assertEquals("feature/gldown-r1", view.get("gitlab").get("branch").asText());
    // the first revision started main: with HEYKEN_REQUIRE_MERGE it is deployable without a merge request
    var deployed = post("/api/features/deploy", "{\"feature_id\":\"" + id + "\"}");
    assertEquals(200, deployed.status(), deployed.raw());
  }
}
