package heyken.actors.feature;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import heyken.sandbox.pipeline.CiFile;
import heyken.sandbox.pipeline.CiFileException;
import heyken.sandbox.workspace.FeatureManifest;
import heyken.sandbox.workspace.PathGuard;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * One answer of the language model in the author loop: a summary, whole files and the command that runs the tests
 * (ollama.md §3). {@link #parse} reads the answer; {@link #problems} is the guard every answer passes before anything
 * of it is written: paths relative, without {@code ..}, only under the allowed directories, sizes bounded, a valid
 * {@code heyken.yml} answering to the feature's own command, a valid {@code .gitlab-ci.yml}, and a test command from
 * the allowlist. Nothing the model writes ever runs outside the sandbox: the files go into this feature's repository
 * only, and the pipeline runs them in the sandbox.
 */
public record AuthorPlan(String summary, String testCommand, Map<String, String> files) {

  static final String CI_FILE = PipelineRun.CI_FILE;
  /** The test commands the loop accepts: python3 running a test file or unittest/pytest, or sh running a script. */
  static final Pattern TEST_COMMAND = Pattern.compile(
      "python3 (?:-m (?:unittest|pytest)(?: -v)?(?: [A-Za-z0-9_][A-Za-z0-9_./-]*)*|[A-Za-z0-9_][A-Za-z0-9_./-]*\\.py)"
          + "|sh [A-Za-z0-9_][A-Za-z0-9_./-]*\\.sh");
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final int MAX_SUMMARY = 2000;

  public AuthorPlan {
    files = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(files));
  }

  /** The answer is not a plan: not JSON, or JSON without the fields of the schema. */
  public static final class Unparseable extends RuntimeException {
    Unparseable(String message) {
      super(message);
    }
  }

  /** Reads the model's answer; throws {@link Unparseable} saying what is wrong with it. */
  public static AuthorPlan parse(String text) {
    JsonNode root;
    try {
      root = JSON.readTree(text == null ? "" : text.strip());
    } catch (java.io.IOException e) {
      String why = e instanceof com.fasterxml.jackson.core.JsonProcessingException j ? j.getOriginalMessage()
          : e.getMessage();
      throw new Unparseable("the answer is not JSON (" + why + ")");
    }
    if (root == null || !root.isObject()) {
      throw new Unparseable("the answer is not a JSON object with summary, files and testCommand");
    }
    JsonNode files = root.get("files");
    if (files == null || !files.isArray() || files.isEmpty()) {
      throw new Unparseable("the answer has no files: \"files\" must be a non-empty array of {path, content}");
    }
    var map = new LinkedHashMap<String, String>();
    var duplicates = new ArrayList<String>();
    for (JsonNode file : files) {
      JsonNode path = file.get("path");
      JsonNode content = file.get("content");
      if (path == null || !path.isTextual() || content == null || !content.isTextual()) {
        throw new Unparseable("every entry of \"files\" needs \"path\" and \"content\" as strings");
      }
      if (map.put(path.textValue(), content.textValue()) != null) {
        duplicates.add(path.textValue());
      }
    }
    if (!duplicates.isEmpty()) {
      throw new Unparseable("files are given twice: " + String.join(", ", duplicates));
    }
    JsonNode test = root.get("testCommand");
    if (test == null || !test.isTextual() || test.textValue().isBlank()) {
      throw new Unparseable("the answer has no \"testCommand\"");
    }
    JsonNode summary = root.get("summary");
    String s = summary != null && summary.isTextual() ? summary.textValue().strip() : "";
    if (s.length() > MAX_SUMMARY) {
      s = s.substring(0, MAX_SUMMARY) + "…";
    }
    return new AuthorPlan(s, test.textValue().strip(), map);
  }

  /**
   * Why this plan may not be written to the repository of a feature answering to {@code command}; empty when it may.
   * Each problem is a sentence the model can act on.
   */
  public List<String> problems(AuthorSettings settings, String command) {
    var problems = new ArrayList<String>();
    if (files.size() > settings.maxFiles()) {
      problems.add("the answer has " + files.size() + " files; at most " + settings.maxFiles() + " are allowed");
    }
    long total = 0;
    for (var entry : files.entrySet()) {
      String path = entry.getKey();
      String bad = pathProblem(path, settings.allowedDirs());
      if (bad != null) {
        problems.add("path '" + FeatureCatalog.printable(path) + "' " + bad);
        continue;
      }
      long bytes = entry.getValue().getBytes(StandardCharsets.UTF_8).length;
      total += bytes;
      if (bytes > settings.maxFileBytes()) {
        problems.add("file '" + path + "' has " + bytes + " bytes; at most " + settings.maxFileBytes()
            + " are allowed per file");
      }
    }
    if (total > settings.maxRevisionBytes()) {
      problems.add("the files have " + total + " bytes together; at most " + settings.maxRevisionBytes()
          + " are allowed per answer");
    }
    String manifest = files.get(FeatureManifest.FILE);
    if (manifest == null) {
      problems.add("heyken.yml is missing: it must give name, command: " + command + " and run");
    } else {
      try {
        var m = FeatureManifest.parse(manifest);
        if (!command.equals(m.command())) {
          problems.add("heyken.yml must say command: " + command + " (the feature's own chat command), not "
              + (m.command() == null ? "nothing" : "'" + FeatureCatalog.printable(m.command()) + "'"));
        }
        if (m.run() == null || m.run().isBlank()) {
          problems.add("heyken.yml has no run: the command that answers one request (JSON on standard input)");
        }
      } catch (FeatureManifest.InvalidManifestException e) {
        problems.add("heyken.yml is invalid: " + e.getMessage());
      }
    }
    String ci = files.get(CI_FILE);
    if (ci != null) {
      try {
        CiFile.parse(ci);
      } catch (CiFileException e) {
        problems.add(CI_FILE + " is invalid: " + e.getMessage());
      }
    }
    if (!TEST_COMMAND.matcher(testCommand).matches() || testCommand.contains("..")) {
      problems.add("testCommand '" + FeatureCatalog.printable(testCommand) + "' is not allowed: use `python3 test_main.py`, "
          + "`python3 -m unittest [module]` or `sh tests/run.sh` (no shell operators, no '..')");
    }
    return problems;
  }

  /** Why the model may not write {@code path}, or null when it may. */
  static String pathProblem(String path, List<String> allowedDirs) {
    var problem = PathGuard.problem(path);
    if (problem.isPresent()) {
      return problem.get();
    }
    int slash = path.lastIndexOf('/');
    String name = path.substring(slash + 1);
    if (name.startsWith(".") && !path.equals(CI_FILE)) {
      return "is a hidden file: only " + CI_FILE + " may start with '.'";
    }
    if (slash < 0) {
      return allowedDirs.contains("") ? null : "is at the repository root, where no code may go: use "
          + String.join("/, ", allowedDirs) + "/";
    }
    for (String dir : allowedDirs) {
      if (!dir.isEmpty() && path.startsWith(dir + "/")) {
        return null;
      }
    }
    return "is outside the allowed directories (" + String.join(", ", allowedDirs.stream()
        .map(d -> d.isEmpty() ? "the root" : d + "/").toList()) + ")";
  }

  /** The files to commit: the plan's, plus a .gitlab-ci.yml running {@link #testCommand} when the plan has none. */
  public Map<String, String> filesToCommit() {
    var out = new LinkedHashMap<>(files);
    if (!out.containsKey(CI_FILE)) {
      out.put(CI_FILE, ciFor(testCommand));
    }
    return out;
  }

  /** The pipeline the loop writes when the model gives none: one job running the (allowlisted) test command. */
  static String ciFor(String testCommand) {
    return "stages: [test]\n"
        + "tests:\n"
        + "  stage: test\n"
        + "  image: python:3.11\n"
        + "  script:\n"
        + "    - " + testCommand + "\n";
  }

  /** The plan as the model wrote it, for the next prompt (whole files). */
  String toJson() {
    var root = JSON.createObjectNode().put("summary", summary);
    var array = root.putArray("files");
    files.forEach((p, c) -> array.addObject().put("path", p).put("content", c));
    root.put("testCommand", testCommand);
    return root.toString();
  }

  /** Paths in the plan, as given. */
  List<String> paths() {
    return new ArrayList<>(files.keySet());
  }

  static boolean sameFiles(Map<String, String> a, Map<String, String> b) {
    return new HashSet<>(a.entrySet()).equals(new HashSet<>(b.entrySet()));
  }
}
