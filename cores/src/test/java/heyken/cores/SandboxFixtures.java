package heyken.cores;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import heyken.testkit.HeykenProcesses;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Assumptions;

/** Feature code and helpers shared by the Sandbox Manager's integration tests. */
final class SandboxFixtures {

  private SandboxFixtures() {}

  static final String HELLO_MAIN = """
      import json, sys
      request = json.load(sys.stdin)
      print("Hello, " + str(request.get("args") or "world") + "!")
      """;

  static final String HELLO_TEST = """
      import subprocess
      out = subprocess.run(["python3", "main.py"], input=b'{"args": "Paris"}', capture_output=True).stdout
      assert out == b"Hello, Paris!\\n", out
      print("hello test passed")
      """;

  static final String HELLO_CI = """
      stages: [test]
      unit:
        stage: test
        image: python:3.11
        script:
          - python3 test_main.py
      """;

  static String manifest(String name, String command) {
    return "name: " + name + "\ndescription: test feature\ncommand: " + command + "\nrun: python3 main.py\n";
  }

  /** The files of a hello-world Python feature answering to {@code command}. */
  static Map<String, String> hello(String name, String command) {
    return Map.of("heyken.yml", manifest(name, command), "main.py", HELLO_MAIN, "test_main.py", HELLO_TEST,
        ".gitlab-ci.yml", HELLO_CI);
  }

  static String createBody(String name, Map<String, String> files) {
    ObjectNode body = HeykenProcesses.JSON.createObjectNode();
    body.put("name", name);
    body.put("description", "integration test feature " + name);
    if (files != null) {
      var f = body.putObject("files");
      files.forEach(f::put);
    }
    return body.toString();
  }

  /**
   * Docker when an engine answers; in CI ({@code HEYKEN_REQUIRE_SANDBOX=true}, set by scripts/test.sh after it
   * started the engine) a missing engine fails the test instead of skipping it.
   */
  static void requireDocker() {
    boolean socket = java.nio.file.Files.exists(java.nio.file.Path.of("/var/run/docker.sock"));
    if ("true".equals(System.getenv("HEYKEN_REQUIRE_SANDBOX"))) {
      if (!socket) {
        throw new AssertionError("HEYKEN_REQUIRE_SANDBOX=true but no Docker engine socket at /var/run/docker.sock: "
            + "run scripts/docker-engine.sh");
      }
    } else {
      Assumptions.assumeTrue(socket, "no Docker engine (scripts/docker-engine.sh starts one)");
    }
  }

  /** Store and both cores with the Docker backend, started and healthy. */
  static HeykenProcesses startWithDocker(String dirPrefix) throws java.io.IOException {
    requireDocker();
    var jar = HeykenProcesses.itJar();
    var heyken = new HeykenProcesses(jar, java.nio.file.Files.createTempDirectory(dirPrefix))
        .withEnv("DOCKER_HOST", "unix:///var/run/docker.sock")
        .withEnv("HEYKEN_SANDBOX_BACKEND", "docker");
    heyken.startBothCores("both cores up", Duration.ofSeconds(90));
    return heyken;
  }

  /** Polls the run until it is no longer running. */
  static JsonNode awaitRun(HeykenProcesses heyken, int port, String featureId, String runId, Duration timeout) {
    JsonNode[] last = new JsonNode[1];
    HeykenProcesses.await("run " + runId + " to finish", timeout, () -> {
      var r = heyken.get(port, "/api/features/" + featureId + "/runs/" + runId);
      last[0] = r.body();
      return r.status() == 200 && r.body() != null && !r.body().path("finished_at").isNull()
          && !r.body().path("finished_at").isMissingNode();
    });
    return last[0];
  }

  /** Runs the docker CLI; its output (stdout and stderr). A failure is an AssertionError, except removing a network. */
  static String docker(String... args) throws java.io.IOException, InterruptedException {
    var command = new java.util.ArrayList<String>();
    command.add("docker");
    command.addAll(java.util.List.of(args));
    var p = new ProcessBuilder(command).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
    if (p.waitFor() != 0 && !(args[0].equals("network") && args[1].equals("rm"))) {
      throw new AssertionError("docker " + String.join(" ", args) + " failed: " + out);
    }
    return out;
  }

  /** Whatever a test did: no container of this installation outlives it. */
  static void removeContainers(String installation) throws java.io.IOException, InterruptedException {
    if (installation == null || installation.isEmpty()) {
      return;
    }
    for (String id : docker("ps", "-aq", "--filter", "label=heyken.installation=" + installation).split("\\s+")) {
      if (!id.isBlank()) {
        docker("rm", "-f", id);
      }
    }
  }
}
