package heyken.sandbox;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigValueType;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;

/**
 * The typed {@code heyken.sandbox} configuration (plus the Docker host of {@code heyken.components.docker-host}), read
 * once by {@link #from(Config)}. Relative directories are resolved against {@code heyken.data-dir}, which itself is
 * resolved against the JVM's working directory.
 *
 * @param backend {@code auto}, {@code docker} or {@code bubblewrap}
 * @param defaultImage the image of a job that names none
 * @param imageAliases image name (repository) → local image, in configuration order
 * @param workDir parent of the per-job work directories (absolute)
 * @param gitDir parent of the features' bare git repositories (absolute)
 * @param maxConcurrentJobs how many jobs run at once on one core
 * @param policy the default limits of a job
 * @param maxPolicy the most a feature may ask for
 * @param invokeTimeout wall time of one invocation of a deployed feature
 * @param maxFileBytes the largest file of feature code accepted over the API
 * @param maxRevisionBytes the largest revision (all files) accepted over the API
 * @param maxFiles the most files of one revision
 * @param dockerHost the engine's address, e.g. {@code unix:///var/run/docker.sock}
 * @param probeTimeout how long an availability probe of the engine may take
 * @param maxLostAttempts how many attempts in a row of one test run may end with the loss of the core that ran them
 *     (its death, e.g. killed by what the pipeline made it do) before the run is failed instead of resumed again
 */
public record SandboxSettings(
    String backend,
    String defaultImage,
    Map<String, String> imageAliases,
    Path workDir,
    Path gitDir,
    int maxConcurrentJobs,
    SandboxPolicy policy,
    SandboxPolicy maxPolicy,
    Duration invokeTimeout,
    long maxFileBytes,
    long maxRevisionBytes,
    int maxFiles,
    String dockerHost,
    Duration probeTimeout,
    int maxLostAttempts) {

  public static final String AUTO = "auto";
  public static final String DOCKER = "docker";
  public static final String BUBBLEWRAP = "bubblewrap";

  public SandboxSettings {
    backend = backend.trim().toLowerCase(Locale.ROOT);
    if (!List.of(AUTO, DOCKER, BUBBLEWRAP).contains(backend)) {
      throw new IllegalArgumentException("heyken.sandbox.backend (HEYKEN_SANDBOX_BACKEND) must be auto, docker or "
          + "bubblewrap, got \"" + backend + "\"");
    }
    imageAliases = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(imageAliases));
    Objects.requireNonNull(workDir, "workDir");
    Objects.requireNonNull(gitDir, "gitDir");
    if (maxConcurrentJobs < 1) {
      throw new IllegalArgumentException("heyken.sandbox.max-concurrent-jobs (HEYKEN_SANDBOX_CONCURRENCY) must be at "
          + "least 1, got " + maxConcurrentJobs);
    }
    requireWithin(policy, maxPolicy);
    if (maxLostAttempts < 1) {
      throw new IllegalArgumentException("heyken.sandbox.max-lost-attempts (HEYKEN_SANDBOX_MAX_LOST_ATTEMPTS) must be "
          + "at least 1, got " + maxLostAttempts);
    }
    if (maxFiles < 1 || maxFileBytes < 1 || maxRevisionBytes < maxFileBytes) {
      throw new IllegalArgumentException("heyken.sandbox: max-files and max-file-bytes must be positive and "
          + "max-revision-bytes at least max-file-bytes");
    }
  }

  /** Reads the settings from the root configuration (the one application.conf). */
  public static SandboxSettings from(Config config) {
    Config c = config.getConfig("heyken.sandbox");
    Path dataDir = Path.of(config.getString("heyken.data-dir")).toAbsolutePath().normalize();
    var aliases = new LinkedHashMap<String, String>();
    // root().entrySet() keeps quoted keys whole ("docker.io/library/python" is one key, not a path)
    for (var e : c.getConfig("image-aliases").root().entrySet()) {
      if (e.getValue().valueType() != ConfigValueType.STRING) {
        throw new ConfigException.WrongType(e.getValue().origin(), "heyken.sandbox.image-aliases." + e.getKey(),
            "STRING", e.getValue().valueType().name());
      }
      aliases.put(e.getKey(), (String) e.getValue().unwrapped());
    }
    return new SandboxSettings(
        c.getString("backend"),
        c.getString("default-image"),
        aliases,
        dataDir.resolve(c.getString("work-dir")).normalize(),
        dataDir.resolve(c.getString("git-dir")).normalize(),
        c.getInt("max-concurrent-jobs"),
        SandboxPolicy.from(config),
        SandboxPolicy.from(c, "max-policy"),
        c.getDuration("invoke-timeout"),
        c.getBytes("max-file-bytes"),
        c.getBytes("max-revision-bytes"),
        c.getInt("max-files"),
        config.getString("heyken.components.docker-host"),
        config.getDuration("heyken.components.probe-timeout"),
        c.getInt("max-lost-attempts"));
  }

  /** Image name resolution with this configuration's default and aliases. */
  public Images images() {
    return new Images(defaultImage, imageAliases);
  }

  /**
   * The local image a job naming {@code image} runs in, as far as the configuration tells: the default for none, an
   * alias for a registry name (see {@link Images}). The Docker backend applies the same rules at run time and also
   * keeps a name that exists as a local image.
   */
  public String resolveImage(String image) {
    return images().resolve(image);
  }

  /** The limits on feature code arriving over the API, for the repositories. */
  public RepositoryLimits repositoryLimits() {
    return new RepositoryLimits(maxFiles, maxFileBytes, maxRevisionBytes);
  }

  /** Limits on one revision of a feature's code. */
  public record RepositoryLimits(int maxFiles, long maxFileBytes, long maxRevisionBytes) {}

  private static void requireWithin(SandboxPolicy policy, SandboxPolicy max) {
    Objects.requireNonNull(policy, "policy");
    Objects.requireNonNull(max, "maxPolicy");
    if (policy.memoryBytes() > max.memoryBytes() || policy.cpus() > max.cpus() || policy.pids() > max.pids()
        || policy.wallTime().compareTo(max.wallTime()) > 0 || policy.outputCapBytes() > max.outputCapBytes()
        || policy.tmpBytes() > max.tmpBytes() || policy.diskBytes() > max.diskBytes()) {
      throw new IllegalArgumentException("heyken.sandbox.policy exceeds heyken.sandbox.max-policy: " + policy
          + " is not within " + max);
    }
  }
}
