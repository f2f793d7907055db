package heyken.sandbox;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.locks.LockSupport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The cgroups that limit bubblewrap jobs: per controller (memory, pids, cpu) the v1 hierarchy it is mounted on, else
 * the v2 hierarchy when it offers the controller, each with a {@code heyken/} parent that holds one group per job.
 * Found once from {@code /proc/self/mountinfo}; a controller whose parent cannot be created (not root, read-only
 * cgroupfs) is left out and {@link #describe()} says that its limit is not enforced.
 */
final class Cgroups {

  private static final Logger log = LoggerFactory.getLogger(Cgroups.class);
  static final String PARENT = "heyken";
  private static final String MEMORY = "memory";
  private static final String PIDS = "pids";
  private static final String CPU = "cpu";
  private static final long CPU_PERIOD_US = 100_000;

  enum Version { V1, V2 }

  /** Where one controller's job groups live. */
  record Controller(String name, Version version, Path parent) {}

  private final Map<String, Controller> controllers;
  private final Map<String, String> missing;

  private Cgroups(Map<String, Controller> controllers, Map<String, String> missing) {
    this.controllers = controllers;
    this.missing = missing;
  }

  static Cgroups detect() {
    Map<String, Path> v1 = new LinkedHashMap<>();
    Path v2 = null;
    try {
      for (String line : Files.readAllLines(Path.of("/proc/self/mountinfo"))) {
        int sep = line.indexOf(" - ");
        if (sep < 0) {
          continue;
        }
        String[] left = line.substring(0, sep).split(" ");
        String[] right = line.substring(sep + 3).split(" ");
        if (left.length < 5 || right.length < 3) {
          continue;
        }
        Path mountPoint = Path.of(left[4]);
        if (right[0].equals("cgroup")) {
          for (String option : right[2].split(",")) {
            if (option.equals(MEMORY) || option.equals(PIDS) || option.equals(CPU)) {
              v1.putIfAbsent(option, mountPoint);
            }
          }
        } else if (right[0].equals("cgroup2") && v2 == null) {
          v2 = mountPoint;
        }
      }
    } catch (IOException e) {
      log.warn("cgroups not found: cannot read /proc/self/mountinfo: {}", e.toString());
    }
    Set<String> v2Available = new LinkedHashSet<>();
    if (v2 != null) {
      try {
        v2Available.addAll(List.of(Files.readString(v2.resolve("cgroup.controllers")).trim().split("\\s+")));
      } catch (IOException e) {
        log.debug("cgroup v2 controllers unreadable: {}", e.toString());
      }
    }
    Map<String, Controller> found = new LinkedHashMap<>();
    Map<String, String> missing = new LinkedHashMap<>();
    for (String name : List.of(MEMORY, PIDS, CPU)) {
      try {
        if (v1.containsKey(name)) {
          Path parent = v1.get(name).resolve(PARENT);
          Files.createDirectories(parent);
          found.put(name, new Controller(name, Version.V1, parent));
        } else if (v2 != null && v2Available.contains(name)) {
          found.put(name, new Controller(name, Version.V2, enableV2(v2, name)));
        } else {
          missing.put(name, "no " + name + " controller on this host");
        }
      } catch (IOException | RuntimeException e) {
        missing.put(name, "cgroup not writable: " + e.getMessage());
      }
    }
    return new Cgroups(found, missing);
  }

  /** v2: a controller reaches a group only when every ancestor lists it in cgroup.subtree_control. */
  private static Path enableV2(Path root, String controller) throws IOException {
    enableInSubtree(root, controller);
    Path parent = root.resolve(PARENT);
    Files.createDirectories(parent);
    enableInSubtree(parent, controller);
    return parent;
  }

  private static void enableInSubtree(Path group, String controller) throws IOException {
    Path control = group.resolve("cgroup.subtree_control");
    if (!List.of(Files.readString(control).trim().split("\\s+")).contains(controller)) {
      write(control, "+" + controller);
    }
  }

  boolean enforces(String controller) {
    return controllers.containsKey(controller);
  }

  /** For people: which limits hold, on which cgroup version, and which do not and why. */
  String describe() {
    List<String> parts = new ArrayList<>();
    if (!controllers.isEmpty()) {
      List<String> on = new ArrayList<>();
      controllers.values().forEach(c -> on.add(c.name() + " (cgroup " + c.version().name().toLowerCase(java.util.Locale.ROOT) + ")"));
      parts.add("limits enforced: " + String.join(", ", on) + ", wall time");
    } else {
      parts.add("limits enforced: wall time");
    }
    if (!missing.isEmpty()) {
      List<String> off = new ArrayList<>();
      missing.forEach((name, why) -> off.add(name + " (" + why + ")"));
      parts.add("NOT enforced: " + String.join(", ", off) + " - run the core as root on a host with writable "
          + "cgroups, or use the Docker backend");
    }
    return String.join("; ", parts);
  }

  /** Creates the job's groups with the policy's limits, replacing a leftover of the same name. */
  JobCgroup create(String name, SandboxPolicy policy) throws IOException {
    var job = existing(name);
    if (!job.dirs().isEmpty() && job.dirs().stream().anyMatch(Files::isDirectory)) {
      log.warn("sandbox cgroup left over from an earlier job of the same id job={}: removing it", name);
      job.destroy(Duration.ofSeconds(5));
    }
    try {
      // v2 has one group for all controllers: create each directory once, then set every controller's limit
      for (Path dir : job.dirs()) {
        Files.createDirectory(dir);
      }
      for (var c : controllers.values()) {
        limit(c, c.parent().resolve(name), policy);
      }
    } catch (IOException | RuntimeException e) {
      job.destroy(Duration.ofSeconds(5));
      throw e;
    }
    return job;
  }

  private static void limit(Controller c, Path dir, SandboxPolicy policy) throws IOException {
    switch (c.name()) {
      case MEMORY -> {
        String bytes = String.valueOf(policy.memoryBytes());
        if (c.version() == Version.V1) {
          write(dir.resolve("memory.limit_in_bytes"), bytes);
          // without swap accounting the limit holds for RAM only; with it, RAM + swap = the limit (no swap)
          writeIfPresent(dir.resolve("memory.memsw.limit_in_bytes"), bytes);
        } else {
          write(dir.resolve("memory.max"), bytes);
          writeIfPresent(dir.resolve("memory.swap.max"), "0");
        }
      }
      case PIDS -> write(dir.resolve("pids.max"), String.valueOf(policy.pids()));
      case CPU -> {
        long quota = Math.max(1000, Math.round(policy.cpus() * CPU_PERIOD_US));
        if (c.version() == Version.V1) {
          write(dir.resolve("cpu.cfs_period_us"), String.valueOf(CPU_PERIOD_US));
          write(dir.resolve("cpu.cfs_quota_us"), String.valueOf(quota));
        } else {
          write(dir.resolve("cpu.max"), quota + " " + CPU_PERIOD_US);
        }
      }
      default -> throw new IllegalStateException("unknown controller " + c.name());
    }
  }

  /** The groups a job of that name has or would have (they need not exist). */
  JobCgroup existing(String name) {
    // the name becomes a path under every parent: "." or ".." would make the job's group the parent or the root
    if (!name.matches("[A-Za-z0-9_.-]{1,128}") || name.equals(".") || name.equals("..")) {
      throw new IllegalArgumentException("not a job cgroup name: " + name);
    }
    return new JobCgroup(name, controllers);
  }

  /** Names of the job groups that exist now under every controller's parent. */
  Set<String> jobNames() {
    Set<String> names = new TreeSet<>();
    for (var c : controllers.values()) {
      try (DirectoryStream<Path> children = Files.newDirectoryStream(c.parent(), Files::isDirectory)) {
        children.forEach(p -> names.add(p.getFileName().toString()));
      } catch (IOException e) {
        log.warn("sandbox cgroups not listed dir={} error={}", c.parent(), e.toString());
      }
    }
    return names;
  }

  private static void write(Path file, String value) throws IOException {
    Files.writeString(file, value, StandardCharsets.US_ASCII, StandardOpenOption.WRITE);
  }

  private static void writeIfPresent(Path file, String value) throws IOException {
    if (Files.exists(file)) {
      write(file, value);
    }
  }

  /** One job's groups, one per controller. */
  static final class JobCgroup {
    private final String name;
    private final Map<String, Controller> controllers;

    private JobCgroup(String name, Map<String, Controller> controllers) {
      this.name = name;
      this.controllers = controllers;
    }

    /** The distinct group directories (v2 has one for all controllers). */
    List<Path> dirs() {
      Set<Path> dirs = new LinkedHashSet<>();
      controllers.values().forEach(c -> dirs.add(c.parent().resolve(name)));
      return new ArrayList<>(dirs);
    }

    List<Path> procsFiles() {
      return dirs().stream().map(d -> d.resolve("cgroup.procs")).toList();
    }

    /** How often the kernel's OOM killer struck in this job; 0 without a memory group. */
    long oomKills() {
      var c = controllers.get(MEMORY);
      if (c == null) {
        return 0;
      }
      Path dir = c.parent().resolve(name);
      return counter(c.version() == Version.V1 ? dir.resolve("memory.oom_control") : dir.resolve("memory.events"),
          "oom_kill");
    }

    /** How often a fork was refused for the pids limit; 0 without a pids group. */
    long pidsLimitHits() {
      var c = controllers.get(PIDS);
      return c == null ? 0 : counter(c.parent().resolve(name).resolve("pids.events"), "max");
    }

    Set<Long> pids() {
      Set<Long> pids = new LinkedHashSet<>();
      for (Path procs : procsFiles()) {
        try {
          for (String line : Files.readAllLines(procs)) {
            if (!line.isBlank()) {
              pids.add(Long.parseLong(line.trim()));
            }
          }
        } catch (NoSuchFileException e) {
          // not created, or removed already
        } catch (IOException | NumberFormatException e) {
          log.debug("cgroup procs unreadable file={} error={}", procs, e.toString());
        }
      }
      return pids;
    }

    /** SIGKILL to everything in the groups now (new forks may still appear: see {@link #destroy}). */
    void killAll() {
      for (Path dir : dirs()) {
        Path kill = dir.resolve("cgroup.kill");
        if (Files.exists(kill)) {
          try {
            write(kill, "1");
          } catch (IOException e) {
            log.debug("cgroup.kill failed dir={} error={}", dir, e.toString());
          }
        }
      }
      for (long pid : pids()) {
        ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
      }
    }

    /**
     * Kills what is left and removes the groups. A pid namespace dies asynchronously and a group with processes
     * cannot be removed ({@code Device or resource busy}), so this kills and retries until {@code timeout}. Returns
     * whether every group is gone.
     */
    boolean destroy(Duration timeout) {
      long deadline = System.nanoTime() + timeout.toNanos();
      while (true) {
        killAll();
        boolean allGone = true;
        for (Path dir : dirs()) {
          try {
            Files.deleteIfExists(dir);
          } catch (IOException e) {
            allGone = false;
          }
        }
        if (allGone) {
          return true;
        }
        if (System.nanoTime() > deadline) {
          log.warn("sandbox cgroup not removed job={} pids={} (removeOrphans retries at the next start)", name,
              pids());
          return false;
        }
        LockSupport.parkNanos(Duration.ofMillis(5).toNanos());
      }
    }

    /**
     * Whether a JVM other than this one, still alive, started the processes in these groups: the parent of the
     * group's outermost process (bwrap) is the JVM that runs the job.
     */
    /**
     * Created less than {@code age} ago: when empty, possibly a job another JVM on this host is setting up right now
     * (its group exists a moment before its first process joins it), so not an orphan yet.
     */
    boolean youngerThan(java.time.Duration age) {
      long now = System.currentTimeMillis();
      for (Path dir : dirs()) {
        try {
          if (now - Files.getLastModifiedTime(dir).toMillis() < age.toMillis()) {
            return true;
          }
        } catch (IOException e) {
          // gone already
        }
      }
      return false;
    }

    boolean startedByAnotherLiveJvm() {
      Set<Long> inside = pids();
      long self = ProcessHandle.current().pid();
      for (long pid : inside) {
        var parent = ProcessHandle.of(pid).flatMap(ProcessHandle::parent);
        if (parent.isEmpty() || inside.contains(parent.get().pid())) {
          continue;
        }
        long ppid = parent.get().pid();
        boolean java = parent.get().info().command().map(c -> c.endsWith("/java") || c.equals("java")).orElse(false);
        if (ppid != 1 && ppid != self && java) {
          return true;
        }
      }
      return false;
    }

    private static long counter(Path file, String key) {
      try {
        for (String line : Files.readAllLines(file)) {
          String[] kv = line.trim().split("\\s+");
          if (kv.length == 2 && kv[0].equals(key)) {
            return Long.parseLong(kv[1]);
          }
        }
      } catch (IOException | NumberFormatException e) {
        log.debug("cgroup counter unreadable file={} key={} error={}", file, key, e.toString());
      }
      return 0;
    }
  }
}
