package heyken.sandbox.workspace;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import heyken.sandbox.SandboxPolicy;
import heyken.sandbox.workspace.FeatureManifest.InvalidManifestException;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class FeatureManifestTest {

  private static final long MIB = 1L << 20;
  private static final SandboxPolicy DEFAULTS =
      new SandboxPolicy(256 * MIB, 1.0, 128, Duration.ofSeconds(60), 256 * 1024, 64 * MIB);
  private static final SandboxPolicy MAX =
      new SandboxPolicy(1024 * MIB, 2.0, 512, Duration.ofMinutes(10), 4 * 1024 * 1024, 256 * MIB);

  @Test
  void aCompleteManifestIsRead() {
    FeatureManifest m = FeatureManifest.parse("""
        name: Weather
        description: Tells the weather of a city
        command: weather
        run: python3 main.py
        image: python:3.11
        timeout: 30s
        limits:
          memory: 128Mi
          cpus: 0.5
          pids: 64
        """);
    assertEquals("Weather", m.name());
    assertEquals("Tells the weather of a city", m.description());
    assertEquals("weather", m.command());
    assertEquals("python3 main.py", m.run());
    assertEquals("python:3.11", m.image());
    assertEquals(Duration.ofSeconds(30), m.timeout());
    assertEquals(new FeatureManifest.ResourceLimits(128 * MIB, 0.5, 64), m.limits());
    assertEquals(List.of(), m.warnings());
    assertEquals(Optional.empty(), m.deploymentProblem());
  }

  @Test
  void aDraftNeedsOnlyAName() {
    FeatureManifest m = FeatureManifest.parse("name: Draft\n");
    assertEquals("", m.description());
    assertNull(m.command());
    assertNull(m.run());
    assertNull(m.timeout());
    assertEquals(FeatureManifest.ResourceLimits.NONE, m.limits());
    assertTrue(m.deploymentProblem().orElseThrow().contains("no 'run'"));
  }

  @Test
  void unknownKeysAreWarnedWithTheirLine() {
    FeatureManifest m = FeatureManifest.parse("""
        name: X
        entrypoint: main.py
        limits:
          memory: 64Mi
          disk: 1Gi
        """);
    assertEquals(2, m.warnings().size(), m.warnings().toString());
    assertTrue(m.warnings().get(0).startsWith("line 2: key 'entrypoint' is not known in heyken.yml and is ignored"),
        m.warnings().get(0));
    assertTrue(m.warnings().get(1).startsWith("line 5: key 'limits.disk'"), m.warnings().get(1));
  }

  @Test
  void badValuesAreErrorsWithTheirLinesAllAtOnce() {
    var e = assertThrows(InvalidManifestException.class, () -> FeatureManifest.parse("""
        name: X
        command: Not A Command
        timeout: soon
        limits:
          memory: lots
          cpus: -1
          pids: many
        run: [a, b]
        """));
    List<Integer> lines = e.problems().stream().map(YamlProblem::line).toList();
    assertEquals(List.of(2, 3, 5, 6, 7, 8), lines, e.getMessage());
    assertEquals(2, e.line());
    assertTrue(e.getMessage().contains("line 3: 'timeout': 'soon' is not a duration"), e.getMessage());
    assertTrue(e.getMessage().contains("line 5: 'limits.memory': 'lots' is not a size"), e.getMessage());
    assertTrue(e.getMessage().contains("line 8: 'run' must be a single value, got a list"), e.getMessage());
  }

  @Test
  void aMissingNameIsAnError() {
    var e = assertThrows(InvalidManifestException.class, () -> FeatureManifest.parse("run: ./x\n"));
    assertTrue(e.getMessage().contains("'name' is missing"), e.getMessage());
  }

  @Test
  void invalidYamlIsAnErrorWithLineAndColumn() {
    var e = assertThrows(InvalidManifestException.class,
        () -> FeatureManifest.parse("name: X\nrun: echo: a: b\n"));
    assertEquals(2, e.line());
    assertTrue(e.getMessage().startsWith("line 2, column 10: invalid YAML: mapping values are not allowed here"),
        e.getMessage());
  }

  @Test
  void anEmptyOrNonMappingFileIsAnError() {
    assertThrows(InvalidManifestException.class, () -> FeatureManifest.parse(""));
    assertThrows(InvalidManifestException.class, () -> FeatureManifest.parse("# only a comment\n"));
    var e = assertThrows(InvalidManifestException.class, () -> FeatureManifest.parse("- a\n- b\n"));
    assertTrue(e.getMessage().contains("must be a mapping"), e.getMessage());
  }

  @Test
  void aCommandWrittenWithItsBangIsUnderstoodOrExplained() {
    assertEquals("weather", FeatureManifest.parse("name: X\ncommand: \"!weather\"\n").command());
    var e = assertThrows(InvalidManifestException.class, () -> FeatureManifest.parse("name: X\ncommand: !weather\n"));
    assertTrue(e.getMessage().contains("write it without '!', e.g. command: weather"), e.getMessage());
  }

  @ParameterizedTest
  @CsvSource({"30s, 30", "2m, 120", "90, 90", "1h 30m, 5400", "'10 minutes', 600"})
  void timeoutsAreDurationsOrSeconds(String written, long seconds) {
    assertEquals(Duration.ofSeconds(seconds), FeatureManifest.parse("name: X\ntimeout: " + written + "\n").timeout());
  }

  @ParameterizedTest
  @CsvSource({"128Mi, 134217728", "128MB, 128000000", "256m, 268435456", "1Gi, 1073741824", "0.5Gi, 536870912"})
  void memoryIsReadInTheUsualUnits(String written, long bytes) {
    assertEquals(bytes, FeatureManifest.parse("name: X\nlimits: {memory: " + written + "}\n").limits().memoryBytes());
  }

  @Test
  void valuesAboveTheMaximumAreLoweredWithAWarningNeverRaised() {
    FeatureManifest m = FeatureManifest.parse("""
        name: Greedy
        timeout: 1h
        limits: {memory: 8Gi, cpus: 16, pids: 64}
        """);
    SandboxPolicy p = m.policy(DEFAULTS, MAX);
    assertEquals(MAX.memoryBytes(), p.memoryBytes());
    assertEquals(MAX.cpus(), p.cpus());
    assertEquals(64, p.pids(), "a value within the maximum is taken as asked");
    assertEquals(MAX.wallTime(), p.wallTime());
    assertEquals(DEFAULTS.outputCapBytes(), p.outputCapBytes());
    List<String> warnings = m.policyWarnings(DEFAULTS, MAX);
    assertEquals(3, warnings.size(), warnings.toString());
    assertTrue(warnings.contains("heyken.yml limits.memory 8 GiB is above this installation's maximum of 1 GiB; 1 GiB "
        + "is used"), warnings.toString());
    assertTrue(warnings.stream().anyMatch(w -> w.startsWith("heyken.yml timeout 1h is above")), warnings.toString());
  }

  @Test
  void absentValuesTakeTheDefaultsAndLowerOnesAreKept() {
    SandboxPolicy p = FeatureManifest.parse("name: X\ntimeout: 5s\nlimits: {memory: 32Mi}\n").policy(DEFAULTS, MAX);
    assertEquals(32 * MIB, p.memoryBytes());
    assertEquals(Duration.ofSeconds(5), p.wallTime());
    assertEquals(DEFAULTS.cpus(), p.cpus());
    assertEquals(DEFAULTS.pids(), p.pids());
  }

  @Test
  void memoryBelowTheSandboxMinimumIsAnError() {
    var e = assertThrows(InvalidManifestException.class,
        () -> FeatureManifest.parse("name: X\nlimits:\n  memory: 1Mi\n"));
    assertTrue(e.getMessage().contains("line 3: 'limits.memory' must be at least 4Mi"), e.getMessage());
  }

  @Test
  void theSkeletonReadsBackWhateverTheNameHolds() {
    for (String name : List.of("Weather", "a: b # c", "quote \" and \\ backslash", "line\nbreak",
        "tab\tand \u2028 inside", "'single'", "!bang", "émoji 🌦")) {
      FeatureManifest m = FeatureManifest.parse(FeatureManifest.skeleton(name, "desc of " + name));
      assertEquals(name, m.name());
      assertEquals("desc of " + name, m.description());
      assertEquals(List.of(), m.warnings());
    }
    assertTrue(FeatureManifest.skeleton("Weather Now!", "").contains("# command: weather-now"));
  }
}
