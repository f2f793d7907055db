package heyken.sandbox;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The bubblewrap backend's generated /etc folders: a JVM killed before close() leaves one; the next one removes it. */
class BubblewrapEtcSweepTest {

  @TempDir
  Path tmp;

  @Test
  void foldersOfDeadJvmsAreRemovedAndThoseOfLiveOnesKept() throws Exception {
    Process exited = new ProcessBuilder("true").start();
    exited.waitFor();
    Process alive = new ProcessBuilder("sleep", "30").start();
    try {
      Path dead = Files.createDirectories(tmp.resolve("heyken-bwrap-etc-" + exited.pid() + "-123"));
      Files.writeString(dead.resolve("hosts"), "127.0.0.1 localhost\n");
      Path mine = Files.createDirectories(tmp.resolve("heyken-bwrap-etc-" + ProcessHandle.current().pid() + "-1"));
      Path other = Files.createDirectories(tmp.resolve("heyken-bwrap-etc-" + alive.pid() + "-1"));
      Path oldForm = Files.createDirectories(tmp.resolve("heyken-bwrap-etc-10205389153420708151"));
      Files.setLastModifiedTime(oldForm, FileTime.from(Instant.now().minusSeconds(7200)));
      Path freshOldForm = Files.createDirectories(tmp.resolve("heyken-bwrap-etc-99999999999999999"));
      Path unrelated = Files.createDirectories(tmp.resolve("heyken-bwrap-probe-1"));

      assertEquals(2, BubblewrapSandbox.sweepStale(tmp));
      assertFalse(Files.exists(dead), "a dead JVM's folder is removed");
      assertFalse(Files.exists(oldForm), "an hour-old folder of the unnamed form is removed");
      assertTrue(Files.isDirectory(mine));
      assertTrue(Files.isDirectory(other), "a running JVM's folder is kept");
      assertTrue(Files.isDirectory(freshOldForm), "a recent unnamed folder may belong to a running older version");
      assertTrue(Files.isDirectory(unrelated));
    } finally {
      alive.destroyForcibly();
    }
  }
}
