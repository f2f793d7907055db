package heyken.sandbox.pipeline;

import heyken.sandbox.workspace.DurationText;
import heyken.sandbox.workspace.YamlProblem;
import heyken.sandbox.workspace.YamlReader;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;
import org.yaml.snakeyaml.nodes.MappingNode;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.ScalarNode;
import org.yaml.snakeyaml.nodes.SequenceNode;
import org.yaml.snakeyaml.nodes.Tag;

/**
 * The subset of GitLab's {@code .gitlab-ci.yml} that Heyken runs itself, so that one file serves both: {@code stages},
 * {@code variables}, {@code default} ({@code image}, {@code before_script}, {@code timeout}), the deprecated top-level
 * {@code image} and {@code before_script}, and jobs with {@code stage}, {@code image}, {@code script},
 * {@code before_script}, {@code variables}, {@code timeout}, {@code allow_failure} and {@code when}. Semantics follow
 * GitLab; whatever else the file says is reported as a warning with its line, never dropped silently, and whatever
 * GitLab would refuse is an error with its line.
 *
 * @param stages the pipeline's stages in order, {@code .pre} first and {@code .post} last as on GitLab
 * @param jobs the visible jobs in file order (hidden jobs, starting with '.', are templates and do not run)
 * @param warnings what the file asks for that Heyken ignores, each starting with {@code line N:}
 */
public record CiFile(List<String> stages, List<CiJob> jobs, List<String> warnings) {

  /** Where the pipeline lives in a feature repository. */
  public static final String FILE = ".gitlab-ci.yml";
  /** GitLab's stages when the file names none. */
  public static final List<String> DEFAULT_STAGES = List.of(".pre", "build", "test", "deploy", ".post");
  public static final String DEFAULT_STAGE = "test";
  public static final int MAX_JOBS = 50;
  public static final int MAX_SCRIPT_LINE_CHARS = 10_000;
  /** Lines of one job's {@code script} (and of its {@code before_script}), nested lists and anchors flattened. */
  public static final int MAX_SCRIPT_LINES = 1_000;
  /**
   * Variables of the file's {@code variables}, and of one job's: every job copies the file's and expands them all, so
   * 100,000 short ones in a file within the size limit cost a core about a minute of CPU before this bound.
   */
  public static final int MAX_VARIABLES = 1_000;

  private static final int MAX_JOB_NAME = 255;
  private static final Pattern VARIABLE_NAME = Pattern.compile("[A-Za-z_][A-Za-z0-9_]*");

  /** Top-level keys GitLab reserves; any other top-level key is a job. */
  private static final Map<String, String> UNSUPPORTED_GLOBALS = Map.of(
      "include", "the included files' jobs do not run here; copy them into this file",
      "workflow", "every pipeline runs",
      "services", "no service containers are started",
      "cache", "every job starts from a fresh checkout",
      "after_script", "only before_script and script run",
      "types", "use 'stages' instead",
      "spec", "inputs are not supported");
  private static final Set<String> JOB_KEYS =
      Set.of("stage", "image", "script", "before_script", "variables", "timeout", "allow_failure", "when");
  private static final Map<String, String> JOB_KEY_HINTS = Map.ofEntries(
      Map.entry("extends", "the job runs with only its own keys; share keys with a YAML anchor (<<: *name) instead"),
      Map.entry("rules", "the job runs according to 'when' only"),
      Map.entry("only", "the job runs according to 'when' only"),
      Map.entry("except", "the job runs according to 'when' only"),
      Map.entry("needs", "jobs run one at a time in stage order"),
      Map.entry("dependencies", "every job starts from a fresh checkout"),
      Map.entry("artifacts", "every job starts from a fresh checkout"),
      Map.entry("cache", "every job starts from a fresh checkout"),
      Map.entry("services", "no service containers are started"),
      Map.entry("after_script", "only before_script and script run"),
      Map.entry("retry", "a failed job is not retried"),
      Map.entry("parallel", "the job runs once"),
      Map.entry("inherit", "the file's defaults and variables always apply"));
  private static final Set<String> DEFAULT_KEYS = Set.of("image", "before_script", "timeout");

  public CiFile {
    stages = List.copyOf(stages);
    jobs = List.copyOf(jobs);
    warnings = List.copyOf(warnings);
  }

  /** The jobs in the order they run: by stage, then as they appear in the file. */
  public List<CiJob> jobsInOrder() {
    return jobs.stream().sorted(Comparator.comparingInt(j -> stages.indexOf(j.stage()))).toList();
  }

  public Optional<CiJob> job(String name) {
    return jobs.stream().filter(j -> j.name().equals(name)).findFirst();
  }

  /**
   * Reads a {@code .gitlab-ci.yml}.
   *
   * @throws CiFileException for invalid YAML (line, column, the parser's problem) and for every rule broken
   */
  public static CiFile parse(String yaml) {
    return new Parser().parse(yaml == null ? "" : yaml);
  }

  /** One parse: collects errors and warnings as it goes. */
  private static final class Parser {
    private final YamlReader reader = new YamlReader();
    private List<String> stages = DEFAULT_STAGES;
    private final Map<String, String> globalVariables = new LinkedHashMap<>();
    /** Where each variable was defined, the job's own over the file's, for the line of a size error. */
    private final Map<String, Node> globalVariableKeys = new HashMap<>();
    /** Variables already reported as too large, so that a file variable is named once, not once per job. */
    private final Set<String> tooLarge = new HashSet<>();
    private String defaultImage;
    private List<String> defaultBeforeScript = List.of();
    private Duration defaultTimeout;

    CiFile parse(String yaml) {
      Optional<Node> root = reader.compose(yaml);
      if (reader.hasErrors()) {
        throw new CiFileException(reader.errors());
      }
      if (root.isEmpty() || YamlReader.isNull(root.get())) {
        throw new CiFileException(List.of(new YamlProblem(0, 0, FILE + " is empty: add a job, e.g.\n"
            + "test:\n  script:\n    - ./run-tests.sh")));
      }
      Optional<MappingNode> mapping = reader.mapping(root.get(), FILE);
      if (mapping.isEmpty()) {
        throw new CiFileException(reader.errors());
      }
      List<YamlReader.Entry> entries = reader.entries(mapping.get());
      // counted before any job is read: each job copies the file's variables and expands them
      long candidates = entries.stream().filter(e -> !isGlobal(e.key()) && !e.key().startsWith(".")).count();
      if (candidates > MAX_JOBS) {
        reader.error(root.get(), FILE + " defines " + candidates + " jobs; Heyken runs at most " + MAX_JOBS
            + ": merge jobs or hide the ones it need not run (a name starting with '.')");
        throw new CiFileException(reader.errors());
      }
      globals(entries);
      var jobs = new ArrayList<CiJob>();
      for (var e : entries) {
        if (isGlobal(e.key()) || e.key().startsWith(".")) {
          // hidden keys are templates for anchors: GitLab does not run them, and neither do we
          continue;
        }
        job(e).ifPresent(jobs::add);
      }
      if (jobs.isEmpty() && !reader.hasErrors()) {
        reader.error(root.get(), FILE + " defines no job: add one, a top-level key with a script, e.g. "
            + "test: {script: [./run-tests.sh]}");
      }
      if (reader.hasErrors()) {
        throw new CiFileException(reader.errors());
      }
      return new CiFile(stages, jobs, reader.warnings());
    }

    private static boolean isGlobal(String key) {
      return key.equals("stages") || key.equals("variables") || key.equals("image") || key.equals("before_script")
          || key.equals("default") || UNSUPPORTED_GLOBALS.containsKey(key);
    }

    private void globals(List<YamlReader.Entry> entries) {
      String topImage = null;
      Node topImageNode = null;
      List<String> topBeforeScript = null;
      for (var e : entries) {
        switch (e.key()) {
          case "stages" -> stages(e.value());
          case "variables" -> globalVariables.putAll(variables(e.value(), "variables", globalVariableKeys));
          case "image" -> {
            topImage = image(e.value(), "image").orElse(null);
            topImageNode = e.keyNode();
          }
          case "before_script" -> topBeforeScript = script(e.value(), "before_script").orElse(List.of());
          case "default" -> defaults(e.value());
          default -> {
            if (UNSUPPORTED_GLOBALS.containsKey(e.key())) {
              String hint = UNSUPPORTED_GLOBALS.get(e.key());
              reader.warn(e.keyNode(), "key '" + e.key() + "' is not supported by Heyken and is ignored"
                  + (hint.isEmpty() ? "" : " (" + hint + ")"));
            }
          }
        }
      }
      // the top-level forms are GitLab's deprecated spelling of default:
      if (topImage != null) {
        if (defaultImage != null) {
          reader.warn(topImageNode, "both 'image' and 'default: image' are given; 'default: image' is used");
        } else {
          defaultImage = topImage;
        }
      }
      if (topBeforeScript != null && defaultBeforeScript.isEmpty()) {
        defaultBeforeScript = topBeforeScript;
      }
    }

    private void stages(Node node) {
      Optional<List<String>> listed = reader.strings(node, "'stages'");
      if (listed.isEmpty()) {
        return;
      }
      var ordered = new LinkedHashSet<String>();
      ordered.add(".pre");
      for (String s : listed.get()) {
        String stage = s.strip();
        if (stage.isEmpty()) {
          reader.error(node, "'stages' holds an empty stage name");
        } else if (!stage.equals(".pre") && !stage.equals(".post") && !ordered.add(stage)) {
          reader.warn(node, "stage '" + stage + "' is listed twice in 'stages'; its first place counts");
        }
      }
      ordered.add(".post");
      stages = List.copyOf(ordered);
    }

    private void defaults(Node node) {
      if (YamlReader.isNull(node)) {
        return;
      }
      Optional<MappingNode> mapping = reader.mapping(node, "'default'");
      if (mapping.isEmpty()) {
        return;
      }
      for (var e : reader.entries(mapping.get())) {
        switch (e.key()) {
          case "image" -> defaultImage = image(e.value(), "default: image").orElse(null);
          case "before_script" -> defaultBeforeScript =
              script(e.value(), "default: before_script").orElse(List.of());
          case "timeout" -> defaultTimeout = timeout(e.value(), "default: timeout").orElse(null);
          default -> reader.warn(e.keyNode(), "default: key '" + e.key() + "' is not supported by Heyken and is "
              + "ignored" + hint(e.key()) + " (supported: " + String.join(", ", new TreeSet<>(DEFAULT_KEYS)) + ")");
        }
      }
    }

    private Optional<CiJob> job(YamlReader.Entry entry) {
      String name = entry.key();
      String where = "job '" + name + "'";
      if (name.isBlank() || name.length() > MAX_JOB_NAME) {
        reader.error(entry.keyNode(), "a job name must have 1 to " + MAX_JOB_NAME + " characters");
        return Optional.empty();
      }
      if (YamlReader.isNull(entry.value())) {
        reader.error(entry.keyNode(), where + " is empty: give it a script, e.g. script: [./run-tests.sh]");
        return Optional.empty();
      }
      if (!(entry.value() instanceof MappingNode)) {
        reader.error(entry.keyNode(), "'" + name + "' is neither a job nor a keyword Heyken knows: a job is a "
            + "mapping with a script (got " + YamlReader.describe(entry.value()) + ")");
        return Optional.empty();
      }
      Optional<MappingNode> mapping = reader.mapping(entry.value(), where);
      if (mapping.isEmpty()) {
        // a custom tag on the job (e.g. !reference): already reported
        return Optional.empty();
      }
      String stage = DEFAULT_STAGE;
      Node stageNode = entry.keyNode();
      String image = defaultImage;
      List<String> beforeScript = defaultBeforeScript;
      List<String> script = null;
      var variables = new LinkedHashMap<>(globalVariables);
      var variableKeys = new HashMap<>(globalVariableKeys);
      Duration timeout = defaultTimeout;
      CiJob.AllowFailure allowFailure = CiJob.AllowFailure.NO;
      CiJob.When when = CiJob.When.ON_SUCCESS;
      boolean triggers = false;
      int errorsBefore = reader.errors().size();
      for (var e : reader.entries(mapping.get())) {
        Node v = e.value();
        String what = where + ": '" + e.key() + "'";
        switch (e.key()) {
          case "stage" -> {
            stageNode = v;
            stage = reader.string(v, what).map(String::strip).orElse(DEFAULT_STAGE);
          }
          case "image" -> image = image(v, where + ": image").orElse(image);
          case "script" -> script = script(v, where + ": script").orElse(List.of());
          case "before_script" -> beforeScript = script(v, where + ": before_script").orElse(List.of());
          case "variables" -> variables.putAll(variables(v, where + ": variables", variableKeys));
          case "timeout" -> timeout = timeout(v, what).orElse(timeout);
          case "allow_failure" -> allowFailure = allowFailure(v, where);
          case "when" -> when = when(v, where);
          default -> {
            triggers |= e.key().equals("trigger");
            reader.warn(e.keyNode(), where + ": key '" + e.key() + "' is not supported by Heyken and is ignored"
                + hint(e.key()));
          }
        }
      }
      if (script == null) {
        reader.error(entry.keyNode(), triggers
            ? where + " triggers another pipeline, which Heyken cannot run: give it a script, or hide it (."
                + name + ")"
            : where + " has no script: add 'script:' with the commands to run, e.g. script: [./run-tests.sh]");
      } else if (script.isEmpty() && reader.errors().size() == errorsBefore) {
        reader.error(entry.keyNode(), where + ": script is empty: give at least one command");
      }
      if (!stages.contains(stage)) {
        reader.error(stageNode, where + ": stage '" + stage + "' is not in stages (" + String.join(", ", stages)
            + "): add it to 'stages' or use one of them");
      }
      if (reader.errors().size() > errorsBefore) {
        return Optional.empty();
      }
      var job = new CiJob(name, stage, image, beforeScript, script, variables, timeout, allowFailure, when,
          entry.line());
      try {
        // what the job's environment will be, bounded as at run time; a commit id stands in for the real one
        PipelineExecutor.environment(job, "0".repeat(40));
      } catch (JobScript.TooLargeException e) {
        if (tooLarge.add(e.variable())) {
          reader.error(variableKeys.getOrDefault(e.variable(), entry.keyNode()), where + ": " + e.getMessage()
              + ": keep large data in a file of the repository and read it from the script");
        }
        return Optional.empty();
      }
      return Optional.of(job);
    }

    private static String hint(String key) {
      String hint = JOB_KEY_HINTS.get(key);
      return hint == null ? "" : " (" + hint + ")";
    }

    private Optional<List<String>> script(Node node, String what) {
      Optional<List<String>> lines = reader.strings(node, what, MAX_SCRIPT_LINES, "lines");
      lines.ifPresent(list -> {
        for (int i = 0; i < list.size(); i++) {
          String line = list.get(i);
          if (line.length() > MAX_SCRIPT_LINE_CHARS) {
            reader.error(node, what + " line " + (i + 1) + " has " + line.length() + " characters; at most "
                + MAX_SCRIPT_LINE_CHARS + ": put long commands into a script file in the repository");
          }
          if (line.indexOf('\0') >= 0) {
            reader.error(node, what + " line " + (i + 1) + " contains a NUL character, which no shell can run");
          }
        }
      });
      return lines;
    }

    private Optional<String> image(Node node, String what) {
      if (YamlReader.isNull(node)) {
        return Optional.empty();
      }
      if (node instanceof MappingNode m) {
        String name = null;
        boolean named = false;
        for (var e : reader.entries(m)) {
          if (e.key().equals("name")) {
            named = true;
            name = reader.string(e.value(), what + ": name").map(String::strip).orElse(null);
          } else {
            reader.warn(e.keyNode(), what + ": key '" + e.key() + "' is not supported by Heyken and is ignored");
          }
        }
        if (!named) {
          reader.error(node, what + " has no 'name': give the image, e.g. image: {name: python:3.11}");
        }
        return Optional.ofNullable(name).filter(s -> !s.isEmpty());
      }
      return reader.string(node, what).map(String::strip).filter(s -> !s.isEmpty());
    }

    private Optional<Duration> timeout(Node node, String what) {
      return reader.text(node, what).flatMap(text -> {
        try {
          return Optional.of(DurationText.parse(text));
        } catch (IllegalArgumentException e) {
          reader.error(node, what + ": " + e.getMessage());
          return Optional.empty();
        }
      });
    }

    private Map<String, String> variables(Node node, String what, Map<String, Node> keys) {
      var out = new LinkedHashMap<String, String>();
      if (YamlReader.isNull(node)) {
        return out;
      }
      Optional<MappingNode> mapping = reader.mapping(node, what);
      if (mapping.isEmpty()) {
        return out;
      }
      // counted after merge keys (<<) are resolved: anchors could otherwise multiply a short list
      List<YamlReader.Entry> entries = reader.entries(mapping.get());
      if (entries.size() > MAX_VARIABLES) {
        reader.error(node, what + " has " + entries.size() + " variables; at most " + MAX_VARIABLES
            + " are allowed: keep large data in a file of the repository and read it from the script");
        return out;
      }
      for (var e : entries) {
        String name = e.key();
        if (!VARIABLE_NAME.matcher(name).matches()) {
          reader.error(e.keyNode(), what + ": '" + name + "' is not a variable name: use letters, digits and '_', "
              + "not starting with a digit");
          continue;
        }
        variableValue(e.value(), what + ": " + name).ifPresent(value -> {
          out.put(name, value);
          keys.put(name, e.keyNode());
        });
      }
      return out;
    }

    private Optional<String> variableValue(Node node, String what) {
      if (node instanceof MappingNode m) {
        // GitLab's long form: {value: ..., description: ..., options: [...], expand: false}
        String value = null;
        boolean expand = true;
        for (var e : reader.entries(m)) {
          switch (e.key()) {
            case "value" -> value = variableValue(e.value(), what + ": value").orElse(null);
            case "expand" -> expand = reader.bool(e.value(), what + ": expand").orElse(true);
            case "description", "options" -> {
              // shown by GitLab when a person starts a pipeline by hand; nothing to run
            }
            default -> reader.warn(e.keyNode(), what + ": key '" + e.key() + "' is not supported by Heyken and is "
                + "ignored");
          }
        }
        if (value == null) {
          reader.error(node, what + " has no 'value'");
          return Optional.empty();
        }
        // a literal value: its '$' are escaped so that the expansion at run time leaves them as they are
        return Optional.of(expand ? value : value.replace("$", "$$"));
      }
      if (node instanceof ScalarNode s) {
        Tag tag = s.getTag();
        if (Tag.STR.equals(tag) || Tag.INT.equals(tag) || Tag.FLOAT.equals(tag)) {
          return reader.text(node, what);
        }
        if (Tag.NULL.equals(tag)) {
          reader.error(node, what + " has no value: write \"\" for an empty one");
          return Optional.empty();
        }
        if (Tag.BOOL.equals(tag)) {
          reader.error(node, what + " is the boolean " + s.getValue() + ", which GitLab refuses: quote it (\""
              + s.getValue() + "\")");
          return Optional.empty();
        }
        return reader.text(node, what);
      }
      reader.error(node, what + " must be a string or a number, got " + YamlReader.describe(node));
      return Optional.empty();
    }

    private CiJob.AllowFailure allowFailure(Node node, String where) {
      String what = where + ": allow_failure";
      if (node instanceof MappingNode m) {
        var codes = new TreeSet<Integer>();
        for (var e : reader.entries(m)) {
          if (!e.key().equals("exit_codes")) {
            reader.warn(e.keyNode(), what + ": key '" + e.key() + "' is not supported by Heyken and is ignored");
            continue;
          }
          Node v = e.value();
          List<Node> items = v instanceof SequenceNode seq ? seq.getValue() : List.of(v);
          for (Node item : items) {
            reader.integer(item, what + ": exit_codes").ifPresent(code -> {
              if (code < 0 || code > 255) {
                reader.error(item, what + ": exit code " + code + " is not between 0 and 255");
              } else {
                codes.add(code.intValue());
              }
            });
          }
        }
        return codes.isEmpty() ? CiJob.AllowFailure.NO : new CiJob.AllowFailure.ExitCodes(codes);
      }
      return reader.bool(node, what)
          .map(allowed -> allowed ? CiJob.AllowFailure.ANY : CiJob.AllowFailure.NO)
          .orElse(CiJob.AllowFailure.NO);
    }

    private CiJob.When when(Node node, String where) {
      String what = where + ": when";
      Optional<String> value = reader.string(node, what).map(String::strip);
      if (value.isEmpty()) {
        return CiJob.When.ON_SUCCESS;
      }
      if (value.get().equals("delayed")) {
        reader.warn(node, what + ": 'delayed' is not supported by Heyken: the job runs at once, as on_success");
        return CiJob.When.ON_SUCCESS;
      }
      return CiJob.When.of(value.get()).orElseGet(() -> {
        reader.error(node, what + " must be on_success, on_failure, always, manual or never, got '" + value.get()
            + "'");
        return CiJob.When.ON_SUCCESS;
      });
    }
  }
}
