package heyken.actors.feature;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import heyken.sandbox.workspace.GitImportException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Where a git_url may point: never into the data directory, however the path is spelled (through /proc/self/cwd,
 * /proc/self/root or a symbolic link), never into /proc; only below the import roots and to the import hosts when
 * they are configured.
 */
class ImportGuardTest {

  private Path tmp;
  private Path data;
  private Path outside;

  @BeforeEach
  void dirs() throws Exception {
    // below the working directory, so that /proc/self/cwd reaches it
    tmp = Files.createTempDirectory(Path.of("target").toAbsolutePath(), "import-guard-");
    data = Files.createDirectories(tmp.resolve("data/git/1.git"));
    outside = Files.createDirectories(tmp.resolve("elsewhere/repo.git"));
  }

  @AfterEach
  void clean() throws Exception {
    heyken.sandbox.JobWorkDir.deleteTree(tmp);
  }

  private ImportGuard guard(String roots, String hosts) {
    return ImportGuard.from(ConfigFactory.parseString("heyken.import { roots = \"" + roots + "\", hosts = \"" + hosts
        + "\" }"), List.of(tmp.resolve("data")));
  }

  private static void refused(ImportGuard guard, String url, String because) {
    var e = assertThrows(GitImportException.class, () -> guard.check(url), url);
    assertTrue(e.getMessage().contains(because), url + ": " + e.getMessage());
  }

  @Test
  void theDataDirectoryIsRefusedHoweverThePathIsSpelled() throws Exception {
    var guard = guard("", "");
    Path cwd = Path.of("").toAbsolutePath();
    String relative = cwd.relativize(data).toString();
    refused(guard, data.toUri().toString(), "data directory");
    refused(guard, "file:///proc/self/cwd/" + relative, "/proc");
    refused(guard, "file:///proc/self/root" + data, "/proc");
    refused(guard, "file://" + tmp.resolve("elsewhere/../data/git/1.git"), "data directory");
    Path link = Files.createSymbolicLink(tmp.resolve("elsewhere/link.git"), data);
    refused(guard, link.toUri().toString(), "data directory");
    Path toProc = Files.createSymbolicLink(tmp.resolve("elsewhere/proc"), Path.of("/proc/self/cwd"));
    // a link through /proc resolves to where it leads: the data directory again
    refused(guard, toProc.toUri().toString() + "/" + relative, "data directory");
  }

  @Test
  void aRepositoryElsewhereIsImportedByItsRealPath() throws Exception {
    Path link = Files.createSymbolicLink(tmp.resolve("link.git"), outside);
    assertEquals("file://" + outside.toRealPath(), guard("", "").check(link.toUri().toString()));
    refused(guard("", ""), "file://" + tmp.resolve("missing.git"), "no git repository");
  }

  @Test
  void withImportRootsOnlyRepositoriesBelowThemAreImported() throws Exception {
    Path allowed = Files.createDirectories(tmp.resolve("allowed/ok.git"));
    var guard = guard(tmp.resolve("allowed").toString(), "");
    assertEquals("file://" + allowed.toRealPath(), guard.check(allowed.toUri().toString()));
    refused(guard, outside.toUri().toString(), "HEYKEN_IMPORT_ROOTS");
    Path escape = Files.createSymbolicLink(tmp.resolve("allowed/escape.git"), outside);
    refused(guard, escape.toUri().toString(), "HEYKEN_IMPORT_ROOTS");
    assertThrows(IllegalArgumentException.class, () -> guard("relative/dir", ""));
  }

  @Test
  void withImportHostsOnlyThoseHostsAreAsked() {
    var open = guard("", "");
    assertEquals("http://127.0.0.1:27017/x.git", open.check("http://127.0.0.1:27017/x.git"));
    var guard = guard("", "git.example.org, GitLab.local");
    assertEquals("https://git.example.org/a/b.git", guard.check("https://git.example.org/a/b.git"));
    assertEquals("http://gitlab.local:8080/a.git", guard.check("http://gitlab.local:8080/a.git"));
    refused(guard, "http://127.0.0.1:27017/x.git", "HEYKEN_IMPORT_HOSTS");
    refused(guard, "https://git.example.org.evil/x.git", "HEYKEN_IMPORT_HOSTS");
  }
}
