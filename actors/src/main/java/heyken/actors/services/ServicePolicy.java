package heyken.actors.services;

import com.typesafe.config.Config;
import java.util.Locale;

/**
 * What a dynamic service's container gets unless its spec says otherwise ({@code heyken.services.limits}): memory
 * (without extra swap), cpus, pids, the user it runs as; and how far a spec may raise the limits. Every container also
 * runs with no capabilities and no new privileges, which no spec can change, and its host ports bind loopback or
 * {@code HEYKEN_BIND_HOST} only.
 */
public record ServicePolicy(long memoryBytes, double cpus, long pids, long maxMemoryBytes, double maxCpus,
    long maxPids, String user, String bindHost) {

  static final long MIB = 1L << 20;
  /** Docker refuses less memory than about 6 MiB. */
  static final long MIN_MEMORY = 8 * MIB;

  public static final ServicePolicy DEFAULT =
      new ServicePolicy(512 * MIB, 1.0, 512, 4096 * MIB, 4.0, 4096, "65534:65534", "127.0.0.1");

  public static ServicePolicy from(Config config) {
    Config c = config.getConfig("heyken.services.limits");
    var policy = new ServicePolicy(c.getBytes("memory"), c.getDouble("cpus"), c.getLong("pids"),
        c.getBytes("max-memory"), c.getDouble("max-cpus"), c.getLong("max-pids"), c.getString("user").trim(),
        config.getString("heyken.bind-host").trim());
    if (policy.memoryBytes < MIN_MEMORY || policy.memoryBytes > policy.maxMemoryBytes || policy.cpus <= 0
        || policy.cpus > policy.maxCpus || policy.pids < 1 || policy.pids > policy.maxPids) {
      throw new IllegalArgumentException("heyken.services.limits: memory (at least 8MiB), cpus and pids must be "
          + "positive and at most their max-*: " + policy);
    }
    return policy;
  }

  public long memory(ServiceSpec spec) {
    return spec.limits() == null || spec.limits().memoryBytes() == null ? memoryBytes : spec.limits().memoryBytes();
  }

  public double cpus(ServiceSpec spec) {
    return spec.limits() == null || spec.limits().cpus() == null ? cpus : spec.limits().cpus();
  }

  public long pids(ServiceSpec spec) {
    return spec.limits() == null || spec.limits().pids() == null ? pids : spec.limits().pids();
  }

  public String user(ServiceSpec spec) {
    return spec.user() == null ? user : spec.user();
  }

  /** Whether a published port may bind {@code ip}: loopback, the installation's own address, or anything on 0.0.0.0. */
  public boolean mayBind(String ip) {
    return loopback(ip) || ip.equals(bindHost) || bindHost.equals("0.0.0.0");
  }

  private static boolean loopback(String host) {
    String h = host.toLowerCase(Locale.ROOT);
    return h.startsWith("127.") || h.equals("localhost") || h.equals("::1");
  }
}
