package heyken.testkit;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import heyken.testkit.gitlab.GitLabStandIn;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What a test made in /tmp goes when it is done (issue 16, finding 11), and nothing outside it. */
class TempDirsTest {

  @BeforeEach
  void deletingIsOn() {
    assumeFalse("true".equalsIgnoreCase(System.getenv("HEYKEN_KEEP_TEST_DIRS")),
        "HEYKEN_KEEP_TEST_DIRS=true asks to keep the tests' directories");
  }

  @Test
  void aTreeGoesWholeButALinkOutOfItIsNotFollowed(@TempDir Path outside) throws Exception {
    Path keep = Files.writeString(outside.resolve("not-the-tests.txt"), "stays");
    Path dir = Files.createTempDirectory("heyken-tempdirs-test-");
    Files.createDirectories(dir.resolve("a/b"));
    Files.writeString(dir.resolve("a/b/file"), "x");
    Files.setPosixFilePermissions(dir.resolve("a/b/file"), PosixFilePermissions.fromString("r--------"));
    Files.createSymbolicLink(dir.resolve("a/link"), outside);
    TempDirs.delete(dir);
    assertFalse(Files.exists(dir), dir + " is still there");
    assertTrue(Files.exists(keep), "the link was followed out of the directory");
    TempDirs.delete(dir); // gone already: nothing to do, no error
  }

  @Test
  void theGitLabStandInRemovesItsRepositoriesOnClose() throws Exception {
    Path dir = Files.createTempDirectory("heyken-gitlab-close-test-");
    var gitlab = GitLabStandIn.start(dir, "t0ken", "heyken");
    Files.writeString(dir.resolve("marker"), "x");
    gitlab.close();
    assertFalse(Files.exists(dir), "the stand-in left " + dir);
  }
}
