package heyken.testkit;

import java.io.IOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;

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
    try {
      Files.walkFileTree(dir, new SimpleFileVisitor<>() {
        @Override
        public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
          Files.deleteIfExists(file);
          return FileVisitResult.CONTINUE;
        }

        @Override
        public FileVisitResult visitFileFailed(Path file, IOException e) throws IOException {
          if (e instanceof NoSuchFileException) {
            return FileVisitResult.CONTINUE; // removed meanwhile (a process that was still exiting)
          }
          throw e;
        }

        @Override
        public FileVisitResult postVisitDirectory(Path d, IOException e) throws IOException {
          Files.deleteIfExists(d);
          return FileVisitResult.CONTINUE;
        }
      });
    } catch (IOException e) {
      System.err.println("could not delete the test directory " + dir + " (" + e + "): remove it by hand");
    }
  }

  /** {@link #delete} as a resource, for {@code HeykenProcesses.closeAll(..., TempDirs.removal(dir))}. */
  public static AutoCloseable removal(Path dir) {
    return () -> delete(dir);
  }
}
