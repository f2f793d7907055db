package heyken.sandbox;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.io.File;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

class SandboxSettingsTest {

  /** The project's one application.conf, without the environment's overrides. */
  private static Config rootConfig(String overrides) {
    return ConfigFactory.parseString(overrides)
        .withFallback(ConfigFactory.parseFile(new File("../application.conf")))
        .resolve(com.typesafe.config.ConfigResolveOptions.defaults().setUseSystemEnvironment(false));
  }

  @Test
  void theApplicationConfDefaultsAreRead() {
    var settings = SandboxSettings.from(rootConfig("heyken.data-dir = \"/srv/heyken\""));
    assertEquals("auto", settings.backend());
    assertEquals("sandbox/python:1", settings.defaultImage());
    assertEquals(List.of("python", "busybox", "alpine"), List.copyOf(settings.imageAliases().keySet()));
    assertEquals(Path.of("/srv/heyken/work"), settings.workDir());
    assertEquals(Path.of("/srv/heyken/git"), settings.gitDir());
    assertEquals(4, settings.maxConcurrentJobs());
    assertEquals(new SandboxPolicy(256L << 20, 1.0, 128, Duration.ofSeconds(60), 256 << 10, 64L << 20, 192L << 20),
        settings.policy());
    assertEquals(new SandboxPolicy(1L << 30, 2.0, 512, Duration.ofMinutes(10), 4 << 20, 256L << 20, 512L << 20),
        settings.maxPolicy());
    assertEquals(Duration.ofSeconds(20), settings.invokeTimeout());
    assertEquals(new SandboxSettings.RepositoryLimits(200, 1L << 20, 5L << 20), settings.repositoryLimits());
    assertEquals("unix:///var/run/docker.sock", settings.dockerHost());
  }

  @Test
  void theDiskBoundOfWorkIsASettingAndMayNotExceedTheMaximum() {
    var settings = SandboxSettings.from(rootConfig("heyken.data-dir = \"/srv/heyken\"\n"
        + "heyken.sandbox.policy.disk = 64MiB"));
    assertEquals(64L << 20, settings.policy().diskBytes());
    var tooMuch = assertThrows(IllegalArgumentException.class, () -> SandboxSettings.from(rootConfig(
        "heyken.data-dir = \"/srv/heyken\"\nheyken.sandbox.policy.disk = 1GiB")));
    assertTrue(tooMuch.getMessage().contains("max-policy"), tooMuch.getMessage());
  }

  @Test
  void aRelativeDataDirIsResolvedAgainstTheWorkingDirectory() {
    var settings = SandboxSettings.from(rootConfig("heyken.data-dir = data, heyken.sandbox.git-dir = \"/var/git\""));
    assertEquals(Path.of("data/work").toAbsolutePath().normalize(), settings.workDir());
    assertEquals(Path.of("/var/git"), settings.gitDir());
  }

  @Test
  void anUnknownBackendIsRefusedWithTheChoices() {
    var e = assertThrows(IllegalArgumentException.class,
        () -> SandboxSettings.from(rootConfig("heyken.sandbox.backend = podman")));
    assertTrue(e.getMessage().contains("must be auto, docker or bubblewrap"), e.getMessage());
  }

  @Test
  void aDefaultPolicyAboveTheMaximumIsRefused() {
    var e = assertThrows(IllegalArgumentException.class,
        () -> SandboxSettings.from(rootConfig("heyken.sandbox.policy.memory = 2GiB")));
    assertTrue(e.getMessage().contains("exceeds heyken.sandbox.max-policy"), e.getMessage());
  }

  @Test
  void imagesAreResolvedByTheConfiguredAliases() {
    var settings = SandboxSettings.from(rootConfig(""));
    assertEquals("sandbox/python:1", settings.resolveImage(null));
    assertEquals("sandbox/python:1", settings.resolveImage("python:3.11-slim"));
    assertEquals("sandbox/busybox:1", settings.resolveImage("alpine:3.19"));
    assertEquals("sandbox/busybox:1", settings.resolveImage("busybox"));
    assertEquals("sandbox/custom:2", settings.resolveImage("sandbox/custom:2"));
    assertEquals("node:20", settings.resolveImage("node:20"));
  }
}
