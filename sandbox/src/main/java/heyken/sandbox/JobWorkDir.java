package heyken.sandbox;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.util.EnumSet;
import java.util.Set;

/**
 * The host side of a job's files: the work directory both backends bind at {@code /work}, made writable for the
 * sandbox user 65534, and private scratch directories that are removed after the job.
 */
public final class JobWorkDir {

  /** The user and group every job runs as (nobody / nogroup). */
  static final int SANDBOX_UID = 65534;

  private static final boolean ROOT = currentUid() == 0;

  private JobWorkDir() {}

  /** Whether this JVM runs as root: it can then hand files to uid 65534 and join cgroups. */
  static boolean runningAsRoot() {
    return ROOT;
  }

  /**
   * Creates {@code dir} if needed and lets uid 65534 write everything in it: as root by handing it over (chown -R),
   * otherwise by opening it to everyone (the job then writes files the host user can still read and delete).
   */
  static void prepare(Path dir) {
    try {
      Files.createDirectories(dir);
      Files.walkFileTree(dir, new SimpleFileVisitor<>() {
        @Override
        public FileVisitResult preVisitDirectory(Path d, BasicFileAttributes attrs) throws IOException {
          handOver(d, true);
          return FileVisitResult.CONTINUE;
        }

        @Override
        public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
          if (!attrs.isSymbolicLink()) {
            handOver(file, false);
          }
          return FileVisitResult.CONTINUE;
        }
      });
    } catch (IOException e) {
      throw new UncheckedIOException("cannot make the work directory " + dir + " writable for the sandbox user "
          + SANDBOX_UID + ": " + e.getMessage(), e);
    }
  }

  /** A fresh directory only the sandbox user (and root) can read, for files handed to one job read-only. */
  static Path createPrivate(String prefix) throws IOException {
    Path dir = Files.createTempDirectory(prefix);
    if (ROOT) {
      Files.setAttribute(dir, "unix:uid", SANDBOX_UID, LinkOption.NOFOLLOW_LINKS);
      Files.setAttribute(dir, "unix:gid", SANDBOX_UID, LinkOption.NOFOLLOW_LINKS);
      Files.setPosixFilePermissions(dir, EnumSet.of(PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_EXECUTE));
    } else {
      Files.setPosixFilePermissions(dir, EnumSet.of(PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE,
          PosixFilePermission.OWNER_EXECUTE, PosixFilePermission.GROUP_READ, PosixFilePermission.GROUP_EXECUTE,
          PosixFilePermission.OTHERS_READ, PosixFilePermission.OTHERS_EXECUTE));
    }
    return dir;
  }

  /** Writes a file in a {@link #createPrivate} directory, readable by the sandbox user. */
  static void writePrivate(Path file, byte[] content) throws IOException {
    Files.write(file, content);
    if (ROOT) {
      Files.setAttribute(file, "unix:uid", SANDBOX_UID, LinkOption.NOFOLLOW_LINKS);
      Files.setAttribute(file, "unix:gid", SANDBOX_UID, LinkOption.NOFOLLOW_LINKS);
      Files.setPosixFilePermissions(file, EnumSet.of(PosixFilePermission.OWNER_READ));
    } else {
      Files.setPosixFilePermissions(file, EnumSet.of(PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE,
          PosixFilePermission.GROUP_READ, PosixFilePermission.OTHERS_READ));
    }
  }

  /** Deletes a directory tree; what cannot be deleted stays (logged by the caller). */
  public static void deleteTree(Path dir) throws IOException {
    if (!Files.exists(dir, LinkOption.NOFOLLOW_LINKS)) {
      return;
    }
    Files.walkFileTree(dir, new SimpleFileVisitor<>() {
      @Override
      public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
        Files.delete(file);
        return FileVisitResult.CONTINUE;
      }

      @Override
      public FileVisitResult postVisitDirectory(Path d, IOException e) throws IOException {
        Files.delete(d);
        return FileVisitResult.CONTINUE;
      }
    });
  }

  /** The first ancestor of {@code dir} that uid 65534 cannot pass through (no search bit for others), or null. */
  static Path firstUnreachableAncestor(Path dir) throws IOException {
    Path absolute = dir.toAbsolutePath().normalize();
    for (Path p = absolute.getRoot(); p != null; p = next(absolute, p)) {
      Set<PosixFilePermission> perms = Files.getPosixFilePermissions(p);
      int owner = (Integer) Files.getAttribute(p, "unix:uid");
      boolean passable = owner == SANDBOX_UID ? perms.contains(PosixFilePermission.OWNER_EXECUTE)
          : perms.contains(PosixFilePermission.OTHERS_EXECUTE);
      if (!passable) {
        return p;
      }
    }
    return null;
  }

  private static Path next(Path target, Path current) {
    if (current.equals(target)) {
      return null;
    }
    Path relative = current.relativize(target);
    return current.resolve(relative.getName(0));
  }

  private static void handOver(Path p, boolean directory) throws IOException {
    if (ROOT) {
      Files.setAttribute(p, "unix:uid", SANDBOX_UID, LinkOption.NOFOLLOW_LINKS);
      Files.setAttribute(p, "unix:gid", SANDBOX_UID, LinkOption.NOFOLLOW_LINKS);
    } else {
      var perms = Files.getPosixFilePermissions(p, LinkOption.NOFOLLOW_LINKS);
      perms.add(PosixFilePermission.OTHERS_READ);
      perms.add(PosixFilePermission.OTHERS_WRITE);
      if (directory) {
        perms.add(PosixFilePermission.OTHERS_EXECUTE);
      }
      Files.setPosixFilePermissions(p, perms);
    }
  }

  private static int currentUid() {
    try {
      // /proc/self belongs to the process's effective user
      return (Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid");
    } catch (IOException | UnsupportedOperationException e) {
      return -1;
    }
  }
}
