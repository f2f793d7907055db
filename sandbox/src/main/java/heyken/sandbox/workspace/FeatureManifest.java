package heyken.sandbox.workspace;

import heyken.sandbox.SandboxPolicy;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.Tag;

/**
 * A feature's {@code heyken.yml}: what the feature is called, the chat command it answers to, the command run in the
 * sandbox per invocation and the limits it asks for. Optional values are null when the file does not give them. A
 * draft may lack {@code run}; {@link #deploymentProblem()} tells whether the feature can be deployed.
 *
 * @param command the chat command without {@code !} ({@code weather} for {@code !weather Paris}), or null
 * @param run a shell command line run with {@code /bin/sh -c} in the checkout, or null in a draft
 * @param image the sandbox image, or null for the installation's default
 * @param timeout the wall time of one invocation, or null for the default
 * @param warnings keys Heyken does not know (ignored), and the like: show them to whoever wrote the file
 */
public record FeatureManifest(
    String name,
    String description,
    String command,
    String run,
    String image,
    Duration timeout,
    ResourceLimits limits,
    List<String> warnings) {

  /** Where the manifest lives in a feature repository. */
  public static final String FILE = "heyken.yml";

  public static final Pattern COMMAND = Pattern.compile("[a-z][a-z0-9_-]{0,31}");
  private static final Pattern IMAGE = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._/:@-]{0,254}");
  private static final int MAX_NAME = 100;
  private static final int MAX_DESCRIPTION = 4000;
  private static final int MAX_RUN = 4096;
  private static final long MIN_MEMORY = 4L << 20;
  private static final int MAX_PIDS = 100_000;
  private static final List<String> KEYS =
      List.of("name", "description", "command", "run", "image", "timeout", "limits");
  private static final List<String> LIMIT_KEYS = List.of("memory", "cpus", "pids");

  public FeatureManifest {
    limits = limits == null ? ResourceLimits.NONE : limits;
    warnings = List.copyOf(warnings);
  }

  /**
   * Limits the feature asks for; each is null when not given (the installation's default applies).
   *
   * @param memoryBytes memory in bytes, at least 4 MiB
   * @param cpus CPUs, e.g. 0.5
   * @param pids processes and threads
   */
  public record ResourceLimits(Long memoryBytes, Double cpus, Integer pids) {
    public static final ResourceLimits NONE = new ResourceLimits(null, null, null);
  }

  /** heyken.yml could not be read: every problem with its line, at once. */
  public static final class InvalidManifestException extends RuntimeException {
    private final transient List<YamlProblem> problems;

    public InvalidManifestException(List<YamlProblem> problems) {
      super(problems.stream().map(YamlProblem::toString).collect(Collectors.joining("; ")));
      this.problems = List.copyOf(problems);
    }

    public List<YamlProblem> problems() {
      return problems;
    }

    /** The line of the first problem (0 when it concerns the whole file). */
    public int line() {
      return problems.isEmpty() ? 0 : problems.get(0).line();
    }
  }

  // ------------------------------------------------------------------------------------------------ parsing

  /** Reads heyken.yml; throws {@link InvalidManifestException} listing every error with its line. */
  public static FeatureManifest parse(String yaml) {
    var reader = new YamlReader();
    Optional<Node> root = reader.compose(yaml == null ? "" : yaml);
    if (reader.hasErrors()) {
      throw new InvalidManifestException(reader.errors());
    }
    if (root.isEmpty() || YamlReader.isNull(root.get())) {
      throw new InvalidManifestException(List.of(new YamlProblem(0, 0,
          FILE + " is empty: it needs at least 'name:' and, to be deployed, 'run:'")));
    }
    var mapping = reader.mapping(root.get(), FILE);
    if (mapping.isEmpty()) {
      throw new InvalidManifestException(reader.errors());
    }
    String name = null;
    Node nameNode = null;
    String description = "";
    String command = null;
    String run = null;
    String image = null;
    Duration timeout = null;
    ResourceLimits limits = ResourceLimits.NONE;
    for (var e : reader.entries(mapping.get())) {
      Node v = e.value();
      switch (e.key()) {
        case "name" -> {
          nameNode = e.keyNode();
          name = reader.text(v, "'name'").map(String::strip).orElse(null);
          if (name != null && name.length() > MAX_NAME) {
            reader.error(v, "'name' has " + name.length() + " characters; at most " + MAX_NAME + " are allowed");
          }
        }
        case "description" -> {
          description = reader.text(v, "'description'").map(String::strip).orElse("");
          if (description.length() > MAX_DESCRIPTION) {
            reader.error(v, "'description' has " + description.length() + " characters; at most " + MAX_DESCRIPTION
                + " are allowed");
          }
        }
        case "command" -> command = command(reader, v);
        case "run" -> {
          run = reader.text(v, "'run'").map(String::strip).orElse(null);
          if (run != null && run.isEmpty()) {
            reader.error(v, "'run' is empty: give the command that answers one invocation, e.g. run: python3 main.py");
            run = null;
          } else if (run != null && run.length() > MAX_RUN) {
            reader.error(v, "'run' has " + run.length() + " characters; at most " + MAX_RUN
                + ": put a long command into a script file and run that");
          }
        }
        case "image" -> {
          image = reader.string(v, "'image'").map(String::strip).orElse(null);
          if (image != null && !IMAGE.matcher(image).matches()) {
            reader.error(v, "'image' is not an image name: write e.g. python:3.11 or sandbox/python:1");
            image = null;
          }
        }
        case "timeout" -> timeout = reader.text(v, "'timeout'").flatMap(t -> duration(reader, v, t)).orElse(null);
        case "limits" -> {
          if (!YamlReader.isNull(v)) {
            limits = reader.mapping(v, "'limits'").map(m -> limits(reader, m)).orElse(ResourceLimits.NONE);
          }
        }
        default -> reader.warn(e.keyNode(), "key '" + e.key() + "' is not known in " + FILE
            + " and is ignored (known keys: " + String.join(", ", KEYS) + ")");
      }
    }
    if (name == null || name.isEmpty()) {
      reader.error(nameNode == null ? root.get() : nameNode,
          "'name' is missing or empty: give the feature's name, e.g. name: Weather");
    }
    if (reader.hasErrors()) {
      throw new InvalidManifestException(reader.errors());
    }
    return new FeatureManifest(name, description, command, run, image, timeout, limits, reader.warnings());
  }

  private static String command(YamlReader reader, Node v) {
    Tag tag = v.getTag();
    if (tag != null && tag.getValue().startsWith("!") && !tag.getValue().startsWith(Tag.PREFIX)) {
      // command: !weather is a YAML tag, not a string: the natural way to write a chat command fails here
      reader.error(v, "'command' reads as the YAML tag " + tag.getValue() + ": write it without '!', e.g. command: "
          + tag.getValue().substring(1));
      return null;
    }
    String c = reader.text(v, "'command'").map(String::strip).orElse(null);
    if (c == null) {
      return null;
    }
    if (c.startsWith("!")) {
      c = c.substring(1);
    }
    if (!COMMAND.matcher(c).matches()) {
      reader.error(v, "'command' must be a lower-case word of at most 32 characters (a-z, 0-9, '_', '-', starting "
          + "with a letter), got '" + PathGuard.display(c) + "'");
      return null;
    }
    return c;
  }

  private static Optional<Duration> duration(YamlReader reader, Node at, String text) {
    try {
      return Optional.of(DurationText.parse(text));
    } catch (IllegalArgumentException e) {
      reader.error(at, "'timeout': " + e.getMessage());
      return Optional.empty();
    }
  }

  private static ResourceLimits limits(YamlReader reader, org.yaml.snakeyaml.nodes.MappingNode mapping) {
    Long memory = null;
    Double cpus = null;
    Integer pids = null;
    for (var e : reader.entries(mapping)) {
      Node v = e.value();
      switch (e.key()) {
        case "memory" -> memory = reader.text(v, "'limits.memory'").flatMap(t -> {
          try {
            long bytes = ByteSize.parse(t);
            if (bytes < MIN_MEMORY) {
              reader.error(v, "'limits.memory' must be at least 4Mi, got " + t);
              return Optional.empty();
            }
            return Optional.of(bytes);
          } catch (IllegalArgumentException ex) {
            reader.error(v, "'limits.memory': " + ex.getMessage());
            return Optional.empty();
          }
        }).orElse(null);
        case "cpus" -> cpus = reader.text(v, "'limits.cpus'").flatMap(t -> {
          try {
            double d = Double.parseDouble(t);
            if (d > 0 && d <= 64) {
              return Optional.of(d);
            }
          } catch (NumberFormatException ex) {
            // reported below
          }
          reader.error(v, "'limits.cpus' must be a number of CPUs above 0, e.g. 0.5 or 2, got '" + t + "'");
          return Optional.empty();
        }).orElse(null);
        case "pids" -> pids = reader.integer(v, "'limits.pids'").flatMap(n -> {
          if (n >= 1 && n <= MAX_PIDS) {
            return Optional.of(n.intValue());
          }
          reader.error(v, "'limits.pids' must be between 1 and " + MAX_PIDS + ", got " + n);
          return Optional.empty();
        }).orElse(null);
        default -> reader.warn(e.keyNode(), "key 'limits." + e.key() + "' is not known in " + FILE
            + " and is ignored (known: " + String.join(", ", LIMIT_KEYS) + ")");
      }
    }
    return new ResourceLimits(memory, cpus, pids);
  }

  // ------------------------------------------------------------------------------------------------ use

  /** Why this feature cannot be deployed yet, or empty when it can. */
  public Optional<String> deploymentProblem() {
    if (run == null || run.isBlank()) {
      return Optional.of(FILE + " has no 'run': add the command that answers one invocation, e.g. run: python3 "
          + "main.py");
    }
    return Optional.empty();
  }

  /**
   * The sandbox policy of an invocation: what the feature asks for where it asks, {@code defaults} elsewhere, and
   * nothing above {@code max} (a value above it is lowered to it; {@link #policyWarnings} says so).
   */
  public SandboxPolicy policy(SandboxPolicy defaults, SandboxPolicy max) {
    return decide(defaults, max, new ArrayList<>());
  }

  /** The values of this manifest that {@link #policy} lowered to the installation's maximum, as sentences. */
  public List<String> policyWarnings(SandboxPolicy defaults, SandboxPolicy max) {
    var warnings = new ArrayList<String>();
    decide(defaults, max, warnings);
    return warnings;
  }

  private SandboxPolicy decide(SandboxPolicy defaults, SandboxPolicy max, List<String> warnings) {
    long memory = limits.memoryBytes() != null ? limits.memoryBytes() : defaults.memoryBytes();
    if (memory > max.memoryBytes()) {
      clamped(warnings, "limits.memory", ByteSize.format(memory), ByteSize.format(max.memoryBytes()),
          limits.memoryBytes() != null);
      memory = max.memoryBytes();
    }
    double cpus = limits.cpus() != null ? limits.cpus() : defaults.cpus();
    if (cpus > max.cpus()) {
      clamped(warnings, "limits.cpus", number(cpus), number(max.cpus()), limits.cpus() != null);
      cpus = max.cpus();
    }
    int pids = limits.pids() != null ? limits.pids() : defaults.pids();
    if (pids > max.pids()) {
      clamped(warnings, "limits.pids", String.valueOf(pids), String.valueOf(max.pids()), limits.pids() != null);
      pids = max.pids();
    }
    Duration wall = timeout != null ? timeout : defaults.wallTime();
    if (wall.compareTo(max.wallTime()) > 0) {
      clamped(warnings, "timeout", DurationText.format(wall), DurationText.format(max.wallTime()), timeout != null);
      wall = max.wallTime();
    }
    return new SandboxPolicy(memory, cpus, pids, wall, Math.min(defaults.outputCapBytes(), max.outputCapBytes()),
        Math.min(defaults.tmpBytes(), max.tmpBytes()), Math.min(defaults.diskBytes(), max.diskBytes()));
  }

  private static void clamped(List<String> warnings, String key, String asked, String allowed, boolean fromManifest) {
    // a default above the maximum is the administrator's configuration, not something the feature's author can fix
    if (fromManifest) {
      warnings.add(FILE + " " + key + " " + asked + " is above this installation's maximum of " + allowed + "; "
          + allowed + " is used");
    }
  }

  private static String number(double d) {
    return d == Math.rint(d) ? String.valueOf((long) d) : String.valueOf(d);
  }

  // ------------------------------------------------------------------------------------------------ skeleton

  /** A commented heyken.yml for a new draft: name and description set, everything else explained and commented out. */
  public static String skeleton(String name, String description) {
    String suggested = suggestedCommand(name);
    return """
        # heyken.yml: how Heyken runs this feature. The pipeline that tests it is .gitlab-ci.yml.
        name: %s
        description: %s
        # The chat command the feature answers to: with "command: %s", "!%s ..." in the chat runs it.
        # command: %s
        # The command run in the sandbox for each invocation, in a checkout of this repository.
        # Required before the feature can be deployed.
        # run: python3 main.py
        # The sandbox image; the installation's default image when absent.
        # image: python:3.11
        # Wall time of one invocation (30s, 2m, or seconds as a number).
        # timeout: 20s
        # What one invocation may use; values above the installation's maximum are lowered to it.
        # limits:
        #   memory: 128Mi
        #   cpus: 0.5
        #   pids: 64
        """.formatted(quoted(name), quoted(description == null ? "" : description), suggested, suggested, suggested);
  }

  private static String suggestedCommand(String name) {
    String slug = name == null ? "" : name.toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9_-]+", "-")
        .replaceAll("^[^a-z]+", "").replaceAll("-+$", "");
    if (slug.length() > 32) {
      slug = slug.substring(0, 32).replaceAll("-+$", "");
    }
    return COMMAND.matcher(slug).matches() ? slug : "mycommand";
  }

  /** A YAML double-quoted scalar: whatever the name holds (quotes, colons, newlines) reads back unchanged. */
  static String quoted(String s) {
    var out = new StringBuilder("\"");
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '"' -> out.append("\\\"");
        case '\\' -> out.append("\\\\");
        case '\n' -> out.append("\\n");
        case '\t' -> out.append("\\t");
        case '\r' -> out.append("\\r");
        default -> {
          // C0/C1 controls, NEL and the Unicode line separators would break or end the line in YAML
          if (Character.isISOControl(c) || c == '\u2028' || c == '\u2029' || c == '\uFEFF') {
            out.append(String.format("\\u%04X", (int) c));
          } else {
            out.append(c);
          }
        }
      }
    }
    return out.append('"').toString();
  }
}
