package heyken.sandbox;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

/**
 * Runs each job as a process tree in bubblewrap namespaces, the backend for hosts without a Docker engine.
 *
 * <p>Isolation: {@code bwrap --unshare-all} (user, pid, network, ipc, uts, cgroup namespaces; the network namespace
 * has only a loopback of its own, so the host's 127.0.0.1 listeners are unreachable), uid/gid 65534 inside, no
 * capabilities, a new session (no terminal injection), killed with its parent. When the JVM runs as root, bwrap itself
 * is started as the real uid 65534 ({@code setpriv}), so the job is nobody on the host too, not root mapped to 65534.
 * The root is empty and read-only; read-only binds hold only the host's {@code /usr} with the merged-usr links
 * ({@code /bin}, {@code /lib}, {@code /lib64}, {@code /sbin}, or the directories where they are not links),
 * {@code /etc/ld.so.cache} and {@code /etc/alternatives}, and generated {@code /etc/passwd}, {@code /etc/group},
 * {@code /etc/hosts} that know only root and nobody. Never the host's other {@code /etc} (no {@code /etc/shadow}), its
 * {@code /root}, {@code /home}, {@code /tmp}, the repository or the data directory. Writable: a size-limited tmpfs on
 * /tmp and a tmpfs of the disk bound on /work, seeded with a copy of the job's work directory (bound read-only at
 * {@value WorkTmpfs#CHECKOUT}; see {@link WorkTmpfs}). The environment is only {@code PATH}, {@code HOME=/tmp} and the job's.
 * There is no seccomp filter (Docker applies its default profile). The job can read bwrap's own command line as
 * {@code /proc/1/cmdline}, which names the host paths of its work directory and of the generated /etc files.
 *
 * <p>The image: this backend runs the host's {@code /usr}, so {@link SandboxSpec#image()} is not used; a job that
 * needs python3 needs it installed on the host.
 *
 * <p>Limits: memory, pids and CPU through cgroups, v1 where the controller is mounted on a v1 hierarchy (the
 * {@code heyken/<jobId>} group of {@code memory}, {@code pids}, {@code cpu}), else v2 ({@code memory.max},
 * {@code pids.max}, {@code cpu.max} under {@code heyken/} of the cgroup2 mount). The process joins them in a
 * {@code sh} that then execs {@code prlimit --cpu} (a CPU-seconds backstop of wall time × cpus), {@code setpriv} and
 * {@code bwrap}, so everything the job starts is inside. The pids limit counts bwrap's two processes and the /work wrapper too. Where no
 * cgroup is writable (not root), jobs run without memory and pids limits and {@link #availability()} says so. The wall
 * time is enforced here: on expiry every process of the job is killed (reason {@code TIMEOUT}).
 *
 * <p>Reasons: {@code OOM} when the memory cgroup counted an OOM kill; {@code DISK} when the job failed with /work
 * full; {@code PIDS} when the job failed (exit code not
 * 0) and the pids cgroup counted a refused fork. Without cgroups neither can be told apart from a plain exit.
 */
public final class BubblewrapSandbox implements SandboxBackend {

  public static final String NAME = "bubblewrap";

  private static final Logger log = LoggerFactory.getLogger(BubblewrapSandbox.class);
  private static final Duration ORPHAN_MIN_AGE = Duration.ofMinutes(2);

  /** Job cgroups this JVM uses now, over all instances: {@link #removeOrphans()} must leave them alone. */
  private static final Set<String> RUNNING_CGROUPS = ConcurrentHashMap.newKeySet();
  private static final AtomicLong PROBES = new AtomicLong();
  private static final String SH = "/bin/sh";
  /** Exit code and message of the wrapper when it cannot join a cgroup: the job did not run. */
  private static final int JOIN_FAILED = 125;
  private static final String JOIN_FAILED_MESSAGE = "heyken-sandbox: cannot join the cgroup ";
  private static final String SANDBOX_PATH = "/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin";
  private static final Duration DRAIN_TIMEOUT = Duration.ofSeconds(5);
  private static final Duration TEARDOWN_TIMEOUT = Duration.ofSeconds(5);
  private static final Duration AVAILABILITY_RETRY = Duration.ofSeconds(30);
  private static final List<String> MERGED_USR_LINKS = List.of("bin", "sbin", "lib", "lib32", "lib64", "libx32");

  private final Path bwrap;
  private final Path prlimit;
  private final Path setpriv;
  private final Cgroups cgroups;
  private final Map<String, RunningJob> running = new ConcurrentHashMap<>();
  private final ExecutorService io = Executors.newCachedThreadPool(r -> {
    var t = new Thread(r, "heyken-bwrap-io");
    t.setDaemon(true);
    return t;
  });
  private static final String ETC_PREFIX = "heyken-bwrap-etc-";
  private final Object etcLock = new Object();
  private Path etcDir;
  private volatile Availability availability;
  private volatile long availabilityNanos;

  /** A backend on this host's bwrap and cgroups; the cgroup layout is looked at once, here. */
  public BubblewrapSandbox() {
    this.bwrap = onPath("bwrap");
    this.prlimit = onPath("prlimit");
    this.setpriv = onPath("setpriv");
    this.cgroups = Cgroups.detect();
    log.info("bubblewrap sandbox bwrap={} limits=\"{}\"", bwrap == null ? "missing" : bwrap, cgroups.describe());
  }

  @Override
  public String name() {
    return NAME;
  }

  /** Bwrap is installed and a trivial job runs under every limit this host supports; cached, a failure for 30 s. */
  @Override
  public Availability availability() {
    var cached = availability;
    if (cached != null && (cached.available()
        || System.nanoTime() - availabilityNanos < AVAILABILITY_RETRY.toNanos())) {
      return cached;
    }
    var fresh = probe();
    availability = fresh;
    availabilityNanos = System.nanoTime();
    return fresh;
  }

  private Availability probe() {
    if (bwrap == null) {
      return Availability.down("bubblewrap is not installed: apt-get install bubblewrap (or run "
          + "scripts/docker-engine.sh)");
    }
    if (JobWorkDir.runningAsRoot() && setpriv == null) {
      return Availability.down("setpriv (util-linux) is missing: as root bubblewrap needs it to run jobs as uid "
          + JobWorkDir.SANDBOX_UID + "; apt-get install util-linux");
    }
    Path dir = null;
    try {
      dir = Files.createTempDirectory("heyken-bwrap-probe-");
      var spec = new SandboxSpec("heyken-probe-" + ProcessHandle.current().pid() + "-" + PROBES.incrementAndGet(),
          "", List.of(SH, "-c", "echo ok"), Map.of(), dir,
          null, new SandboxPolicy(64L << 20, 1.0, 16, Duration.ofSeconds(10), 4096, 1L << 20, 1L << 20));
      var result = run(spec, OutputListener.NONE);
      if (!result.succeeded() || !result.stdout().equals("ok\n")) {
        return Availability.down("bubblewrap is installed but cannot run a job here (" + result.reason().apiName()
            + ", exit " + result.exitCode() + ": " + firstLine(result.detail().isEmpty() ? result.log()
            : result.detail()) + "); use the Docker backend (scripts/docker-engine.sh)");
      }
      return Availability.up(version() + ": uid " + JobWorkDir.SANDBOX_UID + ", no network, read-only host /usr "
          + "(job images are not used); " + cgroups.describe());
    } catch (IOException e) {
      return Availability.down("bubblewrap cannot be probed: " + e.getMessage());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return Availability.down("bubblewrap probe interrupted");
    } finally {
      if (dir != null) {
        try {
          JobWorkDir.deleteTree(dir);
        } catch (IOException e) {
          log.debug("probe dir not removed: {}", e.toString());
        }
      }
    }
  }

  @Override
  public SandboxResult run(SandboxSpec spec, OutputListener listener) throws InterruptedException {
    long startNanos = System.nanoTime();
    if (bwrap == null) {
      return error(spec, startNanos, "bubblewrap is not installed: apt-get install bubblewrap (or run "
          + "scripts/docker-engine.sh)");
    }
    if (JobWorkDir.runningAsRoot() && setpriv == null) {
      return error(spec, startNanos, "setpriv (util-linux) is missing: as root bubblewrap needs it to run jobs as uid "
          + JobWorkDir.SANDBOX_UID + "; apt-get install util-linux");
    }
    if (spec.jobId().equals(".") || spec.jobId().equals("..")) {
      return error(spec, startNanos, "job id \"" + spec.jobId() + "\" cannot name a cgroup");
    }
    var job = new RunningJob();
    if (running.putIfAbsent(spec.jobId(), job) != null) {
      return error(spec, startNanos, "job " + spec.jobId() + " already runs in this sandbox; job ids must be unique");
    }
    MDC.put("jobId", spec.jobId());
    var work = WorkTmpfs.forJob();
    var output = new CappedOutput(spec.jobId(), spec.policy().outputCapBytes(), listener, work.marker());
    Cgroups.JobCgroup cgroup = null;
    try {
      List<String> command;
      try {
        JobWorkDir.prepare(spec.workDir());
        if (JobWorkDir.runningAsRoot()) {
          Path blocked = JobWorkDir.firstUnreachableAncestor(spec.workDir());
          if (blocked != null) {
            return error(spec, startNanos, "the work directory " + spec.workDir() + " is not reachable for uid "
                + JobWorkDir.SANDBOX_UID + ": " + blocked + " denies others to pass (mode o-x); put heyken.data-dir "
                + "(HEYKEN_DATA_DIR) outside such a directory");
          }
        }
        RUNNING_CGROUPS.add(spec.jobId());
        cgroup = cgroups.create(spec.jobId(), spec.policy());
        command = command(spec, cgroup, work);
      } catch (UncheckedIOException | IOException e) {
        // file channels are interruptible: an interrupt during setup surfaces as ClosedByInterruptException
        if (Thread.interrupted() || e instanceof java.nio.channels.ClosedByInterruptException
            || e.getCause() instanceof java.nio.channels.ClosedByInterruptException) {
          log.info("sandbox job interrupted job={} backend=bubblewrap: before it started", spec.jobId());
          throw new InterruptedException("interrupted while preparing the job");
        }
        return error(spec, startNanos, "cannot prepare the job: " + e.getMessage());
      }
      return runProcess(spec, job, command, cgroup, output, startNanos);
    } finally {
      // the cgroup files are read through interruptible channels: clean up with the flag cleared, then restore it
      boolean interrupted = Thread.interrupted();
      output.close();
      if (cgroup != null) {
        cgroup.destroy(TEARDOWN_TIMEOUT);
      }
      RUNNING_CGROUPS.remove(spec.jobId());
      running.remove(spec.jobId(), job);
      MDC.remove("jobId");
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
    }
  }

  private SandboxResult runProcess(SandboxSpec spec, RunningJob job, List<String> command, Cgroups.JobCgroup cgroup,
      CappedOutput output, long startNanos) throws InterruptedException {
    var builder = new ProcessBuilder(command).directory(spec.workDir().toFile());
    // the core's environment holds secrets (.env): none of it reaches even the wrapper
    builder.environment().clear();
    builder.environment().put("PATH", SANDBOX_PATH);
    if (job.cancelled) {
      output.close();
      log.info("sandbox job ended job={} backend=bubblewrap reason=exit detail=\"killed on request before it "
          + "started\"", spec.jobId());
      return new SandboxResult(137, SandboxResult.Reason.EXIT, "", "", false,
          Duration.ofNanos(System.nanoTime() - startNanos), NAME, "killed on request before it started");
    }
    Process process;
    try {
      process = builder.start();
    } catch (IOException e) {
      return error(spec, startNanos, "cannot start bubblewrap: " + e.getMessage());
    }
    job.cgroup = cgroup;
    job.process = process;
    if (job.cancelled) {
      // kill() came between the check above and now, when it had no process to kill yet
      killTree(job);
    }
    log.info("sandbox job started job={} backend=bubblewrap pid={} setupMs={}", spec.jobId(), process.pid(),
        (System.nanoTime() - startNanos) / 1_000_000);
    Future<?> stdin = io.submit(() -> feed(process.getOutputStream(), spec.stdin()));
    Future<?> stdout = io.submit(() -> drain(process.getInputStream(), CappedOutput.STDOUT, output));
    Future<?> stderr = io.submit(() -> drain(process.getErrorStream(), CappedOutput.STDERR, output));
    boolean timedOut = false;
    try {
      if (!process.waitFor(spec.policy().wallTime().toMillis(), TimeUnit.MILLISECONDS)) {
        timedOut = true;
        killTree(job);
        process.waitFor(TEARDOWN_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
      }
      // pid 1 of the namespace is gone, so is everything else: the pipes close and the readers end
      awaitQuietly(stdout, spec.jobId());
      awaitQuietly(stderr, spec.jobId());
      stdin.cancel(true);
      output.close();
      int code = process.isAlive() ? -1 : process.exitValue();
      return result(spec, startNanos, output, code, timedOut, job.cancelled, cgroup);
    } catch (InterruptedException e) {
      killTree(job);
      process.waitFor(TEARDOWN_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
      log.info("sandbox job interrupted job={} backend=bubblewrap: killed", spec.jobId());
      throw e;
    } finally {
      if (process.isAlive()) {
        killTree(job);
      }
      stdin.cancel(true);
      stdout.cancel(true);
      stderr.cancel(true);
    }
  }

  private SandboxResult result(SandboxSpec spec, long startNanos, CappedOutput output, int code, boolean timedOut,
      boolean cancelled, Cgroups.JobCgroup cgroup) {
    SandboxPolicy policy = spec.policy();
    SandboxResult.Reason reason;
    String detail;
    if (code == JOIN_FAILED && output.log().startsWith(JOIN_FAILED_MESSAGE)) {
      return error(spec, startNanos, firstLine(output.log()) + " (run the core as root, or use the Docker backend)");
    } else if (cancelled && code != 0) {
      reason = SandboxResult.Reason.EXIT;
      detail = "killed on request (cancelled)";
    } else if (timedOut) {
      reason = SandboxResult.Reason.TIMEOUT;
      detail = "ran longer than its wall time of " + policy.wallTime().toSeconds() + " s: killed";
    } else if (cgroup.oomKills() > 0) {
      reason = SandboxResult.Reason.OOM;
      detail = "used more than its memory limit of " + (policy.memoryBytes() >> 20) + " MiB: killed";
    } else if (code == 0) {
      reason = SandboxResult.Reason.OK;
      detail = "";
    } else if (output.seen()) {
      reason = SandboxResult.Reason.DISK;
      detail = WorkTmpfs.detail(policy);
    } else if (cgroup.pidsLimitHits() > 0) {
      reason = SandboxResult.Reason.PIDS;
      detail = "could not start more processes: the limit is " + policy.pids() + " processes and threads";
    } else {
      reason = SandboxResult.Reason.EXIT;
      detail = "";
    }
    int exitCode = code < 0 || timedOut ? 137 : code;
    var result = new SandboxResult(exitCode, reason, output.stdout(), output.log(), output.truncated(),
        Duration.ofNanos(System.nanoTime() - startNanos), NAME, detail);
    log.info("sandbox job ended job={} backend=bubblewrap reason={} exit={} truncated={} ms={}", spec.jobId(),
        reason.apiName(), exitCode, result.truncated(), result.duration().toMillis());
    return result;
  }

  private SandboxResult error(SandboxSpec spec, long startNanos, String detail) {
    log.warn("sandbox job failed job={} backend=bubblewrap reason=error detail=\"{}\"", spec.jobId(), detail);
    return new SandboxResult(-1, SandboxResult.Reason.ERROR, "", "", false,
        Duration.ofNanos(System.nanoTime() - startNanos), NAME, detail);
  }

  /** sh (joins the cgroups) → prlimit → [setpriv →] bwrap → the job's argv. */
  private List<String> command(SandboxSpec spec, Cgroups.JobCgroup cgroup, WorkTmpfs work) throws IOException {
    SandboxPolicy policy = spec.policy();
    List<String> cmd = new ArrayList<>();
    cmd.addAll(List.of(SH, "-c", "while [ \"$1\" != -- ]; do echo $$ > \"$1\" || { echo \"" + JOIN_FAILED_MESSAGE
        + "$1\" >&2; exit " + JOIN_FAILED + "; }; shift; done; shift; exec \"$@\"", "sh"));
    cgroup.procsFiles().forEach(p -> cmd.add(p.toString()));
    cmd.add("--");
    if (prlimit != null) {
      // a backstop for a job that outlives this JVM: never earlier than the wall time under the CPU quota
      long cpuSeconds = (long) Math.ceil(policy.wallTime().toMillis() / 1000.0 * Math.max(1.0, policy.cpus())) + 1;
      cmd.addAll(List.of(prlimit.toString(), "--cpu=" + cpuSeconds, "--core=0", "--"));
    }
    if (JobWorkDir.runningAsRoot()) {
      cmd.addAll(List.of(setpriv.toString(), "--reuid=" + JobWorkDir.SANDBOX_UID, "--regid=" + JobWorkDir.SANDBOX_UID,
          "--clear-groups", "--no-new-privs", "--"));
    }
    cmd.add(bwrap.toString());
    String uid = String.valueOf(JobWorkDir.SANDBOX_UID);
    cmd.addAll(List.of("--unshare-all", "--die-with-parent", "--new-session", "--uid", uid, "--gid", uid,
        "--hostname", "sandbox", "--cap-drop", "ALL"));
    cmd.addAll(List.of("--ro-bind", "/usr", "/usr"));
    for (String name : MERGED_USR_LINKS) {
      Path p = Path.of("/", name);
      if (Files.isSymbolicLink(p)) {
        cmd.addAll(List.of("--symlink", Files.readSymbolicLink(p).toString(), p.toString()));
      } else if (Files.isDirectory(p)) {
        cmd.addAll(List.of("--ro-bind", p.toString(), p.toString()));
      }
    }
    cmd.addAll(List.of("--ro-bind-try", "/etc/ld.so.cache", "/etc/ld.so.cache",
        "--ro-bind-try", "/etc/alternatives", "/etc/alternatives"));
    Path etc = etcDir();
    for (String name : List.of("passwd", "group", "hosts")) {
      cmd.addAll(List.of("--ro-bind", etc.resolve(name).toString(), "/etc/" + name));
    }
    cmd.addAll(List.of("--proc", "/proc", "--dev", "/dev",
        "--size", String.valueOf(policy.tmpBytes()), "--tmpfs", "/tmp",
        "--ro-bind", spec.workDir().toAbsolutePath().toString(), WorkTmpfs.CHECKOUT,
        "--size", String.valueOf(policy.diskBytes()), "--perms", "0755", "--tmpfs", SandboxSpec.WORK_DIR,
        "--chdir", SandboxSpec.WORK_DIR,
        "--remount-ro", "/",
        "--clearenv", "--setenv", "PATH", SANDBOX_PATH, "--setenv", "HOME", "/tmp"));
    spec.env().forEach((k, v) -> cmd.addAll(List.of("--setenv", k, v)));
    cmd.add("--");
    cmd.addAll(work.wrap(spec.command(), null));
    return cmd;
  }

  /** Generated /etc files: the job sees root and nobody, not the host's users. */
  private Path etcDir() throws IOException {
    synchronized (etcLock) {
      if (etcDir == null || !Files.isRegularFile(etcDir.resolve("hosts"))) {
        // named after this JVM, so that the next one removes what a killed one left behind
        Path dir = Files.createTempDirectory(ETC_PREFIX + ProcessHandle.current().pid() + "-");
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
          try {
            JobWorkDir.deleteTree(dir);
          } catch (IOException ignored) {
            // the next start removes it
          }
        }, "heyken-bwrap-etc-cleanup"));
        sweepStale(dir.getParent());
        Files.setPosixFilePermissions(dir, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
        write(dir.resolve("passwd"), "root:x:0:0:root:/root:/usr/sbin/nologin\n"
            + "nobody:x:65534:65534:nobody:/tmp:/usr/sbin/nologin\n");
        write(dir.resolve("group"), "root:x:0:\nnogroup:x:65534:\n");
        write(dir.resolve("hosts"), "127.0.0.1\tlocalhost sandbox\n::1\tlocalhost ip6-localhost ip6-loopback\n");
        etcDir = dir;
      }
      return etcDir;
    }
  }

  /**
   * Removes the /etc folders of JVMs that are gone (killed with -9, or crashed before {@link #close()}): they are
   * named {@code heyken-bwrap-etc-<pid>-...}. A folder of the older unnamed form is removed once it is an hour old.
   * Returns how many were removed.
   */
  static int sweepStale(Path tmp) {
    int removed = 0;
    try (var entries = Files.list(tmp)) {
      for (Path p : entries.filter(e -> e.getFileName().toString().startsWith(ETC_PREFIX)).toList()) {
        String rest = p.getFileName().toString().substring(ETC_PREFIX.length());
        int dash = rest.indexOf('-');
        boolean stale;
        if (dash > 0 && rest.substring(0, dash).chars().allMatch(Character::isDigit)) {
          long pid = Long.parseLong(rest.substring(0, dash));
          stale = pid != ProcessHandle.current().pid() && ProcessHandle.of(pid).map(h -> !h.isAlive()).orElse(true);
        } else {
          stale = Files.getLastModifiedTime(p).toInstant().isBefore(java.time.Instant.now().minusSeconds(3600));
        }
        if (stale) {
          try {
            JobWorkDir.deleteTree(p);
            removed++;
          } catch (IOException e) {
            log.debug("stale bwrap etc dir {} not removed: {}", p, e.toString());
          }
        }
      }
    } catch (IOException e) {
      log.debug("could not look for stale bwrap etc dirs in {}: {}", tmp, e.toString());
    }
    return removed;
  }

  private static void write(Path file, String content) throws IOException {
    Files.writeString(file, content, StandardCharsets.UTF_8);
    Files.setPosixFilePermissions(file, java.nio.file.attribute.PosixFilePermissions.fromString("rw-r--r--"));
  }

  private static void feed(OutputStream stdin, byte[] bytes) {
    try (stdin) {
      if (bytes != null && bytes.length > 0) {
        stdin.write(bytes);
      }
    } catch (IOException e) {
      // the job exited or closed its stdin without reading everything: that is its business
    }
  }

  private static void drain(InputStream in, String stream, CappedOutput output) {
    byte[] buffer = new byte[8192];
    try (in) {
      int n;
      while ((n = in.read(buffer)) >= 0) {
        output.accept(stream, buffer, 0, n);
      }
    } catch (IOException e) {
      // the pipe closed under us when the process was destroyed
    }
  }

  private static void awaitQuietly(Future<?> reader, String jobId) throws InterruptedException {
    try {
      reader.get(DRAIN_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
    } catch (TimeoutException e) {
      log.warn("sandbox output still open after the job ended job={} backend=bubblewrap: dropped", jobId);
    } catch (java.util.concurrent.ExecutionException e) {
      log.warn("sandbox output reader failed job={} error={}", jobId, e.getCause().toString());
    }
  }

  /** Every process of the job: through the cgroups when there are any, and bwrap's tree as seen from here. */
  private static void killTree(RunningJob job) {
    if (job.cgroup != null) {
      job.cgroup.killAll();
    }
    Process process = job.process;
    if (process != null) {
      process.descendants().forEach(ProcessHandle::destroyForcibly);
      process.destroyForcibly();
    }
  }

  @Override
  public void kill(String jobId) {
    var job = running.get(jobId);
    if (job == null) {
      return;
    }
    job.cancelled = true;
    killTree(job);
    log.info("sandbox job kill job={} backend=bubblewrap", jobId);
  }

  /**
   * Removes the job cgroups under {@code heyken/} that no job of this JVM uses, killing what still runs in them,
   * except those whose processes another live JVM started (a second core on this host).
   */
  @Override
  public int removeOrphans() {
    int removed = 0;
    for (String name : cgroups.jobNames()) {
      if (RUNNING_CGROUPS.contains(name)) {
        continue;
      }
      var cgroup = cgroups.existing(name);
      // an empty group made a moment ago may be another core's job (or availability probe) before its process joined:
      // removing it made that job fail ("cgroup.procs: Directory nonexistent") when both cores started together
      if (cgroup.youngerThan(ORPHAN_MIN_AGE) && cgroup.pids().isEmpty() || cgroup.startedByAnotherLiveJvm()) {
        continue;
      }
      if (cgroup.destroy(TEARDOWN_TIMEOUT)) {
        removed++;
        log.info("sandbox orphan removed job={} backend=bubblewrap", name);
      }
    }
    return removed;
  }

  @Override
  public void close() {
    for (var jobId : new ArrayList<>(running.keySet())) {
      kill(jobId);
    }
    io.shutdownNow();
    synchronized (etcLock) {
      if (etcDir != null) {
        try {
          JobWorkDir.deleteTree(etcDir);
        } catch (IOException e) {
          log.debug("bwrap etc dir not removed: {}", e.toString());
        }
        etcDir = null;
      }
    }
  }

  private String version() {
    try {
      var p = new ProcessBuilder(bwrap.toString(), "--version").redirectErrorStream(true).start();
      String text = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
      p.waitFor(5, TimeUnit.SECONDS);
      return text.isEmpty() ? "bubblewrap" : text;
    } catch (IOException e) {
      return "bubblewrap";
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return "bubblewrap";
    }
  }

  private static Path onPath(String program) {
    String path = System.getenv().getOrDefault("PATH", "") + ":/usr/bin:/bin:/usr/sbin:/sbin";
    for (String dir : path.split(":")) {
      if (dir.isEmpty()) {
        continue;
      }
      Path candidate = Path.of(dir, program);
      if (Files.isRegularFile(candidate) && Files.isExecutable(candidate)) {
        return candidate;
      }
    }
    return null;
  }

  private static String firstLine(String text) {
    String t = text.strip();
    int nl = t.indexOf('\n');
    return nl < 0 ? t : t.substring(0, nl);
  }

  private static final class RunningJob {
    volatile Process process;
    volatile Cgroups.JobCgroup cgroup;
    volatile boolean cancelled;
  }
}
