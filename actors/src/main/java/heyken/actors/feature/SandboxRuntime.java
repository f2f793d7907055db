package heyken.actors.feature;

import heyken.sandbox.JobWorkDir;
import heyken.sandbox.SandboxBackend;
import heyken.sandbox.SandboxBackends;
import heyken.sandbox.SandboxResult;
import heyken.sandbox.SandboxSettings;
import heyken.sandbox.SandboxSpec;
import heyken.sandbox.workspace.FeatureRepositories;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.concurrent.Semaphore;
import java.util.function.Supplier;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.actor.typed.Extension;
import org.apache.pekko.actor.typed.ExtensionId;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What the feature actors of one core use to touch the outside world: the selected sandbox backend, the features'
 * git repositories, per-job work directories, the live run logs, and the dispatcher all of that blocks on. One per
 * ActorSystem; it closes the backend when the system ends.
 */
public final class SandboxRuntime implements Extension {

  public static final String DISPATCHER = "heyken-sandbox-dispatcher";
  private static final Logger log = LoggerFactory.getLogger(SandboxRuntime.class);

  private final int coreId;
  private final Path dataDir;
  private final SandboxSettings settings;
  private final SandboxBackend backend;
  private final FeatureRepositories repositories;
  private final RunLogStore runLogs;
  private final Executor executor;
  private final Semaphore jobSlots;
  private final SandboxBackend slotLimited;
  private final heyken.actors.logs.RunOutputBudget.Bounds runOutputBounds;

  private SandboxRuntime(ActorSystem<?> system) {
    var config = system.settings().config();
    var node = heyken.actors.NodeSettings.from(config);
    this.coreId = node.coreId();
    this.dataDir = node.dataDir();
    this.settings = SandboxSettings.from(config);
    this.backend = SandboxBackends.select(settings);
    this.repositories = new FeatureRepositories(settings.gitDir(), settings.repositoryLimits());
    this.runLogs = new RunLogStore(heyken.actors.postgres.PostgresDatabase.get(system));
    this.executor = system.dispatchers().lookup(DispatcherSelector.fromConfig(DISPATCHER));
    this.jobSlots = new Semaphore(settings.maxConcurrentJobs(), true);
    this.slotLimited = new SlotLimited();
    this.runOutputBounds = heyken.actors.logs.RunOutputBudget.Bounds.from(config);
    system.getWhenTerminated().thenRun(() -> {
      runLogs.close();
      backend.close();
    });
  }

  public static SandboxRuntime get(ActorSystem<?> system) {
    return Id.INSTANCE.apply(system);
  }

  /** The id (1 or 2) of the core this runtime belongs to. */
  public int coreId() {
    return coreId;
  }

  /** The installation's data directory (store, repositories, logs), absolute. */
  public Path dataDir() {
    return dataDir;
  }

  public SandboxSettings settings() {
    return settings;
  }

  public SandboxBackend backend() {
    return backend;
  }

  public FeatureRepositories repositories() {
    return repositories;
  }

  public RunLogStore runLogs() {
    return runLogs;
  }

  /** What one test run may store of its jobs' output in the log store ({@code heyken.logs.run-output}). */
  public heyken.actors.logs.RunOutputBudget.Bounds runOutputBounds() {
    return runOutputBounds;
  }

  /** Job ids start with the core that runs them, so a core cleaning up after its own crash leaves the other's. */
  public String jobId(String what) {
    return "heyken-core" + coreId + "-" + what;
  }

  public <T> CompletionStage<T> blocking(Supplier<T> work) {
    return CompletableFuture.supplyAsync(work, executor);
  }

  /** Runs a job once one of the core's job slots is free (heyken.sandbox.max-concurrent-jobs). */
  public SandboxResult runInSlot(SandboxSpec spec, SandboxBackend.OutputListener output) throws InterruptedException {
    jobSlots.acquire();
    try {
      return heyken.actors.metrics.Metrics.sandboxJob(backend.run(spec, output));
    } finally {
      jobSlots.release();
    }
  }

  /** The backend behind the core's job slots: a job waits for a slot before it starts. */
  public SandboxBackend slotLimited() {
    return slotLimited;
  }

  /** This core's part of the work dir: what an earlier life of this core left there is its own garbage. */
  private Path coreWorkDir() {
    return settings.workDir().resolve("core-" + coreId);
  }

  /** A fresh, empty directory under the work dir for one job. */
  public Path newWorkDir(String name) {
    try {
      Path dir = coreWorkDir().resolve(name);
      deleteTree(dir);
      Files.createDirectories(dir);
      return dir;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create the work directory for " + name + " under "
          + settings.workDir() + ": " + e.getMessage() + " (check HEYKEN_DATA_DIR is writable)", e);
    }
  }

  /** Removes the sandbox jobs and work directories an earlier life of this core left behind (after a crash). */
  public void removeOrphans() {
    if (Files.isDirectory(coreWorkDir())) {
      log.info("removing the work directories an earlier run of core {} left in {}", coreId, coreWorkDir());
      deleteTree(coreWorkDir());
    }
    try {
      int removed = backend.removeOrphans();
      if (removed > 0) {
        log.info("removed {} sandbox jobs left behind by an earlier run of this core (backend={})", removed,
            backend.name());
      }
    } catch (RuntimeException e) {
      log.warn("could not look for orphaned sandbox jobs (backend={}): {}", backend.name(), e.toString());
    }
  }

  /** Removes a job's directory; what cannot be removed stays, with a warning. */
  public static void deleteTree(Path dir) {
    try {
      JobWorkDir.deleteTree(dir);
    } catch (IOException e) {
      log.warn("could not remove {}: {}", dir, e.toString());
    }
  }

  private final class SlotLimited implements SandboxBackend {
    @Override
    public String name() {
      return backend.name();
    }

    @Override
    public Availability availability() {
      return backend.availability();
    }

    @Override
    public SandboxResult run(SandboxSpec spec, OutputListener output) throws InterruptedException {
      return runInSlot(spec, output);
    }

    @Override
    public void kill(String jobId) {
      backend.kill(jobId);
    }

    @Override
    public int removeOrphans() {
      return backend.removeOrphans();
    }

    @Override
    public void close() {
      // the runtime closes the real backend when the actor system ends
    }
  }

  private static final class Id extends ExtensionId<SandboxRuntime> {
    static final Id INSTANCE = new Id();

    @Override
    public SandboxRuntime createExtension(ActorSystem<?> system) {
      return new SandboxRuntime(system);
    }
  }
}
