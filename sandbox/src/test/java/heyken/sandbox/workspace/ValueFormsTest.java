package heyken.sandbox.workspace;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/** Durations, sizes and paths as people write them. */
class ValueFormsTest {

  @ParameterizedTest
  @CsvSource({
      "3600, 3600", "30s, 30", "10 minutes, 600", "1h 30m, 5400", "1h30m, 5400", "1 hour and 30 minutes, 5400",
      "'2 hours, 5 mins', 7500", "1.5h, 5400", "1 day, 86400", "2w, 1209600", "45 sec, 45", "1 HOUR, 3600"})
  void gitLabTimeoutFormsAreRead(String text, long seconds) {
    assertEquals(Duration.ofSeconds(seconds), DurationText.parse(text));
  }

  @ParameterizedTest
  @ValueSource(strings = {"", "soon", "10 fortnights", "0", "0s", "-5s", "1h abc", "h", "PT30S"})
  void otherDurationsAreRefusedWithExamples(String text) {
    var e = assertThrows(IllegalArgumentException.class, () -> DurationText.parse(text));
    assertTrue(e.getMessage().contains("e.g. 30s"), e.getMessage());
  }

  @Test
  void durationsAreShownInAFormThatReadsBack() {
    for (long s : new long[] {1, 59, 60, 90, 3600, 5400, 90061}) {
      Duration d = Duration.ofSeconds(s);
      assertEquals(d, DurationText.parse(DurationText.format(d)));
    }
    assertEquals("1h 30m", DurationText.format(Duration.ofMinutes(90)));
    assertEquals("1.5s", DurationText.format(Duration.ofMillis(1500)));
    assertEquals(Duration.ofMillis(1500), DurationText.parse("1.5s"));
  }

  @ParameterizedTest
  @CsvSource({"512, 512", "1k, 1024", "1KiB, 1024", "1kB, 1000", "2M, 2097152", "2MB, 2000000", "1G, 1073741824"})
  void sizesAreRead(String text, long bytes) {
    assertEquals(bytes, ByteSize.parse(text));
  }

  @ParameterizedTest
  @ValueSource(strings = {"", "lots", "12 parsecs", "-1Mi", "1e9"})
  void otherSizesAreRefused(String text) {
    assertThrows(IllegalArgumentException.class, () -> ByteSize.parse(text));
  }

  @Test
  void sizesAreShownReadably() {
    assertEquals("512 B", ByteSize.format(512));
    assertEquals("1 MiB", ByteSize.format(1 << 20));
    assertEquals("1.5 GiB", ByteSize.format(3L << 29));
  }

  @ParameterizedTest
  @ValueSource(strings = {"a", "src/main.py", ".gitlab-ci.yml", ".gitignore", "dir/.git-hooks/x", "a b/c d", "ünï/ç",
      "..hidden", "a..b"})
  void ordinaryPathsPass(String path) {
    assertEquals(Optional.empty(), PathGuard.problem(path));
  }

  @Test
  void pathsAreShownSafely() {
    assertEquals("a\\u0000b", PathGuard.display("a\0b"));
    String shown = PathGuard.display("x".repeat(300));
    assertTrue(shown.startsWith("x".repeat(80) + "…(300 characters)"), shown);
  }
}
