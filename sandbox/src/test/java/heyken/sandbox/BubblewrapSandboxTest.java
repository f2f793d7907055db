package heyken.sandbox;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/** The sandbox contract on bubblewrap, plus what only it has: the host's cgroups. */
class BubblewrapSandboxTest extends SandboxBackendContract {

  private static final List<String> CONTROLLERS = List.of("memory", "pids", "cpu");
  private final List<Process> orphans = new ArrayList<>();

  @Override
  protected SandboxBackend createBackend() {
    return new BubblewrapSandbox();
  }

  @Override
  protected String shellImage() {
    return "ignored/by-bubblewrap:1";
  }

  @Override
  protected String pythonImage() {
    return "ignored/by-bubblewrap:1";
  }

  @Override
  protected boolean pythonAvailable() {
    return Files.isExecutable(Path.of("/usr/bin/python3"));
  }

  @Override
  protected boolean enforcesMemory() {
    return backend.availability().detail().contains("memory (cgroup");
  }

  @Override
  protected boolean enforcesPids() {
    return backend.availability().detail().contains("pids (cgroup");
  }

  /** The v1 groups of a job on this host (the layout this machine has; v2 hosts are not covered by this check). */
  private static List<Path> v1Groups(String jobId) {
    return CONTROLLERS.stream().map(c -> Path.of("/sys/fs/cgroup", c, Cgroups.PARENT, jobId)).toList();
  }

  @Override
  protected void leaveOrphan(String jobId) throws Exception {
    assumeTrue(enforcesPids(), "no cgroups here: nothing is left behind to remove");
    // what a core killed mid-job leaves: a group with a process still in it
    var sleeper = new ProcessBuilder("sleep", "300").start();
    orphans.add(sleeper);
    for (Path group : v1Groups(jobId)) {
      if (Files.isDirectory(group.getParent())) {
        Files.createDirectory(group);
        Files.writeString(group.resolve("cgroup.procs"), String.valueOf(sleeper.pid()));
      }
    }
  }

  @Override
  protected boolean nothingLeftOf(String jobId) {
    return v1Groups(jobId).stream().noneMatch(Files::exists);
  }

  @AfterAll
  void stopOrphans() {
    orphans.forEach(Process::destroyForcibly);
  }

  @Test
  void theImageIsNotUsedTheHostsUsrIs() throws Exception {
    var spec = new SandboxSpec(jobId(), "sandbox/not-built:9", List.of("/bin/sh", "-c", "echo ran"), Map.of(),
        workDir(), null, policy());
    var result = run(spec);
    assertEquals(SandboxResult.Reason.OK, result.reason(), () -> describe(result));
    assertEquals("ran\n", result.stdout());
  }

  @Test
  void onlyUsrAndAFewEtcFilesOfTheHostAreVisible() throws Exception {
    var result = run(sh("ls /; ls /etc; cat /etc/passwd"));
    assertEquals(SandboxResult.Reason.OK, result.reason(), () -> describe(result));
    var lines = List.of(result.stdout().split("\n"));
    for (String hidden : List.of("root", "home", "var", "srv", "opt", "mnt", "data", "boot", "shadow", "hostname")) {
      assertTrue(!lines.contains(hidden), hidden + " is visible: " + result.stdout());
    }
    assertTrue(lines.contains("usr") && lines.contains("work") && lines.contains("tmp"), result.stdout());
    assertEquals(2, lines.stream().filter(l -> l.contains(":x:")).count(), "only root and nobody: " + result.stdout());
  }

  @Test
  void theJobsCgroupsAreRemovedAfterTheJob() throws Exception {
    assumeTrue(enforcesMemory() && enforcesPids(), "no cgroups here");
    var spec = sh("cat /proc/self/cgroup");
    var result = run(spec);
    assertEquals(SandboxResult.Reason.OK, result.reason(), () -> describe(result));
    assertTrue(nothingLeftOf(spec.jobId()));
  }

  @Test
  void theJobRunsAsNobodyOnTheHostToo() throws Exception {
    assumeTrue(JobWorkDir.runningAsRoot(), "only root can hand a job to another user");
    // /work is the job's own tmpfs now: look at the job's process from the host while it runs
    String marker = "nobody-" + java.util.UUID.randomUUID();
    var spec = new SandboxSpec(jobId(), "", List.of("/bin/sh", "-c", "sleep 3", marker), Map.of(), workDir(), null,
        policy());
    var running = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
      try {
        return run(spec);
      } catch (InterruptedException e) {
        throw new IllegalStateException(e);
      }
    });
    // the job's own sh (the wrappers before it carry the marker too, and start as root)
    java.util.function.Supplier<List<Long>> jobShells = () -> processesWith(marker).stream()
        .filter(pid -> cmdline(pid).startsWith("/bin/sh\0-c\0sleep 3\0")).toList();
    assertTrue(awaitTrue(java.time.Duration.ofSeconds(10), () -> !jobShells.get().isEmpty()), "never started");
    for (long pid : jobShells.get()) {
      String uids = Files.readAllLines(Path.of("/proc", String.valueOf(pid), "status")).stream()
          .filter(l -> l.startsWith("Uid:")).findFirst().orElseThrow();
      assertEquals(List.of("65534", "65534", "65534", "65534"), List.of(uids.substring(4).trim().split("\\s+")),
          "process " + pid + ": " + uids);
    }
    var result = running.get(30, java.util.concurrent.TimeUnit.SECONDS);
    assertEquals(SandboxResult.Reason.OK, result.reason(), () -> describe(result));
  }

  private static String cmdline(long pid) {
    try {
      return new String(Files.readAllBytes(Path.of("/proc", String.valueOf(pid), "cmdline")),
          java.nio.charset.StandardCharsets.UTF_8);
    } catch (IOException e) {
      return "";
    }
  }

  @Test
  void aWorkDirNobodyCanReachIsAnErrorWithWhatToDo() throws IOException, InterruptedException {
    assumeTrue(JobWorkDir.runningAsRoot(), "only root can create a directory nobody may pass");
    Path closed = Files.createTempDirectory("heyken-closed-");
    try {
      var spec = new SandboxSpec(jobId(), "", List.of("true"), Map.of(), closed.resolve("work"), null, policy());
      var result = run(spec);
      assertEquals(SandboxResult.Reason.ERROR, result.reason(), () -> describe(result));
      assertTrue(result.detail().contains("not reachable for uid 65534"), result.detail());
    } finally {
      JobWorkDir.deleteTree(closed);
    }
  }
}
