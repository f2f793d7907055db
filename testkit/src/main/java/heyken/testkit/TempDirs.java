package heyken.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;

/**
 * Removing what a test made under {@code /tmp}, also when it failed (issue 16, finding 11: {@code scripts/test.sh}
 * fails when a {@code /tmp/heyken-*} entry is left behind). {@code HEYKEN_KEEP_TEST_DIRS=true} keeps them, to read
 * the logs of a failed integration test: each kept directory is printed.
 */
public final class TempDirs {

  private TempDirs() {}

  /** Deletes {@code dir} and everything below it; a missing directory is fine, a file that stays is reported. */
  public static void delete(Path dir) {
    if (dir == null || !Files.exists(dir)) {
      return;
    }
    if ("true".equalsIgnoreCase(System.getenv("HEYKEN_KEEP_TEST_DIRS"))) {
      System.err.println("HEYKEN_KEEP_TEST_DIRS=true: kept " + dir);
      return;
    }
    // deepest first; Files.walk does not follow links, so nothing outside the directory is touched. Again when a file
    // vanished under the walk (a process that was still exiting)
    for (int attempt = 0; attempt < 3 && Files.exists(dir, LinkOption.NOFOLLOW_LINKS); attempt++) {
      try (Stream<Path> paths = Files.walk(dir)) {
        paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      } catch (IOException | UncheckedIOException e) {
        // what stayed is reported below
      }
    }
    if (Files.exists(dir, LinkOption.NOFOLLOW_LINKS)) {
      System.err.println("could not delete the test directory " + dir + ": remove it by hand");
    }
  }

  /** {@link #delete} as a resource, for {@code HeykenProcesses.closeAll(..., TempDirs.removal(dir))}. */
  public static AutoCloseable removal(Path dir) {
    return () -> delete(dir);
  }
}
