package heyken.sandbox.workspace;

import java.io.StringReader;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.error.Mark;
import org.yaml.snakeyaml.error.MarkedYAMLException;
import org.yaml.snakeyaml.error.YAMLException;
import org.yaml.snakeyaml.nodes.MappingNode;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.NodeTuple;
import org.yaml.snakeyaml.nodes.ScalarNode;
import org.yaml.snakeyaml.nodes.SequenceNode;
import org.yaml.snakeyaml.nodes.Tag;

/**
 * Reads a YAML file as SnakeYAML's node tree instead of Java objects, so that every value keeps the line it came from:
 * heyken.yml and .gitlab-ci.yml are written by people and LLMs, and an error without a line is hard to fix. Errors
 * and warnings are collected (not thrown) so that one answer lists them all; the caller turns {@link #errors()} into
 * its own exception.
 *
 * <p>Merge keys ({@code <<: *defaults}) are resolved as YAML 1.1 defines them (GitLab files use them a lot): explicit
 * keys win over merged ones, earlier merged mappings over later ones.
 */
public final class YamlReader {

  /** GitLab nests script arrays at most this deep; the same bound stops a recursive alias. */
  public static final int MAX_NESTING = 10;
  /**
   * The most strings one list may flatten to: 45 aliases (below SnakeYAML's alias limit) nested 9 deep can name
   * millions of lines, so the flattening itself stops at a bound.
   */
  public static final int MAX_LIST_ITEMS = 10_000;

  private static final int MAX_MERGE_DEPTH = 20;
  private static final String STANDARD_TAG_PREFIX = Tag.PREFIX;

  private final List<YamlProblem> errors = new ArrayList<>();
  private final List<String> warnings = new ArrayList<>();

  /** A key of a mapping with its value; {@code keyNode} gives the key's line. */
  public record Entry(String key, Node keyNode, Node value) {
    public int line() {
      return YamlReader.line(keyNode);
    }
  }

  /**
   * Composes {@code text} into a node tree. A syntax error is recorded with its line and column (and the result is
   * empty); an empty document gives an empty result without an error.
   */
  public Optional<Node> compose(String text) {
    var options = new LoaderOptions();
    // anchors and aliases are legitimate in CI files, a billion of them are not
    options.setMaxAliasesForCollections(50);
    options.setAllowRecursiveKeys(false);
    options.setNestingDepthLimit(50);
    options.setCodePointLimit(3 * 1024 * 1024);
    try {
      return Optional.ofNullable(new Yaml(options).compose(new StringReader(text)));
    } catch (MarkedYAMLException e) {
      Mark mark = e.getProblemMark() != null ? e.getProblemMark() : e.getContextMark();
      String problem = e.getProblem() == null ? "invalid YAML" : e.getProblem();
      if (e.getContext() != null && !e.getContext().isBlank()) {
        problem = problem + " (" + e.getContext() + ")";
      }
      errors.add(mark == null ? new YamlProblem(0, 0, "invalid YAML: " + problem)
          : new YamlProblem(mark.getLine() + 1, mark.getColumn() + 1, "invalid YAML: " + problem));
      return Optional.empty();
    } catch (YAMLException e) {
      errors.add(new YamlProblem(0, 0, "invalid YAML: " + e.getMessage()));
      return Optional.empty();
    }
  }

  public static int line(Node node) {
    return node == null || node.getStartMark() == null ? 0 : node.getStartMark().getLine() + 1;
  }

  public void error(Node at, String message) {
    errors.add(new YamlProblem(line(at), 0, message));
  }

  public void warn(Node at, String message) {
    int line = line(at);
    warnings.add(line > 0 ? "line " + line + ": " + message : message);
  }

  public boolean hasErrors() {
    return !errors.isEmpty();
  }

  public List<YamlProblem> errors() {
    return List.copyOf(errors);
  }

  public List<String> warnings() {
    return List.copyOf(warnings);
  }

  /** Whether the node is YAML's null: an absent value ({@code key:}), {@code null} or {@code ~}. */
  public static boolean isNull(Node node) {
    return node == null || node instanceof ScalarNode && Tag.NULL.equals(node.getTag());
  }

  /** The node as a mapping; records an error naming {@code what} when it is something else. */
  public Optional<MappingNode> mapping(Node node, String what) {
    if (!standardTag(node, what)) {
      return Optional.empty();
    }
    if (node instanceof MappingNode m) {
      return Optional.of(m);
    }
    error(node, what + " must be a mapping (key: value lines), got " + describe(node));
    return Optional.empty();
  }

  /**
   * The entries of a mapping, merge keys resolved. A key given twice is warned about and the later value wins, as in
   * GitLab (Ruby) and most YAML readers; a key that is not a plain scalar is an error.
   */
  public List<Entry> entries(MappingNode mapping) {
    var explicit = new LinkedHashMap<String, Entry>();
    var merged = new LinkedHashMap<String, Entry>();
    collect(mapping, explicit, merged, 0);
    var result = new ArrayList<Entry>();
    merged.forEach((key, entry) -> {
      if (!explicit.containsKey(key)) {
        result.add(entry);
      }
    });
    result.addAll(explicit.values());
    return result;
  }

  private void collect(MappingNode mapping, Map<String, Entry> explicit, Map<String, Entry> merged, int depth) {
    if (depth > MAX_MERGE_DEPTH) {
      error(mapping, "merge keys (<<) nest more than " + MAX_MERGE_DEPTH + " levels deep (a recursive anchor?)");
      return;
    }
    for (NodeTuple tuple : mapping.getValue()) {
      Node key = tuple.getKeyNode();
      Node value = tuple.getValueNode();
      if (Tag.MERGE.equals(key.getTag())) {
        for (MappingNode source : mergeSources(value)) {
          var inner = new LinkedHashMap<String, Entry>();
          var innerMerged = new LinkedHashMap<String, Entry>();
          collect(source, inner, innerMerged, depth + 1);
          // within the source, its own keys win over what it merged in turn
          inner.forEach(merged::putIfAbsent);
          innerMerged.forEach(merged::putIfAbsent);
        }
        continue;
      }
      if (!(key instanceof ScalarNode scalar) || !standardTag(key, "a key")) {
        error(key, "keys must be plain names, got " + describe(key));
        continue;
      }
      String name = scalar.getValue();
      Entry previous = explicit.put(name, new Entry(name, key, value));
      if (previous != null) {
        warn(key, "key '" + name + "' is also given on line " + previous.line() + "; the later one wins");
      }
    }
  }

  private List<MappingNode> mergeSources(Node value) {
    if (value instanceof MappingNode m) {
      return List.of(m);
    }
    if (value instanceof SequenceNode seq) {
      var sources = new ArrayList<MappingNode>();
      for (Node item : seq.getValue()) {
        if (item instanceof MappingNode m) {
          sources.add(m);
        } else {
          error(item, "a merge key (<<) takes mappings (*anchors of mappings), got " + describe(item));
        }
      }
      return sources;
    }
    error(value, "a merge key (<<) takes a mapping or a list of mappings, got " + describe(value));
    return List.of();
  }

  /**
   * A scalar as text: strings, and numbers or booleans as written ({@code 3.10} stays {@code 3.10}). Empty for a
   * null; an error for a list or mapping.
   */
  public Optional<String> text(Node node, String what) {
    if (isNull(node) || !standardTag(node, what)) {
      return Optional.empty();
    }
    if (node instanceof ScalarNode s) {
      return Optional.of(s.getValue());
    }
    error(node, what + " must be a single value, got " + describe(node));
    return Optional.empty();
  }

  /** Like {@link #text} but only YAML strings: {@code yes}, {@code 42} or {@code 1.5} unquoted are an error. */
  public Optional<String> string(Node node, String what) {
    if (isNull(node) || !standardTag(node, what)) {
      return Optional.empty();
    }
    if (node instanceof ScalarNode s && Tag.STR.equals(s.getTag())) {
      return Optional.of(s.getValue());
    }
    if (node instanceof ScalarNode s) {
      error(node, what + " must be a string, got " + describe(node) + ": quote it (\"" + s.getValue() + "\")");
    } else {
      error(node, what + " must be a string, got " + describe(node));
    }
    return Optional.empty();
  }

  /** A YAML boolean ({@code true}/{@code false}; YAML 1.1 also reads yes/no/on/off, as GitLab does). */
  public Optional<Boolean> bool(Node node, String what) {
    if (isNull(node) || !standardTag(node, what)) {
      return Optional.empty();
    }
    if (node instanceof ScalarNode s && Tag.BOOL.equals(s.getTag())) {
      String v = s.getValue().toLowerCase(java.util.Locale.ROOT);
      return Optional.of(v.equals("true") || v.equals("yes") || v.equals("on") || v.equals("y"));
    }
    error(node, what + " must be true or false, got " + describe(node));
    return Optional.empty();
  }

  /** A YAML integer; an error for anything else. */
  public Optional<Long> integer(Node node, String what) {
    if (isNull(node) || !standardTag(node, what)) {
      return Optional.empty();
    }
    if (node instanceof ScalarNode s && Tag.INT.equals(s.getTag())) {
      try {
        return Optional.of(Long.decode(s.getValue().replace("_", "")));
      } catch (NumberFormatException e) {
        // 0o17, 0b101 or a number beyond long: too exotic to matter, said plainly
      }
    }
    error(node, what + " must be a whole number, got " + describe(node));
    return Optional.empty();
  }

  /**
   * A string or a list of strings, nested lists flattened (GitLab allows nesting, e.g. from anchors). Null gives an
   * empty list; numbers and booleans are errors, as in GitLab, with the hint to quote them.
   */
  public Optional<List<String>> strings(Node node, String what) {
    return strings(node, what, MAX_LIST_ITEMS, "items");
  }

  /**
   * Like {@link #strings(Node, String)}, with at most {@code max} strings once flattened; above, an error says
   * {@code what has more than max unit}, found without flattening the rest.
   */
  public Optional<List<String>> strings(Node node, String what, int max, String unit) {
    if (isNull(node)) {
      return Optional.of(List.of());
    }
    var out = new ArrayList<String>();
    int before = errors.size();
    if (!flatten(node, what, out, 0, new int[] {max}) && errors.size() == before) {
      error(node, what + " has more than " + max + " " + unit);
    }
    return errors.size() == before ? Optional.of(out) : Optional.empty();
  }

  /**
   * Flattens {@code node} into {@code out}; false to stop: {@code room} (every item counts, refused ones too) is used
   * up, or the lists nest too deep (a recursive alias, which would otherwise be walked once per path).
   */
  private boolean flatten(Node node, String what, List<String> out, int depth, int[] room) {
    if (node instanceof SequenceNode seq) {
      if (depth >= MAX_NESTING) {
        error(node, what + " nests lists more than " + MAX_NESTING + " levels deep");
        return false;
      }
      if (!standardTag(node, what)) {
        return true;
      }
      for (Node item : seq.getValue()) {
        if (!flatten(item, what, out, depth + 1, room)) {
          return false;
        }
      }
      return true;
    }
    if (room[0]-- <= 0) {
      return false;
    }
    if (!standardTag(node, what)) {
      return true;
    }
    if (node instanceof MappingNode) {
      error(node, what + " must be a string or a list of strings, got a mapping: a line with ': ' in it must be "
          + "quoted, e.g. - 'echo \"a: b\"'");
    } else {
      string(node, what).ifPresent(out::add);
    }
    return true;
  }

  /** Custom tags ({@code !reference}, {@code !foo}) mean something only to their own tool: refused with the line. */
  private boolean standardTag(Node node, String what) {
    Tag tag = node.getTag();
    if (tag == null || tag.getValue().startsWith(STANDARD_TAG_PREFIX)) {
      return true;
    }
    String hint = tag.getValue().equals("!reference")
        ? ": copy the referenced lines, or share them with a YAML anchor (&name / *name)"
        : ": remove the tag (a value starting with '!' must be quoted)";
    error(node, what + " uses the YAML tag '" + tag.getValue() + "', which Heyken does not support" + hint);
    return false;
  }

  /** The kind of a node for messages: "a list", "a mapping", "the number 42". */
  public static String describe(Node node) {
    if (node instanceof SequenceNode) {
      return "a list";
    }
    if (node instanceof MappingNode) {
      return "a mapping";
    }
    if (node instanceof ScalarNode s) {
      Tag t = s.getTag();
      String v = s.getValue().length() > 40 ? s.getValue().substring(0, 40) + "…" : s.getValue();
      if (Tag.NULL.equals(t)) {
        return "nothing (null)";
      }
      if (Tag.BOOL.equals(t)) {
        return "the boolean " + v;
      }
      if (Tag.INT.equals(t) || Tag.FLOAT.equals(t)) {
        return "the number " + v;
      }
      return "'" + v + "'";
    }
    return "something else";
  }
}
