package heyken.actors.services;

import com.fasterxml.jackson.annotation.JsonCreator;
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
    String restart) implements CborSerializable {

  public static final int MAX_NAME = 40;
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
        + ", command=" + command + ", healthcheck=" + healthcheck + ", restart=" + restart + "]";
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

  public static Validated validate(ServiceRequest r, String defaultHostIp) {
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
    return new Validated(new ServiceSpec(r.name(), r.image().trim(), env, ports, command, healthcheck, restart), null);
  }

  /** A short digest of everything that shapes the container: a container made from another spec is replaced. */
  public String hash() {
    var b = new StringBuilder(image).append('\n').append(env).append('\n').append(ports).append('\n')
        .append(command).append('\n').append(healthcheck);
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
