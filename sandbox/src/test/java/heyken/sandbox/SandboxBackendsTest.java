package heyken.sandbox;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigResolveOptions;
import java.io.File;
import java.nio.file.Files;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class SandboxBackendsTest {

  private static final String NO_ENGINE = "unix:///nonexistent/heyken-test-docker.sock";

  private static SandboxSettings settings(String backend, String dockerHost) {
    var config = ConfigFactory.parseMap(Map.of("heyken.sandbox.backend", backend,
            "heyken.components.docker-host", dockerHost))
        .withFallback(ConfigFactory.parseFile(new File("../application.conf")))
        .resolve(ConfigResolveOptions.defaults().setUseSystemEnvironment(false));
    return SandboxSettings.from(config);
  }

  @Test
  void autoTakesDockerWhenItsEngineAnswers() {
    var settings = settings("auto", "unix:///var/run/docker.sock");
    try (var docker = new DockerSandbox(settings)) {
      assumeTrue(docker.availability().available(), "no Docker engine here");
    }
    try (var chosen = SandboxBackends.select(settings)) {
      assertInstanceOf(DockerSandbox.class, chosen);
    }
  }

  @Test
  void autoFallsBackToBubblewrapWhenNoEngineAnswers() {
    try (var bubblewrap = new BubblewrapSandbox()) {
      assumeTrue(bubblewrap.availability().available(), "no bubblewrap here");
    }
    try (var chosen = SandboxBackends.select(settings("auto", NO_ENGINE))) {
      assertInstanceOf(BubblewrapSandbox.class, chosen);
    }
  }

  @Test
  void aConfiguredDockerWithoutEngineIsKeptAndSaysWhatToDo() throws Exception {
    try (var chosen = SandboxBackends.select(settings("docker", NO_ENGINE))) {
      assertInstanceOf(DockerSandbox.class, chosen);
      var availability = chosen.availability();
      assertFalse(availability.available());
      assertTrue(availability.detail().contains("scripts/docker-engine.sh"), availability.detail());
      var dir = Files.createTempDirectory("heyken-backends-test-");
      try {
        var result = chosen.run(new SandboxSpec("no-engine-job", "sandbox/busybox:1", List.of("true"), Map.of(), dir,
            null, settings("docker", NO_ENGINE).policy()), SandboxBackend.OutputListener.NONE);
        assertEquals(SandboxResult.Reason.ERROR, result.reason());
        assertTrue(result.detail().contains("scripts/docker-engine.sh"), result.detail());
      } finally {
        JobWorkDir.deleteTree(dir);
      }
    }
  }

  @Test
  void aConfiguredBubblewrapIsTaken() {
    try (var chosen = SandboxBackends.select(settings("bubblewrap", NO_ENGINE))) {
      assertInstanceOf(BubblewrapSandbox.class, chosen);
      assertEquals("bubblewrap", chosen.name());
    }
  }
}
