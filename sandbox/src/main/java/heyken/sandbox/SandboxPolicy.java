package heyken.sandbox;

import com.typesafe.config.Config;
import java.time.Duration;

/**
 * The limits every sandbox backend enforces on one job: memory (an OOM is reported as {@code oom}), processes
 * ({@code pids}), CPU, wall-clock time ({@code timeout}: killed, then removed), the size of the output kept, and the
 * size of the writable /tmp, and the disk bound of /work ({@code diskBytes}: /work is a tmpfs of that size holding a copy
 * of the job's work directory; a job that fills it is reported as {@code disk}). No network, a read-only root, uid 65534, no new privileges and no capabilities are not
 * settings: every backend always applies them.
 */
public record SandboxPolicy(
    long memoryBytes, double cpus, int pids, Duration wallTime, int outputCapBytes, long tmpBytes, long diskBytes) {

  /** The disk bound of a policy made without one (tests, probes): the default of {@code heyken.sandbox.policy.disk}. */
  public static final long DEFAULT_DISK_BYTES = 192L << 20;

  public SandboxPolicy {
    if (memoryBytes < 4L << 20) {
      throw new IllegalArgumentException("memory limit must be at least 4 MiB, got " + memoryBytes + " bytes");
    }
    if (!(cpus > 0) || cpus > 64) {
      throw new IllegalArgumentException("cpu limit must be in (0, 64], got " + cpus);
    }
    if (pids < 1) {
      throw new IllegalArgumentException("pids limit must be at least 1, got " + pids);
    }
    if (wallTime.isNegative() || wallTime.isZero()) {
      throw new IllegalArgumentException("wall time must be positive, got " + wallTime);
    }
    if (outputCapBytes < 1024) {
      throw new IllegalArgumentException("output cap must be at least 1 KiB, got " + outputCapBytes);
    }
    if (diskBytes < 1L << 20) {
      throw new IllegalArgumentException("disk bound of /work must be at least 1 MiB, got " + diskBytes + " bytes");
    }
  }

  /** A policy with the default disk bound ({@link #DEFAULT_DISK_BYTES}). */
  public SandboxPolicy(long memoryBytes, double cpus, int pids, Duration wallTime, int outputCapBytes, long tmpBytes) {
    this(memoryBytes, cpus, pids, wallTime, outputCapBytes, tmpBytes, DEFAULT_DISK_BYTES);
  }

  /** The defaults of {@code heyken.sandbox.policy} in application.conf. */
  public static SandboxPolicy from(Config config) {
    return from(config.getConfig("heyken.sandbox"), "policy");
  }

  /** The policy at {@code path} of the {@code heyken.sandbox} block ({@code policy} or {@code max-policy}). */
  static SandboxPolicy from(Config sandbox, String path) {
    Config c = sandbox.getConfig(path);
    return new SandboxPolicy(
        c.getBytes("memory"),
        c.getDouble("cpus"),
        c.getInt("pids"),
        c.getDuration("wall-time"),
        (int) (long) c.getBytes("output-cap"),
        c.getBytes("tmp-size"),
        // a configuration written before the disk bound existed (a test's own) gets the default
        c.hasPath("disk") ? c.getBytes("disk") : DEFAULT_DISK_BYTES);
  }

  public SandboxPolicy withMemoryBytes(long bytes) {
    return new SandboxPolicy(bytes, cpus, pids, wallTime, outputCapBytes, tmpBytes, diskBytes);
  }

  public SandboxPolicy withCpus(double value) {
    return new SandboxPolicy(memoryBytes, value, pids, wallTime, outputCapBytes, tmpBytes, diskBytes);
  }

  public SandboxPolicy withPids(int value) {
    return new SandboxPolicy(memoryBytes, cpus, value, wallTime, outputCapBytes, tmpBytes, diskBytes);
  }

  public SandboxPolicy withWallTime(Duration value) {
    return new SandboxPolicy(memoryBytes, cpus, pids, value, outputCapBytes, tmpBytes, diskBytes);
  }

  public SandboxPolicy withOutputCapBytes(int value) {
    return new SandboxPolicy(memoryBytes, cpus, pids, wallTime, value, tmpBytes, diskBytes);
  }

  public SandboxPolicy withDiskBytes(long value) {
    return new SandboxPolicy(memoryBytes, cpus, pids, wallTime, outputCapBytes, tmpBytes, value);
  }
}
