package heyken.sandbox.workspace;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import heyken.sandbox.workspace.FeatureRepositories.Limits;
import heyken.sandbox.workspace.FeatureRepositories.Revision;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;
import org.eclipse.jgit.dircache.DirCache;
import org.eclipse.jgit.dircache.DirCacheBuilder;
import org.eclipse.jgit.dircache.DirCacheEntry;
import org.eclipse.jgit.lib.CommitBuilder;
import org.eclipse.jgit.lib.Constants;
import org.eclipse.jgit.lib.FileMode;
import org.eclipse.jgit.lib.ObjectId;
import org.eclipse.jgit.lib.ObjectInserter;
import org.eclipse.jgit.lib.PersonIdent;
import org.eclipse.jgit.lib.RefUpdate;
import org.eclipse.jgit.lib.Repository;
import org.eclipse.jgit.storage.file.FileRepositoryBuilder;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

class FeatureRepositoriesTest {

  private static final long MIB = 1L << 20;
  private static final int MAX_FILES = 20;

  @TempDir
  Path tmp;

  private FeatureRepositories repos;

  @BeforeEach
  void setUp() {
    repos = new FeatureRepositories(tmp.resolve("git"), new Limits(MIB, 5 * MIB, MAX_FILES));
  }

  // ------------------------------------------------------------------------------------------------ create, commit

  @Test
  void createCommitLogAndCheckoutRoundTripKeepsContentAndExecutableBits() throws IOException {
    Revision first = repos.create("f1", Map.of(
        "run.sh", "#!/bin/sh\necho hello\n",
        "src/main.py", "print('hi')\n",
        "heyken.yml", "name: Greeter\nrun: ./run.sh\n"), "first version", "alice");
    assertEquals(40, first.id().length());
    assertEquals(List.of("heyken.yml", "run.sh", "src/main.py"), first.files());
    assertEquals("alice", first.author());
    assertEquals("first version", first.message());

    Revision second = repos.commit("f1", mapOf("src/main.py", "print('hello')\n", "run.sh", "#!/bin/sh\nexec python3 "
        + "src/main.py\n", "heyken.yml", null), "second", "llm");
    assertEquals(List.of("heyken.yml", "run.sh", "src/main.py"), second.files());

    List<Revision> log = repos.log("f1");
    assertEquals(List.of(second.id(), first.id()), log.stream().map(Revision::id).toList());
    assertEquals("llm", log.get(0).author());

    Path old = tmp.resolve("old");
    repos.checkout("f1", first.id(), old);
    assertEquals("print('hi')\n", Files.readString(old.resolve("src/main.py")));
    assertTrue(Files.exists(old.resolve("heyken.yml")));
    assertTrue(Files.getPosixFilePermissions(old.resolve("run.sh")).contains(PosixFilePermission.OWNER_EXECUTE));
    assertFalse(Files.getPosixFilePermissions(old.resolve("src/main.py")).contains(PosixFilePermission.OWNER_EXECUTE));
    assertTrue(Files.getPosixFilePermissions(old.resolve("src/main.py")).contains(PosixFilePermission.OTHERS_READ),
        "the sandbox user must be able to read the files");
    assertFalse(Files.exists(old.resolve(".git")));

    Path now = tmp.resolve("now");
    repos.checkout("f1", second.id().substring(0, 7), now);
    assertFalse(Files.exists(now.resolve("heyken.yml")), "deleted by the null value");
    assertEquals("print('hello')\n", Files.readString(now.resolve("src/main.py")));
    assertTrue(Files.isExecutable(now.resolve("run.sh")), "a rewritten executable stays executable");
  }

  @Test
  void aRewrittenFileKeepsItsModeAndANewShebangFileIsExecutable() throws IOException {
    repos.create("f1", Map.of("tool", "#!/bin/sh\n", "data.txt", "x"), "c", "alice");
    repos.commit("f1", Map.of("tool", "no shebang any more\n", "data.txt", "#!/usr/bin/env python3\n"), "c", "alice");
    Path dir = tmp.resolve("co");
    repos.checkout("f1", "main", dir);
    assertTrue(Files.isExecutable(dir.resolve("tool")));
    assertTrue(Files.isExecutable(dir.resolve("data.txt")));
  }

  @Test
  void aRevisionsDiffIsAgainstTheOneBeforeItAndTheFirstOneAgainstNothing() {
    Revision first = repos.create("f1", Map.of("main.py", "print('hello')\n", "keep.txt", "same\n"), "c", "alice");
    Revision second = repos.commit("f1", Map.of("main.py", "print('HELLO')\n", "new.txt", "added\n"), "c", "alice");
    String initial = repos.diff("f1", first.id(), 1 << 20);
    assertTrue(initial.contains("--- /dev/null\n+++ b/main.py") && initial.contains("+print('hello')"), initial);
    assertTrue(initial.contains("+++ b/keep.txt"), initial);
    String change = repos.diff("f1", second.shortId(), 1 << 20);
    assertTrue(change.contains("-print('hello')\n+print('HELLO')"), change);
    assertTrue(change.contains("+++ b/new.txt") && change.contains("+added"), change);
    assertFalse(change.contains("keep.txt"), "an unchanged file is not in the diff: " + change);
    String cut = repos.diff("f1", first.id(), 40);
    assertTrue(cut.startsWith(initial.substring(0, 40)) && cut.contains("the diff is longer than"), cut);
    assertThrows(UnknownRevisionException.class, () -> repos.diff("f1", "abcdef1234", 1 << 20));
    assertThrows(UnknownRevisionException.class, () -> repos.diff("f1", "not-a-revision", 1 << 20));
  }

  @Test
  void aSkeletonIsAParsableManifestAndAReadme() {
    Revision r = repos.createSkeleton("draft-1", "Weather: \"now\"", "Tells the weather\nof a city", "alice");
    assertEquals(List.of("README.md", "heyken.yml"), r.files());
    String yaml = repos.readFile("draft-1", r.id(), "heyken.yml").orElseThrow();
    FeatureManifest manifest = FeatureManifest.parse(yaml);
    assertEquals("Weather: \"now\"", manifest.name());
    assertEquals("Tells the weather\nof a city", manifest.description());
    assertEquals(null, manifest.run(), "a draft has no run command");
    assertTrue(manifest.deploymentProblem().isPresent());
    assertTrue(repos.readFile("draft-1", r.id(), "README.md").orElseThrow().startsWith("# Weather"));
  }

  @Test
  void aCreateNeedsFilesAndAFreshId() {
    var none = assertThrows(InvalidFilesException.class, () -> repos.create("f1", Map.of(), "m", "alice"));
    assertTrue(none.getMessage().contains("no files"), none.getMessage());
    repos.create("f1", Map.of("a", "1"), "m", "alice");
    assertThrows(FeatureExistsException.class, () -> repos.create("f1", Map.of("b", "2"), "m", "alice"));
    assertThrows(FeatureExistsException.class, () -> repos.createSkeleton("f1", "n", "d", "alice"));
  }

  @Test
  void anUnchangedCommitMakesNoRevisionAndDeletingAMissingFileIsNoError() {
    Revision first = repos.create("f1", Map.of("a.txt", "1"), "m", "alice");
    Revision same = repos.commit("f1", mapOf("a.txt", "1", "never-there.txt", null), "again", "alice");
    assertEquals(first.id(), same.id());
    assertEquals(1, repos.log("f1").size());
  }

  @Test
  void aPathCannotBeAFileAndADirectory() {
    repos.create("f1", Map.of("lib", "a file", "src/x.py", "x"), "m", "alice");
    var e = assertThrows(InvalidFilesException.class, () -> repos.commit("f1", Map.of("lib/y.py", "y"), "m", "a"));
    assertTrue(e.getMessage().contains("'lib/y.py'") && e.getMessage().contains("'lib'"), e.getMessage());
    var dir = assertThrows(InvalidFilesException.class, () -> repos.commit("f1", mapOf("src", null), "m", "a"));
    assertTrue(dir.getMessage().contains("'src': is a directory"), dir.getMessage());
    // replacing the file by a directory in one change is fine
    Revision r = repos.commit("f1", mapOf("lib", null, "lib/y.py", "y"), "m", "a");
    assertEquals(List.of("lib", "lib/y.py"), r.files());
  }

  @Test
  void operationsOnAMissingFeatureSaySo() {
    assertThrows(UnknownFeatureException.class, () -> repos.commit("nope", Map.of("a", "1"), "m", "alice"));
    assertThrows(UnknownFeatureException.class, () -> repos.log("nope"));
    assertThrows(UnknownFeatureException.class, () -> repos.readFile("nope", "main", "a"));
    assertFalse(repos.exists("nope"));
  }

  @Test
  void deleteRemovesTheRepositoryAndIsIdempotent() {
    repos.create("f1", Map.of("a", "1"), "m", "alice");
    assertTrue(repos.exists("f1"));
    repos.delete("f1");
    assertFalse(repos.exists("f1"));
    repos.delete("f1");
    repos.create("f1", Map.of("a", "2"), "m", "alice");
    assertEquals(1, repos.log("f1").size());
  }

  @ParameterizedTest
  @ValueSource(strings = {"", "../x", "UPPER", "a/b", "-leading", "a.git",
      "a1234567890123456789012345678901234567890123456789012345678901234"})
  void featureIdsThatCouldEscapeOrCollideAreRefused(String id) {
    assertThrows(IllegalArgumentException.class, () -> repos.create(id, Map.of("a", "1"), "m", "alice"));
    assertThrows(IllegalArgumentException.class, () -> repos.exists(id));
  }

  @Test
  void commitsToOneFeatureFromManyThreadsAllLand() throws Exception {
    repos.create("f1", Map.of("start", "0"), "m", "alice");
    ExecutorService pool = Executors.newFixedThreadPool(4);
    try {
      var futures = new ArrayList<Future<Revision>>();
      for (int i = 0; i < 12; i++) {
        int n = i;
        futures.add(pool.submit(() -> repos.commit("f1", Map.of("file-" + n, "content " + n), "c" + n, "bot")));
      }
      for (var f : futures) {
        f.get();
      }
    } finally {
      pool.shutdownNow();
    }
    assertEquals(13, repos.log("f1").size());
    Path dir = tmp.resolve("co");
    repos.checkout("f1", "main", dir);
    try (Stream<Path> files = Files.list(dir)) {
      assertEquals(13, files.count());
    }
  }

  // ------------------------------------------------------------------------------------------------ path guard

  static Stream<Arguments> refusedFiles() {
    String longName = "n".repeat(300);
    return Stream.of(
        Arguments.of("../x", "'..'"),
        Arguments.of("/etc/passwd", "absolute"),
        Arguments.of("a/../../b", "'..'"),
        Arguments.of("a\\b", "'\\'"),
        Arguments.of(".git/config", "'.git'"),
        Arguments.of("src/.GIT/hooks/pre-commit", "'.git'"),
        Arguments.of("a\0b", "U+0000"),
        Arguments.of("tab\there", "U+0009"),
        Arguments.of("a//b", "not normalized"),
        Arguments.of("./a", "not normalized"),
        Arguments.of("dir/", "not normalized"),
        Arguments.of(longName, "300 bytes"),
        Arguments.of(("d".repeat(200) + "/").repeat(6) + "f", "bytes long"));
  }

  @ParameterizedTest
  @MethodSource("refusedFiles")
  void unsafePathsAreRefusedNamingThePath(String path, String why) {
    var e = assertThrows(InvalidFilesException.class,
        () -> repos.create("f1", Map.of(path, "x", "ok.txt", "fine"), "m", "alice"));
    assertTrue(e.getMessage().contains("'" + PathGuard.display(path) + "'"), e.getMessage());
    assertTrue(e.getMessage().contains(why), e.getMessage());
    assertEquals(1, e.problems().size());
    assertFalse(repos.exists("f1"), "nothing is kept of a refused create");

    repos.create("f2", Map.of("ok.txt", "fine"), "m", "alice");
    assertThrows(InvalidFilesException.class, () -> repos.commit("f2", Map.of(path, "x"), "m", "alice"));
    assertThrows(InvalidFilesException.class, () -> repos.readFile("f2", "main", path));
  }

  @Test
  void aFileLargerThanTheLimitIsRefusedNamingIt() {
    String tenMegabytes = "x".repeat(10 * 1024 * 1024);
    var e = assertThrows(InvalidFilesException.class,
        () -> repos.create("f1", Map.of("data/big.bin", tenMegabytes), "m", "alice"));
    assertTrue(e.getMessage().contains("'data/big.bin': is 10 MiB; a file may have at most 1 MiB"), e.getMessage());
  }

  @Test
  void aRevisionLargerThanTheLimitIsRefused() {
    String almostOneMegabyte = "x".repeat(1000 * 1000);
    var files = new LinkedHashMap<String, String>();
    for (int i = 0; i < 6; i++) {
      files.put("part-" + i, almostOneMegabyte);
    }
    var e = assertThrows(InvalidFilesException.class, () -> repos.create("f1", files, "m", "alice"));
    assertTrue(e.getMessage().contains("the revision would hold 5.7 MiB; at most 5 MiB"), e.getMessage());
    assertTrue(e.getMessage().contains("'part-"), "names the largest files: " + e.getMessage());
  }

  @Test
  void tooManyFilesAreRefusedAlsoWhenTheyArriveOneCommitAtATime() {
    var files = new HashMap<String, String>();
    for (int i = 0; i <= MAX_FILES; i++) {
      files.put(String.format("f%02d.txt", i), "x");
    }
    var e = assertThrows(InvalidFilesException.class, () -> repos.create("f1", files, "m", "alice"));
    assertTrue(e.getMessage().contains("21 files; at most 20") && e.getMessage().contains("'f20.txt'"),
        e.getMessage());

    files.remove("f20.txt");
    repos.create("f1", files, "m", "alice");
    var more = assertThrows(InvalidFilesException.class, () -> repos.commit("f1", Map.of("one-more", "x"), "m", "a"));
    assertTrue(more.getMessage().contains("21 files"), more.getMessage());
  }

  @Test
  void allProblemsAreReportedAtOnce() {
    var e = assertThrows(InvalidFilesException.class,
        () -> repos.create("f1", Map.of("../a", "x", "/b", "y", "good", "z"), "m", "alice"));
    assertEquals(2, e.problems().size());
    assertTrue(e.getMessage().startsWith("2 problems: "), e.getMessage());
  }

  // ------------------------------------------------------------------------------------------------ reading

  @Test
  void revisionsResolveByFullIdOrUniquePrefix() {
    Revision first = repos.create("f1", Map.of("a", "1"), "m", "alice");
    Revision second = repos.commit("f1", Map.of("a", "2"), "m", "alice");
    assertEquals(first, repos.resolve("f1", first.id()));
    assertEquals(first.id(), repos.resolve("f1", first.id().substring(0, 7).toUpperCase()).id());
    assertEquals(second.id(), repos.resolve("f1", "main").id());
    assertEquals(second.id(), repos.head("f1").id());
    var tooShort = assertThrows(UnknownRevisionException.class, () -> repos.resolve("f1", first.id().substring(0, 6)));
    assertTrue(tooShort.getMessage().contains("7 to 40 hex"), tooShort.getMessage());
    String missing = first.id().startsWith("0") ? "1111111" : "0000000";
    assertThrows(UnknownRevisionException.class, () -> repos.resolve("f1", missing));
    assertThrows(UnknownRevisionException.class, () -> repos.resolve("f1", "not-a-sha"));
    assertThrows(UnknownRevisionException.class, () -> repos.checkout("f1", missing, tmp.resolve("x")));
  }

  @Test
  void aTreeIdIsNotARevision() throws IOException {
    Revision first = repos.create("f1", Map.of("a", "1"), "m", "alice");
    String treeId;
    try (Repository repo = new FileRepositoryBuilder().setGitDir(tmp.resolve("git/f1.git").toFile()).build()) {
      treeId = repo.parseCommit(ObjectId.fromString(first.id())).getTree().name();
    }
    assertThrows(UnknownRevisionException.class, () -> repos.resolve("f1", treeId));
  }

  @Test
  void readFileGivesTextAtARevisionOrNothing() {
    Revision first = repos.create("f1", Map.of("dir/a.txt", "héllo"), "m", "alice");
    repos.commit("f1", Map.of("dir/a.txt", "changed"), "m", "alice");
    assertEquals(Optional.of("héllo"), repos.readFile("f1", first.id(), "dir/a.txt"));
    assertEquals(Optional.of("changed"), repos.readFile("f1", "main", "dir/a.txt"));
    assertEquals(Optional.empty(), repos.readFile("f1", first.id(), "dir"), "a directory is not a file");
    assertEquals(Optional.empty(), repos.readFile("f1", first.id(), "missing.txt"));
  }

  @Test
  void checkoutWantsAnEmptyDirectory() throws IOException {
    repos.create("f1", Map.of("a", "1"), "m", "alice");
    Path dir = Files.createDirectories(tmp.resolve("busy"));
    Files.writeString(dir.resolve("left-over"), "x");
    var e = assertThrows(IllegalArgumentException.class, () -> repos.checkout("f1", "main", dir));
    assertTrue(e.getMessage().contains("not empty"), e.getMessage());
  }

  @Test
  void logCanBeLimited() {
    repos.create("f1", Map.of("a", "0"), "m", "alice");
    for (int i = 1; i <= 4; i++) {
      repos.commit("f1", Map.of("a", String.valueOf(i)), "c" + i, "alice");
    }
    assertEquals(List.of("c4", "c3"), repos.log("f1", 2).stream().map(Revision::message).toList());
  }

  // ------------------------------------------------------------------------------------------------ import

  @Test
  void importTakesTheDefaultBranchWithItsHistoryAndModes() throws IOException {
    Path source = tmp.resolve("source.git");
    try (Repository repo = bare(source)) {
      ObjectId c1 = commit(repo, null, "trunk", "first", Map.of("app.py", file("print(1)")));
      ObjectId c2 = commit(repo, c1, "trunk", "second", Map.of("app.py", file("print(2)"),
          "bin/run", new Entry(FileMode.EXECUTABLE_FILE, "#!/bin/sh\npython3 app.py\n")));
      commit(repo, c2, "experiment", "not imported", Map.of("other.py", file("x")));
      setHead(repo, "trunk");
    }
    Revision imported = repos.importFrom("f1", "file://" + source.toAbsolutePath(), "alice");
    assertEquals("second", imported.message());
    assertEquals(List.of("bin/run", "app.py").stream().sorted().toList(), imported.files());
    assertEquals(List.of("second", "first"), repos.log("f1").stream().map(Revision::message).toList());

    Path dir = tmp.resolve("co");
    repos.checkout("f1", imported.id(), dir);
    assertTrue(Files.isExecutable(dir.resolve("bin/run")));
    assertEquals("print(2)", Files.readString(dir.resolve("app.py")));
    assertFalse(Files.exists(dir.resolve("other.py")));

    Revision next = repos.commit("f1", Map.of("app.py", "print(3)"), "after import", "alice");
    assertNotEquals(imported.id(), next.id());
    assertThrows(FeatureExistsException.class,
        () -> repos.importFrom("f1", "file://" + source.toAbsolutePath(), "alice"));
  }

  @Test
  void importWorksOverHttp() throws IOException {
    Path source = tmp.resolve("served.git");
    ObjectId tip;
    try (Repository repo = bare(source)) {
      tip = commit(repo, null, "main", "served over http", Map.of("hello.sh", new Entry(FileMode.EXECUTABLE_FILE,
          "#!/bin/sh\necho hi\n")));
      setHead(repo, "main");
    }
    // git's "dumb" HTTP protocol: plain files, with the refs listed in info/refs
    Files.createDirectories(source.resolve("info"));
    Files.writeString(source.resolve("info/refs"), tip.name() + "\trefs/heads/main\n");
    HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    server.createContext("/", exchange -> {
      Path file = source.resolve(exchange.getRequestURI().getPath().replaceFirst("^/served\\.git/", "")).normalize();
      if (!file.startsWith(source) || !Files.isRegularFile(file)) {
        exchange.sendResponseHeaders(404, -1);
      } else {
        byte[] body = Files.readAllBytes(file);
        exchange.sendResponseHeaders(200, body.length);
        exchange.getResponseBody().write(body);
      }
      exchange.close();
    });
    server.start();
    try {
      String url = "http://127.0.0.1:" + server.getAddress().getPort() + "/served.git";
      Revision imported = repos.importFrom("f1", url, "alice");
      assertEquals(tip.name(), imported.id());
      Path dir = tmp.resolve("co");
      repos.checkout("f1", "main", dir);
      assertTrue(Files.isExecutable(dir.resolve("hello.sh")));
    } finally {
      server.stop(0);
    }
  }

  @Test
  void importRefusesSymbolicLinksAndSubmodules() throws IOException {
    Path source = tmp.resolve("links.git");
    try (Repository repo = bare(source)) {
      ObjectId someCommit = commit(repo, null, "main", "x", Map.of("a", file("a")));
      commit(repo, someCommit, "main", "links", Map.of(
          "secret", new Entry(FileMode.SYMLINK, "/etc/shadow"),
          "vendor/lib", new Entry(FileMode.GITLINK, someCommit.name()),
          "ok.py", file("ok")));
      setHead(repo, "main");
    }
    var e = assertThrows(InvalidFilesException.class,
        () -> repos.importFrom("f1", "file://" + source.toAbsolutePath(), "alice"));
    assertTrue(e.getMessage().contains("'secret': is a symbolic link"), e.getMessage());
    assertTrue(e.getMessage().contains("'vendor/lib': is a submodule"), e.getMessage());
    assertTrue(e.getMessage().contains("(in the imported repository)"), e.getMessage());
    assertFalse(repos.exists("f1"), "a refused import leaves nothing behind");
    try (Stream<Path> left = Files.list(tmp.resolve("git"))) {
      assertEquals(0, left.count(), "no temporary repository is left");
    }
  }

  @Test
  void importEnforcesTheFileLimits() throws IOException {
    Path source = tmp.resolve("big.git");
    try (Repository repo = bare(source)) {
      commit(repo, null, "main", "big", Map.of("huge.bin", file("x".repeat((int) (2 * MIB)))));
      setHead(repo, "main");
    }
    var e = assertThrows(InvalidFilesException.class,
        () -> repos.importFrom("f1", "file://" + source.toAbsolutePath(), "alice"));
    assertTrue(e.getMessage().contains("'huge.bin': is 2 MiB"), e.getMessage());
  }

  @Test
  void importOfAnEmptyRepositorySaysSo() throws IOException {
    Path source = tmp.resolve("empty.git");
    bare(source).close();
    var e = assertThrows(GitImportException.class,
        () -> repos.importFrom("f1", "file://" + source.toAbsolutePath(), "alice"));
    assertTrue(e.getMessage().contains("no default branch"), e.getMessage());
    assertFalse(repos.exists("f1"));
  }

  @Test
  void importOfAMissingRepositorySaysSo() {
    var e = assertThrows(GitImportException.class,
        () -> repos.importFrom("f1", "file://" + tmp.resolve("nothing-here").toAbsolutePath(), "alice"));
    assertTrue(e.getMessage().contains("nothing-here"), e.getMessage());
    assertFalse(repos.exists("f1"));
  }

  @Test
  void importStopsAtTheSizeLimit() throws IOException {
    Path source = tmp.resolve("history.git");
    try (Repository repo = bare(source)) {
      ObjectId parent = null;
      for (int i = 0; i < 40; i++) {
        parent = commit(repo, parent, "main", "c" + i, Map.of("f" + i, file("content " + i)));
      }
      setHead(repo, "main");
    }
    var small = new FeatureRepositories(tmp.resolve("git2"), new Limits(MIB, 5 * MIB, 100, Duration.ofMinutes(1), 1));
    var e = assertThrows(GitImportException.class,
        () -> small.importFrom("f1", "file://" + source.toAbsolutePath(), "alice"));
    assertTrue(e.getMessage().contains("larger than 1 B"), e.getMessage());
    assertFalse(small.exists("f1"));
  }

  @ParameterizedTest
  @ValueSource(strings = {
      "ssh://git@gitlab.example/group/repo.git",
      "git@gitlab.example:group/repo.git",
      "git://gitlab.example/group/repo.git",
      "ext::sh -c touch% /tmp/pwned",
      "ext::sh",
      "fd::3",
      "/srv/git/repo.git",
      "relative/repo",
      "ftp://example/repo.git",
      "file://otherhost/srv/repo.git",
      "file:relative",
      "https:///no-host",
      "https://example/repo.git\nfoo",
      ""})
  void importRefusesTransportsOtherThanHttpAndFile(String url) {
    var e = assertThrows(GitImportException.class, () -> repos.importFrom("f1", url, "alice"));
    assertTrue(e.getMessage().contains("http") || e.getMessage().contains("file://"),
        "says what to use instead: " + e.getMessage());
    assertFalse(repos.exists("f1"));
  }

  @Test
  void importMessagesNeverRepeatCredentials() {
    var e = assertThrows(GitImportException.class,
        () -> repos.importFrom("f1", "https://user:s3cret@127.0.0.1:1/repo.git", "alice"));
    assertFalse(e.getMessage().contains("s3cret"), e.getMessage());
    assertTrue(e.getMessage().contains("https://***@127.0.0.1:1/repo.git"), e.getMessage());
  }

  @Test
  void failedHttpImportsAllGetTheSameAnswerWhateverTheCause() throws IOException {
    // a closed port, a server that is no git repository, one that hangs up: the answer must not tell them apart
    int closed;
    try (var probe = new java.net.ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      closed = probe.getLocalPort();
    }
    HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    server.createContext("/", exchange -> {
      byte[] body = "<html>not git</html>".getBytes(java.nio.charset.StandardCharsets.UTF_8);
      exchange.sendResponseHeaders(exchange.getRequestURI().getPath().startsWith("/missing") ? 404 : 200, body.length);
      exchange.getResponseBody().write(body);
      exchange.close();
    });
    server.start();
    try {
      int port = server.getAddress().getPort();
      var answers = new java.util.TreeMap<String, String>();
      for (String url : List.of("http://127.0.0.1:" + closed + "/repo.git", "http://127.0.0.1:" + port + "/page.git",
          "http://127.0.0.1:" + port + "/missing.git")) {
        var e = assertThrows(GitImportException.class, () -> repos.importFrom("f1", url, "alice"));
        answers.put(url, e.getMessage().replace(url, "<url>"));
        assertFalse(repos.exists("f1"));
      }
      assertEquals(1, new java.util.HashSet<>(answers.values()).size(), "distinct answers: " + answers);
      String answer = answers.values().iterator().next();
      for (String cause : List.of("refused", "Connection", "404", "not found", "Not Found", "authentication")) {
        assertFalse(answer.contains(cause), "the answer names the cause '" + cause + "': " + answer);
      }
    } finally {
      server.stop(0);
    }
  }

  // ------------------------------------------------------------------------------------------------ helpers

  private record Entry(FileMode mode, String content) {}

  private static Entry file(String content) {
    return new Entry(FileMode.REGULAR_FILE, content);
  }

  private static Map<String, String> mapOf(String... pairs) {
    var map = new LinkedHashMap<String, String>();
    for (int i = 0; i < pairs.length; i += 2) {
      map.put(pairs[i], pairs[i + 1]);
    }
    return map;
  }

  private static Repository bare(Path dir) throws IOException {
    Repository repo = new FileRepositoryBuilder().setGitDir(dir.toFile()).setBare().build();
    repo.create(true);
    return repo;
  }

  private static void setHead(Repository repo, String branch) throws IOException {
    RefUpdate head = repo.updateRef(Constants.HEAD);
    head.link(Constants.R_HEADS + branch);
  }

  /** A commit with exactly {@code files} (any mode, also links and submodules) on {@code branch} of a bare repo. */
  private static ObjectId commit(Repository repo, ObjectId parent, String branch, String message,
      Map<String, Entry> files) throws IOException {
    try (ObjectInserter ins = repo.newObjectInserter()) {
      DirCache index = DirCache.newInCore();
      DirCacheBuilder builder = index.builder();
      for (var e : files.entrySet()) {
        DirCacheEntry entry = new DirCacheEntry(e.getKey());
        entry.setFileMode(e.getValue().mode());
        entry.setObjectId(FileMode.GITLINK.equals(e.getValue().mode()) ? ObjectId.fromString(e.getValue().content())
            : ins.insert(Constants.OBJ_BLOB, e.getValue().content().getBytes(StandardCharsets.UTF_8)));
        builder.add(entry);
      }
      builder.finish();
      var commit = new CommitBuilder();
      commit.setTreeId(index.writeTree(ins));
      if (parent != null) {
        commit.setParentId(parent);
      }
      var who = new PersonIdent("Someone", "someone@example.org", Instant.now(), ZoneOffset.UTC);
      commit.setAuthor(who);
      commit.setCommitter(who);
      commit.setMessage(message);
      ObjectId id = ins.insert(commit);
      ins.flush();
      RefUpdate update = repo.updateRef(Constants.R_HEADS + branch);
      update.setNewObjectId(id);
      update.forceUpdate();
      return id;
    }
  }
}
