package heyken.actors.services;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import heyken.protocol.api.service.ServiceRequest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * Against the real Docker engine: a service's container runs as uid 65534 with no capabilities, no new privileges and
 * bounded memory, cpus and pids, unless its spec raised a limit; what the spec raised is what the container gets.
 */
class DockerServiceEngineLimitsTest {

  private static void requireDocker() {
    boolean socket = Files.exists(Path.of("/var/run/docker.sock"));
    if ("true".equals(System.getenv("HEYKEN_REQUIRE_SANDBOX")) || "true".equals(System.getenv("CI"))) {
      if (!socket) {
        throw new AssertionError("a Docker engine is required here but /var/run/docker.sock is missing: run "
            + "scripts/docker-engine.sh");
      }
    } else {
      Assumptions.assumeTrue(socket, "no Docker engine (scripts/docker-engine.sh starts one)");
    }
  }

  private static String docker(String... args) throws Exception {
    var command = new java.util.ArrayList<String>(List.of("docker"));
    command.addAll(List.of(args));
    var p = new ProcessBuilder(command).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes());
    p.waitFor();
    return out.trim();
  }

  @Test
  void aServiceRunsUnprivilegedWithinTheLimits() throws Exception {
    requireDocker();
    String installation = "limits-" + UUID.randomUUID().toString().substring(0, 8);
    try (var engine = new DockerServiceEngine("unix:///var/run/docker.sock", ServicePolicy.DEFAULT)) {
      var plain = ServiceSpec.validate(new ServiceRequest("plain", "sandbox/busybox:1", null, null,
          List.of("sleep", "600"), null, "no"), "127.0.0.1").spec();
      var raised = ServiceSpec.validate(new ServiceRequest("raised", "sandbox/busybox:1", null, null,
          List.of("sleep", "600"), null, "no", new ServiceRequest.Limits("1g", 2.0, 1024), "1000:1000"),
          "127.0.0.1").spec();
      String a = engine.create(plain, installation, "none");
      String b = engine.create(raised, installation, "none");
      try {
        String format = "{{.Config.User}} {{.HostConfig.Memory}} {{.HostConfig.MemorySwap}} {{.HostConfig.NanoCpus}} "
            + "{{.HostConfig.PidsLimit}} {{.HostConfig.CapDrop}} {{.HostConfig.SecurityOpt}} {{.HostConfig.Privileged}}";
        assertEquals("65534:65534 536870912 536870912 1000000000 512 [ALL] [no-new-privileges] false",
            docker("inspect", "-f", format, a));
        assertEquals("1000:1000 1073741824 1073741824 2000000000 1024 [ALL] [no-new-privileges] false",
            docker("inspect", "-f", format, b));
        engine.start(a);
        String status = docker("exec", a, "sh", "-c", "id -u; grep -E '^(CapEff|NoNewPrivs)' /proc/self/status");
        assertTrue(status.startsWith("65534"), status);
        assertTrue(status.matches("(?s).*CapEff:\\s+0000000000000000.*"), status);
        assertTrue(status.matches("(?s).*NoNewPrivs:\\s+1.*"), status);
      } finally {
        engine.remove(a);
        engine.remove(b);
      }
    }
  }
}
