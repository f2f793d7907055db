package heyken.actors.services;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonInclude;
import heyken.protocol.CborSerializable;
import heyken.protocol.api.Problem;
import heyken.protocol.api.service.ServiceRequest;
import heyken.protocol.api.service.ServiceView;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A dynamic service as the CoreManager keeps it (inside its events, so never rename this class or its fields): the
 * validated, normalised form of a {@link ServiceRequest}. {@link #validate} is the one place that reads a request.
 */
public record ServiceSpec(
    String name,
    String image,
    Map<String, String> env,
    List<PortBinding> ports,
    List<String> command,
    Healthcheck healthcheck,
    String restart,
    // absent in the journal of a spec that asked for no limits or user of its own, as before they existed
    @JsonInclude(JsonInclude.Include.NON_NULL) Limits limits,
    @JsonInclude(JsonInclude.Include.NON_NULL) String user) implements CborSerializable {

  public static final int MAX_NAME = 40;
  /** Part of {@link #hash}: containers made before services had limits are replaced by limited ones. */
  static final String POLICY_VERSION = "limits-1";
  public static final String RESTART_ALWAYS = "always";
  public static final String RESTART_ON_FAILURE = "on-failure";
  public static final String RESTART_NO = "no";
  static final Pattern NAME = Pattern.compile("[a-z]([a-z0-9-]*[a-z0-9])?");
  private static final Pattern ENV_NAME = Pattern.compile("[A-Za-z_][A-Za-z0-9_]{0,127}");
  private static final Pattern IMAGE = Pattern.compile("[a-z0-9][a-z0-9._/:@-]{0,254}");
  private static final Pattern PORT = Pattern.compile(
      "(?:(\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}):)?(\\d{1,5}):(\\d{1,5})(?:/(tcp|udp))?");
  private static final Pattern DURATION = Pattern.compile("(\\d{1,6})(ms|s|m)");
  private static final int MAX_ENV = 100;
  private static final int MAX_VALUE = 4096;
  private static final int MAX_PORTS = 20;
  private static final int MAX_ARGS = 100;

  /**
   * Options of Docker's that would give a container the host; a request naming one is refused (400) before anything
   * else is read. No spec can loosen these: services run without capabilities and without new privileges.
   */
  public static final List<String> REFUSED_OPTIONS = List.of("privileged", "network_mode", "network", "networks",
      "net", "pid", "pid_mode", "ipc", "ipc_mode", "uts", "userns_mode", "volumes", "volumes_from", "mounts", "binds",
      "tmpfs", "devices", "device_cgroup_rules", "cap_add", "cap_drop", "capabilities", "security_opt", "sysctls",
      "cgroup_parent", "cgroupns", "runtime", "host_config", "hostconfig", "init", "oom_kill_disable",
      "oom_score_adj");
  private static final Pattern USER =
      Pattern.compile("([a-z_][a-z0-9_-]{0,31}|\\d{1,10})(:([a-z_][a-z0-9_-]{0,31}|\\d{1,10}))?");
  private static final Pattern MEMORY = Pattern.compile("(\\d{1,7})\\s*([kmg])(i?b)?", Pattern.CASE_INSENSITIVE);

  /** A spec of the previous version: no limits or user of its own (the policy's defaults apply). */
  public ServiceSpec(String name, String image, Map<String, String> env, List<PortBinding> ports, List<String> command,
      Healthcheck healthcheck, String restart) {
    this(name, image, env, ports, command, healthcheck, restart, null, null);
  }

  /** Limits a spec asked for, each null when it takes the default of {@link ServicePolicy}. */
  public record Limits(Long memoryBytes, Double cpus, Long pids) implements CborSerializable {}

  @JsonCreator
  public ServiceSpec {
    env = env == null ? Map.of() : new TreeMap<>(env);
    ports = ports == null ? List.of() : List.copyOf(ports);
    command = command == null ? List.of() : List.copyOf(command);
    restart = restart == null ? RESTART_ALWAYS : restart;
  }

  /**
   * Env values redacted: the spec is inside events, commands and states that log lines, exception messages and chat
   * answers print, and its values may be secrets. The journal (Jackson) and the engine still get the values.
   */
  @Override
  public String toString() {
    return "ServiceSpec[name=" + name + ", image=" + image + ", env=" + ServiceView.redacted(env) + ", ports=" + ports
        + ", command=" + command + ", healthcheck=" + healthcheck + ", restart=" + restart + ", limits=" + limits
        + ", user=" + user + "]";
  }

  /** A published port: {@code hostIp:hostPort} on the host → {@code containerPort/protocol} in the container. */
  public record PortBinding(String hostIp, int hostPort, int containerPort, String protocol)
      implements CborSerializable {}

  /** Docker's healthcheck; durations in milliseconds, 0 = the engine's default. */
  public record Healthcheck(List<String> test, long intervalMillis, long timeoutMillis, int retries,
      long startPeriodMillis) implements CborSerializable {}

  /** A request checked: the spec, or the 400 to answer. */
  public record Validated(ServiceSpec spec, Problem problem) {}

  /** Whether the name is one a service may have (also guards the path segment of every route). */
  public static Problem validateName(String name) {
    if (name == null || name.isEmpty()) {
      return Problem.badRequest("invalid_name", "name is required");
    }
    if (name.length() > MAX_NAME || !NAME.matcher(name).matches()) {
      return Problem.badRequest("invalid_name", "name must be 1-" + MAX_NAME + " characters of a-z, 0-9 and '-', "
          + "starting with a letter and not ending with '-' (like a DNS label), got \"" + printable(name) + "\"");
    }
    return null;
  }

  /** The first option in {@code fieldNames} that is refused, as the 400 to answer; null when there is none. */
  public static Problem refusedOptions(List<String> fieldNames) {
    for (String field : fieldNames) {
      if (REFUSED_OPTIONS.contains(field.toLowerCase(Locale.ROOT))) {
        return Problem.badRequest("refused_option", "'" + printable(field) + "' is refused: a service can ask for "
            + "neither privileged mode, the host's network, pid or ipc namespace, host mounts, devices nor "
            + "capabilities. Services run without capabilities and without new privileges, as uid 65534 unless "
            + "'user' says otherwise, within 'limits' {memory, cpus, pids} (see docs/security.md)");
      }
    }
    return null;
  }

  public static Validated validate(ServiceRequest r, String defaultHostIp) {
    return validate(r, defaultHostIp, ServicePolicy.DEFAULT);
  }

  public static Validated validate(ServiceRequest r, String defaultHostIp, ServicePolicy policy) {
    if (r == null) {
      return bad("invalid_service", "the body must be a JSON object with at least name and image");
    }
    Problem name = validateName(r.name());
    if (name != null) {
      return new Validated(null, name);
    }
    if (r.image() == null || r.image().isBlank()) {
      return bad("invalid_image", "image is required: a local image such as sandbox/busybox:1");
    }
    if (!IMAGE.matcher(r.image()).matches()) {
      return bad("invalid_image", "image must be an image reference such as sandbox/busybox:1, got \""
          + printable(r.image()) + "\"");
    }
    var env = new TreeMap<String, String>();
    if (r.env() != null) {
      if (r.env().size() > MAX_ENV) {
        return bad("invalid_env", "at most " + MAX_ENV + " environment variables");
      }
      for (var e : r.env().entrySet()) {
        if (!ENV_NAME.matcher(e.getKey()).matches()) {
          return bad("invalid_env", "environment variable names are letters, digits and '_', not starting with a "
              + "digit: \"" + printable(e.getKey()) + "\"");
        }
        if (e.getValue() == null || e.getValue().length() > MAX_VALUE || e.getValue().indexOf('\0') >= 0) {
          return bad("invalid_env", "env." + e.getKey() + " must be text of at most " + MAX_VALUE + " characters");
        }
        env.put(e.getKey(), e.getValue());
      }
    }
    var ports = new ArrayList<PortBinding>();
    if (r.ports() != null) {
      if (r.ports().size() > MAX_PORTS) {
        return bad("invalid_ports", "at most " + MAX_PORTS + " ports");
      }
      for (String p : r.ports()) {
        Matcher m = p == null ? null : PORT.matcher(p.trim());
        if (m == null || !m.matches()) {
          return bad("invalid_ports", "ports are \"HOST:CONTAINER\" or \"IP:HOST:CONTAINER\", optionally with /tcp or "
              + "/udp, e.g. \"8080:80\"; got \"" + printable(p) + "\"");
        }
        int host = Integer.parseInt(m.group(2));
        int container = Integer.parseInt(m.group(3));
        if (host < 1 || host > 65535 || container < 1 || container > 65535) {
          return bad("invalid_ports", "ports must be 1-65535: \"" + p + "\"");
        }
        String ip = m.group(1) == null ? defaultHostIp : m.group(1);
        if (!policy.mayBind(ip)) {
          return bad("invalid_ports", "host address " + ip + " (\"" + printable(p) + "\") would publish the service "
              + "beyond this machine while Heyken itself binds " + policy.bindHost() + " (HEYKEN_BIND_HOST): bind "
              + "127.0.0.1" + (m.group(1) == null ? " (HEYKEN_SERVICES_HOST_IP)" : "") + ", or set HEYKEN_BIND_HOST "
              + "to that address");
        }
        String protocol = m.group(4) == null ? "tcp" : m.group(4);
        var binding = new PortBinding(ip, host, container, protocol);
        for (var other : ports) {
          if (other.hostPort() == host && other.protocol().equals(protocol)) {
            return bad("invalid_ports", "host port " + host + "/" + protocol + " is given twice");
          }
        }
        ports.add(binding);
      }
    }
    var command = new ArrayList<String>();
    if (r.command() != null) {
      if (r.command().size() > MAX_ARGS) {
        return bad("invalid_command", "command has at most " + MAX_ARGS + " arguments");
      }
      for (String arg : r.command()) {
        if (arg == null || arg.length() > MAX_VALUE || arg.indexOf('\0') >= 0) {
          return bad("invalid_command", "command must be a list of strings (the argv), e.g. [\"httpd\", \"-f\", "
              + "\"-p\", \"8080\"]");
        }
        command.add(arg);
      }
    }
    Healthcheck healthcheck = null;
    if (r.healthcheck() != null) {
      var h = r.healthcheck();
      if (h.test() == null || h.test().isEmpty() || h.test().stream().anyMatch(t -> t == null || t.isEmpty())
          || h.test().size() > MAX_ARGS) {
        return bad("invalid_healthcheck", "healthcheck.test is required: [\"CMD\", \"wget\", \"-q\", \"-O-\", "
            + "\"http://127.0.0.1:8080/\"] or [\"CMD-SHELL\", \"...\"]");
      }
      var test = new ArrayList<>(h.test());
      if (!List.of("CMD", "CMD-SHELL", "NONE").contains(test.get(0))) {
        test.add(0, "CMD");
      }
      if (test.get(0).equals("CMD-SHELL") && test.size() != 2) {
        return bad("invalid_healthcheck", "healthcheck.test [\"CMD-SHELL\", \"<one shell command>\"] has one command");
      }
      if (h.retries() != null && (h.retries() < 0 || h.retries() > 100)) {
        return bad("invalid_healthcheck", "healthcheck.retries must be 0-100");
      }
      long interval;
      long timeout;
      long start;
      try {
        interval = millis("interval", h.interval());
        timeout = millis("timeout", h.timeout());
        start = millis("start_period", h.startPeriod());
      } catch (IllegalArgumentException e) {
        return bad("invalid_healthcheck", e.getMessage());
      }
      healthcheck = new Healthcheck(test, interval, timeout, h.retries() == null ? 0 : h.retries(), start);
    }
    String restart = r.restart() == null ? RESTART_ALWAYS : r.restart().trim().toLowerCase(Locale.ROOT);
    if (!List.of(RESTART_ALWAYS, RESTART_ON_FAILURE, RESTART_NO).contains(restart)) {
      return bad("invalid_restart", "restart must be always, on-failure or no, got \"" + printable(r.restart()) + "\"");
    }
    Limits limits = null;
    if (r.limits() != null) {
      var l = r.limits();
      Long memory = null;
      if (l.memory() != null) {
        Matcher mm = MEMORY.matcher(l.memory().trim());
        if (!mm.matches()) {
          return bad("invalid_limits", "limits.memory is a size such as \"256m\" or \"1g\", got \""
              + printable(l.memory()) + "\"");
        }
        long unit = switch (mm.group(2).toLowerCase(Locale.ROOT)) {
          case "k" -> 1L << 10;
          case "m" -> 1L << 20;
          default -> 1L << 30;
        };
        memory = Long.parseLong(mm.group(1)) * unit;
        if (memory < ServicePolicy.MIN_MEMORY || memory > policy.maxMemoryBytes()) {
          return bad("invalid_limits", "limits.memory must be between 8m and " + (policy.maxMemoryBytes() >> 20)
              + "m (heyken.services.limits.max-memory)");
        }
      }
      if (l.cpus() != null && (l.cpus() < 0.01 || l.cpus() > policy.maxCpus())) {
        return bad("invalid_limits", "limits.cpus must be between 0.01 and " + policy.maxCpus()
            + " (heyken.services.limits.max-cpus)");
      }
      if (l.pids() != null && (l.pids() < 1 || l.pids() > policy.maxPids())) {
        return bad("invalid_limits", "limits.pids must be between 1 and " + policy.maxPids()
            + " (heyken.services.limits.max-pids)");
      }
      limits = new Limits(memory, l.cpus(), l.pids() == null ? null : l.pids().longValue());
      if (memory == null && l.cpus() == null && l.pids() == null) {
        limits = null;
      }
    }
    String user = null;
    if (r.user() != null) {
      user = r.user().trim();
      if (!USER.matcher(user).matches()) {
        return bad("invalid_user", "user is a user name or uid, optionally with :group or :gid (\"1000:1000\"), got \""
            + printable(r.user()) + "\"");
      }
    }
    return new Validated(new ServiceSpec(r.name(), r.image().trim(), env, ports, command, healthcheck, restart, limits,
        user), null);
  }

  /** A short digest of everything that shapes the container: a container made from another spec is replaced. */
  public String hash() {
    var b = new StringBuilder(image).append('\n').append(env).append('\n').append(ports).append('\n')
        .append(command).append('\n').append(healthcheck)
        // containers of an older version (no limits, root, Docker's capabilities) are replaced once by limited ones
        .append('\n').append(POLICY_VERSION).append(' ').append(limits).append(' ').append(user);
    try {
      byte[] digest = MessageDigest.getInstance("SHA-256").digest(b.toString().getBytes(StandardCharsets.UTF_8));
      return HexFormat.of().formatHex(digest, 0, 8);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private static long millis(String field, String text) {
    if (text == null || text.isBlank()) {
      return 0;
    }
    Matcher m = DURATION.matcher(text.trim());
    if (!m.matches()) {
      throw new IllegalArgumentException("healthcheck." + field + " is a duration such as \"5s\", \"500ms\" or "
          + "\"1m\", got \"" + printable(text) + "\"");
    }
    long n = Long.parseLong(m.group(1));
    long ms = m.group(2).equals("ms") ? n : m.group(2).equals("s") ? n * 1000 : n * 60_000;
    if (ms < 1 || ms > 3_600_000) {
      throw new IllegalArgumentException("healthcheck." + field + " must be between 1ms and 1h");
    }
    return ms;
  }

  private static Validated bad(String error, String detail) {
    return new Validated(null, Problem.badRequest(error, detail));
  }

  static String printable(String s) {
    if (s == null) {
      return "null";
    }
    String cut = s.length() > 80 ? s.substring(0, 80) + "…" : s;
    return cut.replaceAll("\\p{Cntrl}", "?");
  }
}
