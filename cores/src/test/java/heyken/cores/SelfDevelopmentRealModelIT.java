package heyken.cores;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import heyken.testkit.HeykenProcesses;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The author loop against a real Ollama (runs only when OLLAMA_URL is set; OLLAMA_CODE_MODEL chooses the model): a
 * feature created from a description ends its loop within the bound, every attempt is recorded with a result, and a
 * failure says why. What the model writes is not asserted (a real model may fail the task).
 */
class SelfDevelopmentRealModelIT {

  private static HeykenProcesses heyken;

  @BeforeAll
  static void start() throws Exception {
    String url = System.getenv("OLLAMA_URL");
    Assumptions.assumeTrue(url != null && !url.isBlank(), "OLLAMA_URL is not set: no real model to run against");
    SandboxFixtures.requireDocker();
    Path jar = HeykenProcesses.itJar();
    heyken = new HeykenProcesses(jar, Files.createTempDirectory("heyken-selfdev-real-"))
        .withEnv("DOCKER_HOST", "unix:///var/run/docker.sock")
        .withEnv("HEYKEN_SANDBOX_BACKEND", "docker")
        .withEnv("OLLAMA_URL", url);
    for (String name : new String[] {"OLLAMA_MODEL", "OLLAMA_CODE_MODEL"}) {
      if (System.getenv(name) != null) {
        heyken.withEnv(name, System.getenv(name));
      }
    }
    heyken.startBothCores("both cores up", Duration.ofSeconds(120));
  }

  @AfterAll
  static void stop() {
    if (heyken != null) {
      heyken.close();
    }
  }

  @Test
  void aDescriptionEndsInAPassingRevisionOrAFailureWithItsReason() {
    int sandbox = heyken.port("sandbox");
    var body = HeykenProcesses.JSON.createObjectNode().put("name", "greet")
        .put("description", "Answer 'Hello, <name>!' where <name> is the text after the command, e.g. !greet Ada "
            + "answers Hello, Ada!");
    var created = heyken.post(sandbox, "/api/features/create", body.toString(), heyken.token());
    assertTrue(created.status() == 201, created.raw());
    String id = created.body().get("feature_id").asText();
    JsonNode[] view = new JsonNode[1];
    HeykenProcesses.await("the author loop to stop", Duration.ofMinutes(40), () -> {
      var r = heyken.get(sandbox, "/api/features/" + id);
      view[0] = r.body();
      return r.status() == 200 && !r.body().path("authoring").path("state").asText("authoring").equals("authoring");
    });
    var authoring = view[0].get("authoring");
    String state = authoring.get("state").asText();
    assertTrue(Set.of("awaiting_approval", "failed").contains(state), view[0].toString());
    int attempts = authoring.get("attempts").size();
    assertTrue(attempts >= 1 && attempts <= authoring.get("max_attempts").asInt(), view[0].toString());
    for (JsonNode attempt : authoring.get("attempts")) {
      assertTrue(Set.of("passed", "failed", "error", "refused", "unparseable", "truncated")
          .contains(attempt.get("result").asText()), attempt.toString());
    }
    if (state.equals("failed")) {
      assertFalse(authoring.get("reason").asText().isBlank(), view[0].toString());
    }
  }
}
