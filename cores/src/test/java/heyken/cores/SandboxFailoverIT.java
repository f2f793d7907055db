package heyken.cores;

import static heyken.cores.SandboxFixtures.awaitRun;
import static heyken.cores.SandboxFixtures.createBody;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import heyken.testkit.HeykenProcesses;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A test run survives the death of the core running it: {@code kill -9} of that core's JVM while its job runs, and
 * the run continues on the survivor as a second attempt, completes, and the killed core cleans up its container when
 * it comes back.
 */
class SandboxFailoverIT {

  private static HeykenProcesses heyken;

  @BeforeAll
  static void start() throws Exception {
    heyken = SandboxFixtures.startWithDocker("heyken-sandbox-failover-");
  }

  @AfterAll
  static void stop() {
    if (heyken != null) {
      heyken.close();
    }
  }

  @Test
  void aRunWhoseCoreIsKilledCompletesOnTheSurvivor() throws Exception {
    int sandbox = heyken.port("sandbox");
    String ci = """
        stages: [test]
        slow:
          image: busybox
          script:
            - echo started
            - sleep 8
            - echo finished
        """;
    var created = heyken.post(sandbox, "/api/features/create",
        createBody("survivor", Map.of(".gitlab-ci.yml", ci, "heyken.yml", "name: survivor\nrun: echo hi\n")),
        heyken.token());
    assertEquals(201, created.status(), created.raw());
    String id = created.body().get("feature_id").asText();
    var accepted = heyken.post(sandbox, "/api/features/test", "{\"feature_id\":\"" + id + "\"}", heyken.token());
    assertEquals(202, accepted.status(), accepted.raw());
    String runId = accepted.body().get("run_id").asText();

    // wait until the job's container runs, then kill the core that started it
    int[] runningOn = new int[1];
    HeykenProcesses.await("the job's container to start", Duration.ofSeconds(30), () -> {
      var run = heyken.get(sandbox, "/api/features/" + id + "/runs/" + runId);
      if (run.status() != 200 || run.body().path("core").isNull() || run.body().path("core").isMissingNode()) {
        return false;
      }
      runningOn[0] = run.body().get("core").asInt();
      return !dockerContainersOf(heyken.pid(runningOn[0])).isEmpty();
    });
    long killedPid = heyken.pid(runningOn[0]);
    heyken.kill9(runningOn[0]);

    JsonNode run = awaitRun(heyken, sandbox, id, runId, Duration.ofSeconds(120));
    assertEquals("passed", run.get("status").asText(), run.toString());
    assertTrue(run.get("attempts").asInt() >= 2, "the journal shows both attempts: " + run);
    var log = heyken.get(sandbox, "/api/features/" + id + "/runs/" + runId + "/log");
    assertTrue(log.raw().contains("attempt 2"), log.raw());
    assertTrue(log.raw().contains("finished"), log.raw());

    // the killed core came back as standby and removed the container its earlier life left
    heyken.awaitStatus("both cores up again", Duration.ofSeconds(90), s -> s.path("healthy").asBoolean());
    HeykenProcesses.await("no container of the killed core left", Duration.ofSeconds(30),
        () -> dockerContainersOf(killedPid).isEmpty());
  }

  /** Owner labels of the containers the JVM with this pid started (the docker CLI comes with the engine). */
  private static String dockerContainersOf(long pid) throws IOException, InterruptedException {
    var p = new ProcessBuilder("docker", "ps", "-a", "--filter", "label=heyken.sandbox=1", "--format",
        "{{.Label \"heyken.owner\"}}").redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    p.waitFor();
    // the owner label is <boot id>/<pid>/<start time> of the JVM that started the container
    return out.lines().filter(l -> l.contains("/" + pid + "/")).reduce("", (a, b) -> a + b + "\n");
  }
}
