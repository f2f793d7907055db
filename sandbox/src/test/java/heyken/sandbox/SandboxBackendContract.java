package heyken.sandbox;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.TestInstance;

/**
 * The rules every sandbox backend keeps, run against each real backend. A backend that is not available here is
 * skipped, unless {@code HEYKEN_REQUIRE_SANDBOX=true} (CI), where that fails the suite.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class SandboxBackendContract {

  static final boolean REQUIRED = "true".equalsIgnoreCase(System.getenv("HEYKEN_REQUIRE_SANDBOX"));
  private static final AtomicInteger JOBS = new AtomicInteger();

  protected SandboxBackend backend;
  private Path base;
  private Path workDir;
  private String testName;

  /** A fresh backend of the kind under test. */
  protected abstract SandboxBackend createBackend();

  /** An image with a POSIX sh and the usual tools (busybox). */
  protected abstract String shellImage();

  /** An image with python3. */
  protected abstract String pythonImage();

  /** Whether python3 is there for {@link #pythonImage()} jobs. */
  protected abstract boolean pythonAvailable();

  /** Whether the backend enforces memory limits and tells OOM kills here. */
  protected abstract boolean enforcesMemory();

  /** Whether the backend enforces the pids limit here. */
  protected abstract boolean enforcesPids();

  /** Leaves a running job behind the way a crashed core would. */
  protected abstract void leaveOrphan(String jobId) throws Exception;

  /** Whether nothing of the job (container, cgroup) is left. */
  protected abstract boolean nothingLeftOf(String jobId);

  @BeforeAll
  void startBackend() {
    backend = createBackend();
    var availability = backend.availability();
    if (!availability.available()) {
      if (REQUIRED) {
        fail("HEYKEN_REQUIRE_SANDBOX=true but the " + backend.name() + " backend is not available: "
            + availability.detail());
      }
      assumeTrue(false, backend.name() + " backend not available: " + availability.detail());
    }
  }

  @AfterAll
  void closeBackend() {
    if (backend != null) {
      backend.close();
    }
  }

  @BeforeEach
  void createDirs(TestInfo info) throws IOException {
    testName = info.getTestMethod().map(m -> m.getName()).orElse("test");
    // reachable by uid 65534 all the way down (JUnit's @TempDir is 0700)
    base = Files.createTempDirectory("heyken-sandbox-test-");
    Files.setPosixFilePermissions(base, PosixFilePermissions.fromString("rwxr-xr-x"));
    workDir = Files.createDirectory(base.resolve("work"));
  }

  @AfterEach
  void deleteDirs() throws IOException {
    JobWorkDir.deleteTree(base);
  }

  // ------------------------------------------------------------------------------------------------ running

  @Test
  void helloWorldExitsZeroWithItsOutput() throws Exception {
    var result = run(sh("echo hello world"));
    assertEquals(SandboxResult.Reason.OK, result.reason(), () -> describe(result));
    assertEquals(0, result.exitCode());
    assertEquals("hello world\n", result.stdout());
    assertEquals(backend.name(), result.backend());
    assertEquals("", result.detail());
    assertFalse(result.truncated());
  }

  @Test
  void nonZeroExitIsReportedWithItsCode() throws Exception {
    var result = run(sh("echo failing; exit 3"));
    assertEquals(SandboxResult.Reason.EXIT, result.reason(), () -> describe(result));
    assertEquals(3, result.exitCode());
    assertEquals("failing\n", result.stdout());
  }

  @Test
  void stdinArrivesAsStandardInput() throws Exception {
    byte[] input = "first line\nzweite Zeile äöü €\n\u0000binary\u0001 end".getBytes(StandardCharsets.UTF_8);
    var spec = new SandboxSpec(jobId(), shellImage(), List.of("cat"), Map.of(), workDir, input, policy());
    var result = run(spec);
    assertEquals(SandboxResult.Reason.OK, result.reason(), () -> describe(result));
    assertEquals(new String(input, StandardCharsets.UTF_8), result.stdout());
  }

  @Test
  void withoutStdinTheJobReadsEndOfInput() throws Exception {
    var spec = new SandboxSpec(jobId(), shellImage(), List.of("cat"), Map.of(), workDir, null, policy());
    var result = run(spec);
    assertEquals(SandboxResult.Reason.OK, result.reason(), () -> describe(result));
    assertEquals("", result.stdout());
  }

  @Test
  void environmentArrivesAndNothingOfTheHostsDoes() throws Exception {
    var spec = new SandboxSpec(jobId(), shellImage(), List.of("/bin/sh", "-c", "env"),
        Map.of("GREETING", "hello there", "HEYKEN_FEATURE", "weather"), workDir, null, policy());
    var result = run(spec);
    assertEquals(SandboxResult.Reason.OK, result.reason(), () -> describe(result));
    var lines = List.of(result.stdout().split("\n"));
    assertTrue(lines.contains("GREETING=hello there"), result.stdout());
    assertTrue(lines.contains("HEYKEN_FEATURE=weather"), result.stdout());
    var allowed = List.of("PATH", "HOME", "HOSTNAME", "PWD", "SHLVL", "TERM", "_", "OLDPWD");
    for (var name : System.getenv().keySet()) {
      if (!allowed.contains(name)) {
        assertFalse(lines.stream().anyMatch(l -> l.startsWith(name + "=")), "the host's " + name + " leaked: "
            + result.stdout());
      }
    }
  }

  @Test
  void stdoutAloneInStdoutAndBothStreamsInTheLog() throws Exception {
    List<String> streams = Collections.synchronizedList(new ArrayList<>());
    StringBuilder streamed = new StringBuilder();
    var result = backend.run(sh("echo to-out; echo to-err >&2; echo again-out"), (stream, text) -> {
      streams.add(stream);
      synchronized (streamed) {
        streamed.append(text);
      }
    });
    assertEquals(SandboxResult.Reason.OK, result.reason(), () -> describe(result));
    assertEquals("to-out\nagain-out\n", result.stdout());
    assertTrue(result.log().contains("to-out\n"), result.log());
    assertTrue(result.log().contains("to-err\n"), result.log());
    assertTrue(result.log().contains("again-out\n"), result.log());
    assertTrue(streams.contains("stdout") && streams.contains("stderr"), streams.toString());
    assertEquals(result.log().length(), streamed.length(), "the listener saw what the log holds");
  }

  @Test
  void outputBeyondTheCapIsTruncated() throws Exception {
    var policy = policy().withOutputCapBytes(1024);
    var spec = new SandboxSpec(jobId(), shellImage(),
        List.of("/bin/sh", "-c", "i=0; while [ $i -lt 2000 ]; do echo line-$i; i=$((i+1)); done; echo done >&2"),
        Map.of(), workDir, null, policy);
    var result = run(spec);
    assertEquals(SandboxResult.Reason.OK, result.reason(), () -> describe(result));
    assertTrue(result.truncated());
    assertEquals(1024, result.stdout().getBytes(StandardCharsets.UTF_8).length);
    assertTrue(result.stdout().startsWith("line-0\nline-1\n"), result.stdout());
    assertTrue(result.log().getBytes(StandardCharsets.UTF_8).length <= 1024);
  }

  // ------------------------------------------------------------------------------------------------ isolation

  @Test
  void runsAsUid65534() throws Exception {
    var result = run(sh("id -u; id -g"));
    assertEquals(SandboxResult.Reason.OK, result.reason(), () -> describe(result));
    assertEquals("65534\n65534\n", result.stdout());
  }

  @Test
  void rootFilesystemIsReadOnlyWhileWorkAndTmpAreWritable() throws Exception {
    // uid 65534 could not write to root's directories anyway: the mount option is what makes the root read-only
    var result = run(sh("for p in /x /etc/x /usr/x /bin/x; do touch $p 2>/dev/null && echo wrote $p; done; "
        + "touch /work/w && echo work-ok; touch /tmp/t && echo tmp-ok; "
        + "echo root-mount $(grep ' / ' /proc/mounts | tail -n 1 | cut -d' ' -f4 | cut -d, -f1)"));
    assertEquals(SandboxResult.Reason.OK, result.reason(), () -> describe(result));
    assertEquals("work-ok\ntmp-ok\nroot-mount ro\n", result.stdout());
  }

  @Test
  void workHoldsACopyOfTheWorkDirAndWhatTheJobWritesStaysInTheSandbox() throws Exception {
    Files.writeString(workDir.resolve("input.txt"), "from the host\n");
    Files.createDirectories(workDir.resolve("sub"));
    Files.writeString(workDir.resolve("sub/run.sh"), "echo script-ran\n");
    Files.setPosixFilePermissions(workDir.resolve("sub/run.sh"), PosixFilePermissions.fromString("rwxr-xr-x"));
    var result = run(sh("cat input.txt > copy.txt; echo from the job >> input.txt; mkdir -p out/deep; "
        + "echo result > out/deep/r.txt; pwd; cat copy.txt input.txt out/deep/r.txt; ./sub/run.sh"));
    assertEquals(SandboxResult.Reason.OK, result.reason(), () -> describe(result));
    assertEquals("/work\nfrom the host\nfrom the host\nfrom the job\nresult\nscript-ran\n", result.stdout());
    // /work is the job's own bounded copy: the host's work directory is as the job found it
    assertEquals("from the host\n", Files.readString(workDir.resolve("input.txt")));
    assertFalse(Files.exists(workDir.resolve("copy.txt")));
    assertFalse(Files.exists(workDir.resolve("out")));
  }

  @Test
  void writingPastTheDiskBoundOfWorkIsReportedAsDiskAndNothingReachesTheHost() throws Exception {
    var policy = policy().withMemoryBytes(256L << 20).withDiskBytes(16L << 20);
    var spec = new SandboxSpec(jobId(), shellImage(), List.of("/bin/sh", "-c",
        "echo writing; dd if=/dev/zero of=/work/zeros bs=1M count=64 2>&1; echo dd-exit=$? >&2; exit 1"), Map.of(),
        workDir, null, policy);
    var result = run(spec);
    assertEquals(SandboxResult.Reason.DISK, result.reason(), () -> describe(result));
    assertEquals(1, result.exitCode());
    assertTrue(result.detail().contains("16 MiB"), result.detail());
    assertTrue(result.log().toLowerCase(java.util.Locale.ROOT).contains("no space left on device"), result.log());
    assertFalse(Files.exists(workDir.resolve("zeros")), "the job's writes reached the host's disk");
    assertTrue(nothingLeftOf(spec.jobId()));
  }

  @Test
  void aJobThatStaysUnderTheDiskBoundOrSucceedsIsNotDisk() throws Exception {
    var policy = policy().withMemoryBytes(256L << 20).withDiskBytes(16L << 20);
    var under = run(new SandboxSpec(jobId(), shellImage(), List.of("/bin/sh", "-c",
        "dd if=/dev/zero of=/work/z bs=1M count=4 2>/dev/null; echo heyken-sandbox: /work is full >&2; exit 2"),
        Map.of(), workDir, null, policy));
    assertEquals(SandboxResult.Reason.EXIT, under.reason(), () -> describe(under));
    assertEquals(2, under.exitCode());
    // filled, but the job coped and exited 0: like a fork bomb that survives, that is OK
    var coped = run(new SandboxSpec(jobId(), shellImage(), List.of("/bin/sh", "-c",
        "dd if=/dev/zero of=/work/z bs=1M count=64 2>/dev/null; echo coped"), Map.of(), workDir, null, policy));
    assertEquals(SandboxResult.Reason.OK, coped.reason(), () -> describe(coped));
  }

  @Test
  void aWorkDirLargerThanTheDiskBoundIsDiskBeforeTheJobRuns() throws Exception {
    Files.write(workDir.resolve("big.bin"), new byte[3 << 20]);
    var policy = policy().withMemoryBytes(256L << 20).withDiskBytes(1L << 20);
    var result = run(new SandboxSpec(jobId(), shellImage(), List.of("/bin/sh", "-c", "echo job-ran"), Map.of(),
        workDir, null, policy));
    assertEquals(SandboxResult.Reason.DISK, result.reason(), () -> describe(result));
    assertFalse(result.stdout().contains("job-ran"), result.stdout());
  }

  @Test
  void noNetworkTheHostsLoopbackListenerIsUnreachable() throws Exception {
    assumeTrue(pythonAvailable(), "python3 is needed for this check");
    try (var server = ServerSocketChannel.open()) {
      server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
      server.configureBlocking(false);
      int port = ((InetSocketAddress) server.getLocalAddress()).getPort();
      // control: the listener does accept connections from the host
      try (var probe = SocketChannel.open(new InetSocketAddress(InetAddress.getLoopbackAddress(), port))) {
        assertTrue(awaitTrue(Duration.ofSeconds(5), () -> acceptOne(server)), "the host cannot reach its listener");
      }
      String script = "import socket\n"
          + "try:\n"
          + "    socket.create_connection(('127.0.0.1', " + port + "), timeout=3)\n"
          + "    print('connected')\n"
          + "except OSError as e:\n"
          + "    print('failed', type(e).__name__)\n"
          + "print(sorted(l.split(':')[0].strip() for l in open('/proc/net/dev').readlines()[2:]))\n";
      var spec = new SandboxSpec(jobId(), pythonImage(), List.of("python3", "-c", script), Map.of(), workDir, null,
          policy());
      var result = run(spec);
      assertEquals(SandboxResult.Reason.OK, result.reason(), () -> describe(result));
      assertTrue(result.stdout().startsWith("failed"), result.stdout());
      assertTrue(result.stdout().contains("['lo']"), "only a loopback of its own: " + result.stdout());
      assertFalse(acceptOne(server), "a connection from the sandbox reached the host's listener");
    }
  }

  @Test
  void cannotReadTheHostsShadowFile() throws Exception {
    assumeTrue(Files.exists(Path.of("/etc/shadow")));
    var result = run(sh("cat /etc/shadow"));
    assertNotEquals(0, result.exitCode(), result.stdout());
    assertFalse(result.stdout().contains("root:"), result.stdout());
  }

  @Test
  void cannotSeeSecretsOutsideTheWorkDir() throws Exception {
    // readable by anyone who can see it: only the isolation can keep it from the job
    Path secrets = Files.createDirectory(base.resolve("repository"));
    Files.setPosixFilePermissions(secrets, PosixFilePermissions.fromString("rwxr-xr-x"));
    Path env = Files.writeString(secrets.resolve(".env"), "HEYKEN_API_TOKEN=secret-" + UUID.randomUUID() + "\n");
    Files.setPosixFilePermissions(env, PosixFilePermissions.fromString("rw-r--r--"));
    Path repository = Path.of("..").toAbsolutePath().normalize();
    var result = run(sh("cat " + env + " 2>/dev/null; ls " + secrets + " 2>/dev/null; "
        + "for p in " + repository.resolve("pom.xml") + " " + repository + " " + base + " /work/main; do "
        + "test -e $p && echo visible $p; done; echo end"));
    assertEquals(SandboxResult.Reason.OK, result.reason(), () -> describe(result));
    assertEquals("end\n", result.stdout());
  }

  // ------------------------------------------------------------------------------------------------ limits

  @Test
  void infiniteLoopIsKilledAtTheWallTime() throws Exception {
    String marker = "loop-" + UUID.randomUUID();
    var policy = policy().withWallTime(Duration.ofSeconds(2));
    var spec = new SandboxSpec(jobId(), shellImage(), List.of("/bin/sh", "-c", "while :; do :; done", marker),
        Map.of(), workDir, null, policy);
    var result = run(spec);
    assertEquals(SandboxResult.Reason.TIMEOUT, result.reason(), () -> describe(result));
    assertTrue(result.duration().compareTo(Duration.ofSeconds(2)) >= 0, result.duration().toString());
    assertTrue(result.duration().compareTo(Duration.ofSeconds(5)) < 0, result.duration().toString());
    assertNotEquals(0, result.exitCode());
    assertTrue(awaitTrue(Duration.ofSeconds(2), () -> processesWith(marker).isEmpty()),
        "still running: " + processesWith(marker));
    assertTrue(nothingLeftOf(spec.jobId()));
  }

  @Test
  void allocatingPastTheMemoryLimitIsAnOomKill() throws Exception {
    assumeTrue(pythonAvailable(), "python3 is needed for this check");
    assumeTrue(enforcesMemory(), "this host gives the backend no memory cgroup");
    var policy = policy().withMemoryBytes(64L << 20);
    var spec = new SandboxSpec(jobId(), pythonImage(),
        List.of("python3", "-c", "print('allocating', flush=True)\nb = bytearray(2 << 30)\nprint('survived')"),
        Map.of(), workDir, null, policy);
    var result = run(spec);
    assertEquals(SandboxResult.Reason.OOM, result.reason(), () -> describe(result));
    assertEquals(137, result.exitCode());
    assertEquals("allocating\n", result.stdout());
    assertTrue(result.detail().contains("64 MiB"), result.detail());
  }

  @Test
  void forkBombHitsThePidsLimitAndTheHostIsFine() throws Exception {
    assumeTrue(enforcesPids(), "this host gives the backend no pids cgroup");
    String marker = "bomb-" + UUID.randomUUID();
    var policy = policy().withPids(32);
    var spec = new SandboxSpec(jobId(), shellImage(), List.of("/bin/sh", "-c",
        "i=0; while [ $i -lt 200 ]; do sleep 100 & i=$((i+1)); done; echo all-started; wait", marker),
        Map.of(), workDir, null, policy);
    var result = run(spec);
    assertTrue(result.reason() == SandboxResult.Reason.PIDS
        || result.reason() == SandboxResult.Reason.EXIT && result.exitCode() != 0, () -> describe(result));
    assertFalse(result.stdout().contains("all-started"), result.stdout());
    assertTrue(result.duration().compareTo(policy.wallTime()) < 0, "ended by the limit, not the wall time: "
        + result.duration());
    assertTrue(awaitTrue(Duration.ofSeconds(2), () -> processesWith(marker).isEmpty()),
        "still running: " + processesWith(marker));
    assertTrue(nothingLeftOf(spec.jobId()));
    var host = new ProcessBuilder("true").start();
    assertTrue(host.waitFor(5, TimeUnit.SECONDS) && host.exitValue() == 0, "the host cannot start a process");
  }

  // ------------------------------------------------------------------------------------------------ lifecycle

  @Test
  void killStopsARunningJob() throws Exception {
    String marker = "kill-" + UUID.randomUUID();
    var spec = new SandboxSpec(jobId(), shellImage(), List.of("/bin/sh", "-c", "echo started; sleep 60", marker),
        Map.of(), workDir, null, policy().withWallTime(Duration.ofSeconds(30)));
    var started = new CountDownLatch(1);
    var run = CompletableFuture.supplyAsync(() -> {
      try {
        return backend.run(spec, (stream, text) -> started.countDown());
      } catch (InterruptedException e) {
        throw new IllegalStateException(e);
      }
    });
    assertTrue(started.await(10, TimeUnit.SECONDS), "the job did not start");
    long killedAt = System.nanoTime();
    backend.kill(spec.jobId());
    var result = run.get(10, TimeUnit.SECONDS);
    assertTrue(System.nanoTime() - killedAt < Duration.ofSeconds(5).toNanos(), "kill took too long");
    assertEquals(SandboxResult.Reason.EXIT, result.reason(), () -> describe(result));
    assertNotEquals(0, result.exitCode());
    assertTrue(result.detail().contains("killed"), result.detail());
    assertTrue(processesWith(marker).isEmpty(), "still running: " + processesWith(marker));
    assertTrue(nothingLeftOf(spec.jobId()));
  }

  @Test
  void interruptingTheCallerKillsTheJob() throws Exception {
    String marker = "interrupt-" + UUID.randomUUID();
    var spec = new SandboxSpec(jobId(), shellImage(), List.of("/bin/sh", "-c", "echo started; sleep 60", marker),
        Map.of(), workDir, null, policy().withWallTime(Duration.ofSeconds(30)));
    var started = new CountDownLatch(1);
    var outcome = new CompletableFuture<Throwable>();
    var caller = new Thread(() -> {
      try {
        backend.run(spec, (stream, text) -> started.countDown());
        outcome.complete(null);
      } catch (Throwable t) {
        outcome.complete(t);
      }
    });
    caller.start();
    assertTrue(started.await(10, TimeUnit.SECONDS), "the job did not start");
    caller.interrupt();
    assertTrue(outcome.get(10, TimeUnit.SECONDS) instanceof InterruptedException, "run did not throw "
        + "InterruptedException");
    assertTrue(processesWith(marker).isEmpty(), "still running: " + processesWith(marker));
    assertTrue(nothingLeftOf(spec.jobId()));
  }

  @Test
  void removeOrphansRemovesWhatACrashedCoreLeftBehind() throws Exception {
    String orphan = "orphan-" + UUID.randomUUID();
    leaveOrphan(orphan);
    assertFalse(nothingLeftOf(orphan), "the orphan was not created");
    int removed = backend.removeOrphans();
    assertTrue(removed >= 1, "removed " + removed);
    assertTrue(nothingLeftOf(orphan));
  }

  @Test
  void concurrentJobsKeepTheirOwnOutputAndWorkDirs() throws Exception {
    List<CompletableFuture<SandboxResult>> runs = new ArrayList<>();
    List<Path> dirs = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      Path dir = Files.createDirectory(base.resolve("job-" + i));
      dirs.add(dir);
      var spec = new SandboxSpec(jobId(), shellImage(), List.of("/bin/sh", "-c",
          "echo $N > n.txt; sleep 0.3; cat n.txt; ls"), Map.of("N", "job-" + i), dir, null, policy());
      runs.add(CompletableFuture.supplyAsync(() -> {
        try {
          return run(spec);
        } catch (InterruptedException e) {
          throw new IllegalStateException(e);
        }
      }));
    }
    for (int i = 0; i < 4; i++) {
      var result = runs.get(i).get(30, TimeUnit.SECONDS);
      assertEquals(SandboxResult.Reason.OK, result.reason(), describe(result));
      assertEquals("job-" + i + "\nn.txt\n", result.stdout());
    }
  }

  @Test
  void helloWorldTakesLittleTime() throws Exception {
    run(sh("echo warm-up"));
    List<Long> micros = new ArrayList<>();
    for (int i = 0; i < 10; i++) {
      long t0 = System.nanoTime();
      var result = run(sh("echo hello"));
      micros.add((System.nanoTime() - t0) / 1000);
      assertEquals(SandboxResult.Reason.OK, result.reason(), () -> describe(result));
    }
    Collections.sort(micros);
    long median = (micros.get(4) + micros.get(5)) / 2;
    System.out.printf("per-job time backend=%s median=%.1f ms min=%.1f ms max=%.1f ms%n", backend.name(),
        median / 1000.0, micros.get(0) / 1000.0, micros.get(9) / 1000.0);
    assertTrue(median < 2_000_000, "median " + median + " µs");
  }

  // ------------------------------------------------------------------------------------------------ helpers

  protected SandboxPolicy policy() {
    return new SandboxPolicy(128L << 20, 1.0, 64, Duration.ofSeconds(10), 64 << 10, 16L << 20);
  }

  protected SandboxSpec sh(String script) {
    return new SandboxSpec(jobId(), shellImage(), List.of("/bin/sh", "-c", script), Map.of(), workDir, null,
        policy());
  }

  protected String jobId() {
    return "test-" + testName + "-" + JOBS.incrementAndGet();
  }

  protected Path workDir() {
    return workDir;
  }

  protected SandboxResult run(SandboxSpec spec) throws InterruptedException {
    return backend.run(spec, SandboxBackend.OutputListener.NONE);
  }

  protected static String describe(SandboxResult r) {
    return "reason=" + r.reason() + " exit=" + r.exitCode() + " detail=" + r.detail() + " log=" + r.log();
  }

  protected static boolean awaitTrue(Duration timeout, BooleanSupplier condition) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        return false;
      }
      Thread.sleep(10); // polling interval of a deadline-bounded wait, not a synchronization
    }
    return true;
  }

  /** Pids of host processes whose command line holds {@code marker} (containers' processes are host processes). */
  protected static List<Long> processesWith(String marker) {
    try (Stream<Path> procs = Files.list(Path.of("/proc"))) {
      return procs.filter(p -> p.getFileName().toString().matches("\\d+"))
          .filter(p -> {
            try {
              return new String(Files.readAllBytes(p.resolve("cmdline")), StandardCharsets.UTF_8).contains(marker);
            } catch (IOException e) {
              return false;
            }
          })
          .map(p -> Long.parseLong(p.getFileName().toString()))
          .toList();
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  private static boolean acceptOne(ServerSocketChannel server) {
    try (var accepted = server.accept()) {
      return accepted != null;
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }
}
