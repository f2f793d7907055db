package heyken.sandbox;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.async.ResultCallback;
import com.github.dockerjava.api.exception.ConflictException;
import com.github.dockerjava.api.exception.NotFoundException;
import com.github.dockerjava.api.model.AccessMode;
import com.github.dockerjava.api.model.Bind;
import com.github.dockerjava.api.model.Capability;
import com.github.dockerjava.api.model.Container;
import com.github.dockerjava.api.model.Frame;
import com.github.dockerjava.api.model.HostConfig;
import com.github.dockerjava.api.model.LogConfig;
import com.github.dockerjava.api.model.StreamType;
import com.github.dockerjava.api.model.Volume;
import com.github.dockerjava.api.model.WaitResponse;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

/**
 * Runs each job in its own Docker container through the Engine API (docker-java), the primary backend.
 *
 * <p>Every container gets: no network ({@code NetworkMode none}), a read-only root, a size-limited tmpfs on /tmp, memory
 * with swap equal to it, a pids limit, a CPU quota, no capabilities, {@code no-new-privileges}, user 65534:65534,
 * docker-init as PID 1 (so that a kill is delivered and zombies are reaped), a tmpfs of the disk bound on /work that
 * a wrapper seeds with a copy of the job's work directory ({@link WorkTmpfs}), and only two host paths, both
 * read-only: the work directory at {@value WorkTmpfs#CHECKOUT} (handed to uid 65534 first), and, when the job has
 * standard input, a private directory holding it at {@value #STDIN_DIR}. Never the docker socket, never anything else of the host. The default
 * seccomp profile of the engine applies. The engine mounts /tmp {@code noexec} (bubblewrap's /tmp is not): programs a
 * job builds belong in /work.
 *
 * <p>Standard input: the job's bytes are a file in that directory and the wrapper runs the argv with it as standard
 * input, so every image needs a POSIX {@code sh}, {@code cp} and {@code df} (busybox is fine). Attaching stdin over
 * the API was not used: docker-java's hijacked stream does not half-close, so a job reading to end of input would
 * never see it. The wrapper is the entrypoint, so an image's own entrypoint never wraps the job; without stdin the
 * job's stdin is /dev/null.
 *
 * <p>Output comes over an attach made before the container starts, with the engine's log driver off ({@code none}):
 * nothing of a job's output is written to the engine's disk, and the caps of {@link CappedOutput} apply while it
 * streams.
 *
 * <p>Reasons: the wall time is enforced here (kill, reason {@code TIMEOUT}); {@code State.OOMKilled} gives
 * {@code OOM}; the wrapper's marker of a full /work after a failed job gives {@code DISK}. The engine does not report a hit pids limit, so {@code PIDS} is a heuristic: the job failed (exit code
 * not 0) and its output carries a fork failure message ({@code can't fork} of busybox, {@code Cannot fork} of dash,
 * {@code fork: retry: Resource temporarily unavailable} of bash, {@code BlockingIOError} / {@code Resource temporarily
 * unavailable} of Python, {@code unable to create native thread} of a JVM). A job that survives its failed forks and
 * exits 0 is {@code OK}.
 *
 * <p>Containers carry the labels {@code heyken.sandbox=1}, {@code heyken.job=<jobId>} and {@code heyken.owner} (boot
 * id, pid and start time of the JVM that runs it), so that {@link #removeOrphans()} of one core never removes the
 * running jobs of another core on the same host.
 */
public final class DockerSandbox implements SandboxBackend {

  public static final String NAME = "docker";
  public static final String LABEL_SANDBOX = "heyken.sandbox";
  public static final String LABEL_JOB = "heyken.job";
  public static final String LABEL_OWNER = "heyken.owner";
  static final String STDIN_DIR = "/heyken-stdin";

  private static final Logger log = LoggerFactory.getLogger(DockerSandbox.class);
  /** Jobs this JVM runs now, over all instances: {@link #removeOrphans()} must leave their containers alone. */
  private static final Set<String> RUNNING_JOBS = ConcurrentHashMap.newKeySet();
  private static final Duration ATTACH_TIMEOUT = Duration.ofSeconds(10);
  private static final Duration DRAIN_TIMEOUT = Duration.ofSeconds(5);
  private static final List<String> FORK_FAILURES = List.of("can't fork", "cannot fork",
      "resource temporarily unavailable", "blockingioerror", "unable to create native thread",
      "unable to create new native thread");

  private final DockerEngine engine;
  private final DockerEngine probe;
  private final Images images;
  private final Map<String, RunningJob> running = new ConcurrentHashMap<>();

  /** A backend on the engine of {@code settings.dockerHost()}; nothing is contacted until it is used. */
  public DockerSandbox(SandboxSettings settings) {
    // a job's streams (attach, wait) stay silent for as long as the job: the response timeout must outlast the longest
    this.engine = new DockerEngine(settings.dockerHost(), Duration.ofSeconds(10),
        settings.maxPolicy().wallTime().plus(Duration.ofMinutes(1)), 4 * settings.maxConcurrentJobs() + 4);
    this.probe = new DockerEngine(settings.dockerHost(), settings.probeTimeout());
    this.images = settings.images();
  }

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public Availability availability() {
    String version;
    try {
      version = probe.version();
    } catch (IllegalStateException e) {
      return Availability.down(e.getMessage());
    }
    try {
      if (!imageExists(probe.client(), images.defaultImage())) {
        return Availability.down("the Docker engine " + version + " answers, but the default image "
            + images.defaultImage() + " is not built here: run scripts/docker-engine.sh");
      }
    } catch (RuntimeException e) {
      return Availability.down("the Docker engine " + version + " at " + probe.host() + " fails to inspect images ("
          + e.getMessage() + "); restart it with scripts/docker-engine.sh --stop && scripts/docker-engine.sh");
    }
    return Availability.up("Docker engine " + version + " at " + probe.host() + ", default image "
        + images.defaultImage());
  }

  /** The image a job naming {@code image} runs in: see {@link Images}; a local image of that exact name wins. */
  public String resolveImage(String image) {
    return images.resolve(image, name -> imageExists(engine.client(), name));
  }

  @Override
  public SandboxResult run(SandboxSpec spec, OutputListener listener) throws InterruptedException {
    long startNanos = System.nanoTime();
    var job = new RunningJob();
    if (running.putIfAbsent(spec.jobId(), job) != null) {
      return error(spec, startNanos, "job " + spec.jobId() + " already runs in this sandbox; job ids must be unique");
    }
    RUNNING_JOBS.add(spec.jobId());
    var work = WorkTmpfs.forJob();
    var output = new CappedOutput(spec.jobId(), spec.policy().outputCapBytes(), listener, work.marker());
    DockerClient docker = engine.client();
    Path stdinDir = null;
    boolean createSent = false;
    MDC.put("jobId", spec.jobId());
    try {
      String image;
      try {
        image = resolveImage(spec.image());
        if (!imageExists(docker, image)) {
          String named = image.equals(spec.image()) ? image : spec.image() + " (" + image + ")";
          return error(spec, startNanos, "image " + named + " is not built here: run scripts/docker-engine.sh");
        }
        JobWorkDir.prepare(spec.workDir());
        if (spec.stdin() != null && spec.stdin().length > 0) {
          stdinDir = JobWorkDir.createPrivate("heyken-stdin-");
          JobWorkDir.writePrivate(stdinDir.resolve("in"), spec.stdin());
        }
        createSent = true;
        job.containerId = create(docker, spec, image, stdinDir, work);
      } catch (UncheckedIOException | IOException e) {
        throwIfInterrupted(e);
        return error(spec, startNanos, "cannot prepare the job's files: " + e.getMessage());
      } catch (RuntimeException e) {
        throwIfInterrupted(e);
        return error(spec, startNanos, engineFailure(e));
      }
      return runContainer(docker, spec, job, image, output, startNanos);
    } catch (InterruptedException e) {
      log.info("sandbox job interrupted job={} backend=docker: killed", spec.jobId());
      throw e;
    } finally {
      // the engine's socket is an interruptible channel: with the interrupt flag set the cleanup would fail at once
      boolean interrupted = Thread.interrupted();
      output.close();
      if (job.containerId != null) {
        remove(docker, job.containerId, spec.jobId());
      } else if (createSent) {
        // interrupted or failed while the engine created it: it may exist without us knowing its id
        removeByLabel(docker, spec.jobId());
      }
      if (stdinDir != null) {
        deleteQuietly(stdinDir, spec.jobId());
      }
      running.remove(spec.jobId(), job);
      RUNNING_JOBS.remove(spec.jobId());
      MDC.remove("jobId");
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
    }
  }

  private SandboxResult runContainer(DockerClient docker, SandboxSpec spec, RunningJob job, String image,
      CappedOutput output, long startNanos) throws InterruptedException {
    String id = job.containerId;
    var attach = new AttachCallback(output);
    var exit = new WaitCallback();
    boolean timedOut = false;
    try {
      try {
        docker.attachContainerCmd(id).withStdOut(true).withStdErr(true).withFollowStream(true).withLogs(false)
            .exec(attach);
        // output written before the attach is in place would be lost (the log driver is off)
        if (!attach.awaitStarted(ATTACH_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
          return error(spec, startNanos, "the Docker engine did not attach to the job's output within "
              + ATTACH_TIMEOUT.toSeconds() + " s; check it with scripts/docker-engine.sh");
        }
        if (job.cancelled) {
          return cancelled(spec, startNanos, output, "killed on request before it started");
        }
        docker.startContainerCmd(id).exec();
        if (job.cancelled) {
          // kill() came while the container was starting, when there was nothing running to kill yet
          killQuietly(docker, id, spec.jobId());
        }
        log.info("sandbox job started job={} backend=docker image={} container={} setupMs={}", spec.jobId(), image,
            shortId(id), millisSince(startNanos));
        docker.waitContainerCmd(id).exec(exit);
      } catch (RuntimeException e) {
        throwIfInterrupted(e);
        return error(spec, startNanos, engineFailure(e));
      }
      if (!exit.awaitCompletion(spec.policy().wallTime().toMillis(), TimeUnit.MILLISECONDS)) {
        timedOut = true;
        killQuietly(docker, id, spec.jobId());
        exit.awaitCompletion(DRAIN_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
      }
      // the exit can overtake the last frames of output: let the attach stream end by itself first
      attach.awaitCompletion(DRAIN_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
      Boolean oomKilled;
      Long exitCode;
      try {
        var state = docker.inspectContainerCmd(id).exec().getState();
        oomKilled = state.getOOMKilled();
        exitCode = state.getExitCodeLong();
      } catch (RuntimeException e) {
        throwIfInterrupted(e);
        return error(spec, startNanos, engineFailure(e));
      }
      int code = exit.statusCode != null ? exit.statusCode : exitCode != null ? exitCode.intValue() : -1;
      output.close();
      return result(spec, startNanos, output, code, timedOut, Boolean.TRUE.equals(oomKilled), job.cancelled);
    } catch (InterruptedException e) {
      Thread.interrupted();
      killQuietly(docker, id, spec.jobId());
      throw e;
    } finally {
      closeQuietly(attach);
      closeQuietly(exit);
    }
  }

  /**
   * An engine call that failed because the calling thread was interrupted (docker-java's socket is an interruptible
   * channel: {@code ClosedByInterruptException}) is an interruption, not an engine failure.
   */
  private static void throwIfInterrupted(Exception e) throws InterruptedException {
    boolean byInterrupt = Thread.interrupted();
    for (Throwable t = e; t != null && !byInterrupt; t = t.getCause()) {
      byInterrupt = t instanceof InterruptedException || t instanceof java.io.InterruptedIOException
          || t instanceof java.nio.channels.ClosedByInterruptException;
    }
    if (byInterrupt) {
      var interrupted = new InterruptedException("interrupted while talking to the Docker engine");
      interrupted.initCause(e);
      throw interrupted;
    }
  }

  private String create(DockerClient docker, SandboxSpec spec, String image, Path stdinDir, WorkTmpfs work) {
    SandboxPolicy policy = spec.policy();
    List<Bind> binds = new ArrayList<>();
    binds.add(new Bind(spec.workDir().toAbsolutePath().toString(), new Volume(WorkTmpfs.CHECKOUT), AccessMode.ro));
    if (stdinDir != null) {
      binds.add(new Bind(stdinDir.toString(), new Volume(STDIN_DIR), AccessMode.ro));
    }
    List<String> entrypoint = work.wrap(spec.command(), stdinDir == null ? null : STDIN_DIR + "/in");
    var host = HostConfig.newHostConfig()
        .withNetworkMode("none")
        .withReadonlyRootfs(true)
        .withTmpFs(Map.of("/tmp", "rw,nosuid,nodev,size=" + policy.tmpBytes() + ",mode=1777",
            SandboxSpec.WORK_DIR, WorkTmpfs.mountOptions(policy)))
        .withMemory(policy.memoryBytes())
        .withMemorySwap(policy.memoryBytes())
        .withPidsLimit((long) policy.pids())
        .withNanoCPUs(Math.round(policy.cpus() * 1e9))
        .withCapDrop(Capability.ALL)
        .withSecurityOpts(List.of("no-new-privileges"))
        .withInit(true)
        .withIpcMode("private")
        .withLogConfig(new LogConfig(LogConfig.LoggingType.NONE))
        .withBinds(binds);
    Map<String, String> env = new LinkedHashMap<>();
    env.put("HOME", "/tmp");
    env.putAll(spec.env());
    List<String> envList = env.entrySet().stream().map(e -> e.getKey() + "=" + e.getValue()).toList();
    return docker.createContainerCmd(image)
        .withEntrypoint(entrypoint)
        .withEnv(envList)
        .withUser(JobWorkDir.SANDBOX_UID + ":" + JobWorkDir.SANDBOX_UID)
        .withWorkingDir(SandboxSpec.WORK_DIR)
        .withHostName("sandbox")
        .withNetworkDisabled(true)
        .withAttachStdout(true)
        .withAttachStderr(true)
        .withAttachStdin(false)
        .withTty(false)
        .withLabels(Map.of(LABEL_SANDBOX, "1", LABEL_JOB, spec.jobId(), LABEL_OWNER, Owner.SELF))
        .withHostConfig(host)
        .exec()
        .getId();
  }

  private SandboxResult result(SandboxSpec spec, long startNanos, CappedOutput output, int code, boolean timedOut,
      boolean oomKilled, boolean cancelled) {
    SandboxPolicy policy = spec.policy();
    SandboxResult.Reason reason;
    String detail;
    if (cancelled && code != 0) {
      reason = SandboxResult.Reason.EXIT;
      detail = "killed on request (cancelled)";
    } else if (timedOut) {
      reason = SandboxResult.Reason.TIMEOUT;
      detail = "ran longer than its wall time of " + policy.wallTime().toSeconds() + " s: killed";
    } else if (oomKilled) {
      reason = SandboxResult.Reason.OOM;
      detail = "used more than its memory limit of " + (policy.memoryBytes() >> 20) + " MiB: killed";
    } else if (code == 0) {
      reason = SandboxResult.Reason.OK;
      detail = "";
    } else if (output.seen()) {
      reason = SandboxResult.Reason.DISK;
      detail = WorkTmpfs.detail(policy);
    } else if (looksLikeForkFailure(output.log())) {
      reason = SandboxResult.Reason.PIDS;
      detail = "could not start more processes: the limit is " + policy.pids() + " processes and threads";
    } else {
      reason = SandboxResult.Reason.EXIT;
      detail = "";
    }
    int exitCode = code < 0 && (timedOut || cancelled) ? 137 : code;
    var result = new SandboxResult(exitCode, reason, output.stdout(), output.log(), output.truncated(),
        Duration.ofNanos(System.nanoTime() - startNanos), NAME, detail);
    log.info("sandbox job ended job={} backend=docker reason={} exit={} truncated={} ms={}", spec.jobId(),
        reason.apiName(), exitCode, result.truncated(), result.duration().toMillis());
    return result;
  }

  static boolean looksLikeForkFailure(String log) {
    String text = log.toLowerCase(Locale.ROOT);
    return FORK_FAILURES.stream().anyMatch(text::contains);
  }

  private SandboxResult cancelled(SandboxSpec spec, long startNanos, CappedOutput output, String detail) {
    output.close();
    log.info("sandbox job ended job={} backend=docker reason=exit detail=\"{}\"", spec.jobId(), detail);
    return new SandboxResult(137, SandboxResult.Reason.EXIT, output.stdout(), output.log(), output.truncated(),
        Duration.ofNanos(System.nanoTime() - startNanos), NAME, detail);
  }

  private SandboxResult error(SandboxSpec spec, long startNanos, String detail) {
    log.warn("sandbox job failed job={} backend=docker reason=error detail=\"{}\"", spec.jobId(), detail);
    return new SandboxResult(-1, SandboxResult.Reason.ERROR, "", "", false,
        Duration.ofNanos(System.nanoTime() - startNanos), NAME, detail);
  }

  private String engineFailure(RuntimeException e) {
    return "the Docker engine at " + engine.host() + " failed: " + e.getMessage()
        + " (check it with scripts/docker-engine.sh)";
  }

  @Override
  public void kill(String jobId) {
    var job = running.get(jobId);
    if (job != null) {
      job.cancelled = true;
    }
    DockerClient docker = engine.client();
    try {
      var containers = docker.listContainersCmd()
          .withLabelFilter(Map.of(LABEL_SANDBOX, "1", LABEL_JOB, jobId)).exec();
      for (var c : containers) {
        killQuietly(docker, c.getId(), jobId);
      }
      log.info("sandbox job kill job={} backend=docker containers={}", jobId, containers.size());
    } catch (RuntimeException e) {
      log.warn("sandbox job kill failed job={} backend=docker error={}", jobId, e.toString());
    }
  }

  /**
   * Removes every container labelled {@code heyken.sandbox=1} that no job of this JVM runs, except those another live
   * JVM on this host runs (its owner label names a process that is still there). Returns how many it removed.
   */
  @Override
  public int removeOrphans() {
    DockerClient docker = engine.client();
    List<Container> containers;
    try {
      containers = docker.listContainersCmd().withShowAll(true).withLabelFilter(Map.of(LABEL_SANDBOX, "1")).exec();
    } catch (RuntimeException e) {
      log.warn("sandbox orphans not looked for backend=docker error={}", e.toString());
      return 0;
    }
    int removed = 0;
    for (var c : containers) {
      var labels = c.getLabels() == null ? Map.<String, String>of() : c.getLabels();
      String owner = labels.get(LABEL_OWNER);
      String jobId = labels.getOrDefault(LABEL_JOB, "?");
      if (Owner.SELF.equals(owner) && RUNNING_JOBS.contains(jobId) || Owner.isAnotherLiveProcess(owner)) {
        continue;
      }
      if (remove(docker, c.getId(), jobId)) {
        removed++;
        log.info("sandbox orphan removed job={} backend=docker container={} state={}", jobId, shortId(c.getId()),
            c.getState());
      }
    }
    return removed;
  }

  @Override
  public void close() {
    for (var e : new ArrayList<>(running.keySet())) {
      kill(e);
    }
    closeQuietly(engine);
    closeQuietly(probe);
  }

  private static boolean imageExists(DockerClient docker, String image) {
    try {
      docker.inspectImageCmd(image).exec();
      return true;
    } catch (NotFoundException e) {
      return false;
    }
  }

  private static void killQuietly(DockerClient docker, String id, String jobId) {
    try {
      docker.killContainerCmd(id).exec();
    } catch (NotFoundException | ConflictException e) {
      // already gone or not running: nothing to kill
    } catch (RuntimeException e) {
      log.warn("sandbox container kill failed job={} container={} error={}", jobId, shortId(id), e.toString());
    }
  }

  private static void removeByLabel(DockerClient docker, String jobId) {
    try {
      for (var c : docker.listContainersCmd().withShowAll(true)
          .withLabelFilter(Map.of(LABEL_SANDBOX, "1", LABEL_JOB, jobId)).exec()) {
        remove(docker, c.getId(), jobId);
      }
    } catch (RuntimeException e) {
      log.warn("sandbox containers of job not listed job={} error={} (removeOrphans retries at the next start)",
          jobId, e.toString());
    }
  }

  private static boolean remove(DockerClient docker, String id, String jobId) {
    try {
      docker.removeContainerCmd(id).withForce(true).withRemoveVolumes(true).exec();
      return true;
    } catch (NotFoundException e) {
      return false;
    } catch (RuntimeException e) {
      log.warn("sandbox container not removed job={} container={} error={} (removeOrphans retries at the next start)",
          jobId, shortId(id), e.toString());
      return false;
    }
  }

  private static void deleteQuietly(Path dir, String jobId) {
    try {
      JobWorkDir.deleteTree(dir);
    } catch (IOException e) {
      log.warn("sandbox stdin directory not removed job={} dir={} error={}", jobId, dir, e.toString());
    }
  }

  private static void closeQuietly(AutoCloseable c) {
    try {
      c.close();
    } catch (Exception e) {
      log.debug("close failed: {}", e.toString());
    }
  }

  private static String shortId(String id) {
    return id.length() > 12 ? id.substring(0, 12) : id;
  }

  private static long millisSince(long startNanos) {
    return (System.nanoTime() - startNanos) / 1_000_000;
  }

  private static final class RunningJob {
    volatile String containerId;
    volatile boolean cancelled;
  }

  /** Frames of the attach stream into the job's output. */
  private static final class AttachCallback extends ResultCallback.Adapter<Frame> {
    private final CappedOutput output;

    AttachCallback(CappedOutput output) {
      this.output = output;
    }

    @Override
    public void onNext(Frame frame) {
      byte[] payload = frame.getPayload();
      if (payload != null) {
        String stream = frame.getStreamType() == StreamType.STDERR ? CappedOutput.STDERR : CappedOutput.STDOUT;
        output.accept(stream, payload, 0, payload.length);
      }
    }
  }

  /** The container's exit code. */
  private static final class WaitCallback extends ResultCallback.Adapter<WaitResponse> {
    volatile Integer statusCode;

    @Override
    public void onNext(WaitResponse response) {
      statusCode = response.getStatusCode();
    }
  }

  /**
   * Who runs a container: {@code <boot id>/<pid>/<start millis>} of a JVM. Another core on the same host (same boot
   * id) whose process still runs owns its containers; anything else is an orphan.
   */
  static final class Owner {
    private static final String BOOT_ID = bootId();
    static final String SELF = BOOT_ID + "/" + ProcessHandle.current().pid() + "/"
        + startMillis(ProcessHandle.current());

    private Owner() {}

    static boolean isAnotherLiveProcess(String owner) {
      if (owner == null || owner.equals(SELF)) {
        return false;
      }
      String[] parts = owner.split("/");
      if (parts.length != 3 || !parts[0].equals(BOOT_ID)) {
        return false;
      }
      try {
        var handle = ProcessHandle.of(Long.parseLong(parts[1]));
        return handle.isPresent() && String.valueOf(startMillis(handle.get())).equals(parts[2]);
      } catch (NumberFormatException e) {
        return false;
      }
    }

    private static long startMillis(ProcessHandle handle) {
      return handle.info().startInstant().map(java.time.Instant::toEpochMilli).orElse(0L);
    }

    private static String bootId() {
      try {
        return Files.readString(Path.of("/proc/sys/kernel/random/boot_id")).trim();
      } catch (IOException e) {
        return "unknown-boot";
      }
    }
  }
}
