package heyken.sandbox.pipeline;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The POSIX shell script a job runs, built as the GitLab runner builds it: {@code before_script} lines, then
 * {@code script} lines, each echoed with {@code $ } before it runs, and the first line that fails ends the job with
 * its exit code. Each line runs through {@code eval} of a single-quoted copy, so a line that does not parse (an
 * unterminated quote) fails as that line instead of swallowing the lines after it; {@code cd} and variables carry
 * over from line to line, as on GitLab.
 */
public final class JobScript {

  /** The file the script is written to, in the job's work directory. */
  public static final String FILE = ".heyken-job.sh";

  /** The most characters one variable may hold once expanded (Linux refuses a single one above 128 KiB). */
  public static final int MAX_VALUE_CHARS = 64 * 1024;
  /** The most characters a job's whole environment may hold, names and expanded values together. */
  public static final int MAX_ENVIRONMENT_CHARS = 1024 * 1024;

  private JobScript() {}

  /** A variable whose expanded value, or the job environment it completes, is larger than Heyken allows. */
  public static final class TooLargeException extends IllegalArgumentException {
    private final String variable;

    TooLargeException(String variable, String message) {
      super(message);
      this.variable = variable;
    }

    /** The name of the variable whose expansion crossed the bound. */
    public String variable() {
      return variable;
    }
  }

  /** The script of {@code job}. */
  public static String render(CiJob job) {
    var out = new StringBuilder();
    out.append("# Written by Heyken for job '").append(oneLine(job.name())).append("' of ").append(CiFile.FILE)
        .append(".\n");
    out.append("# Every line is echoed, then run; the first one that fails ends the job with its exit code.\n");
    // -e also stops inside a multi-line entry, as GitLab's shells do
    out.append("set -e\n");
    out.append("if (set -o pipefail) 2>/dev/null; then set -o pipefail; fi\n");
    out.append("heyken_step=''\n");
    out.append("trap 'heyken_status=$?; if [ \"$heyken_status\" -ne 0 ] && [ -n \"$heyken_step\" ]; then "
        + "printf \"%s\\n\" \"Heyken: the job failed with exit code $heyken_status at $heyken_step\" >&2; fi' EXIT\n");
    lines(out, "before_script", job.beforeScript());
    lines(out, "script", job.script());
    out.append("heyken_step=''\n");
    return out.toString();
  }

  private static void lines(StringBuilder out, String section, List<String> lines) {
    for (int i = 0; i < lines.size(); i++) {
      String line = lines.get(i);
      out.append("heyken_step=").append(quote(section + " line " + (i + 1))).append('\n');
      out.append("printf '%s\\n' ").append(quote("$ " + echoed(line))).append('\n');
      out.append("eval ").append(quote(line)).append('\n');
      // set -e does not stop on some failing lines ("false && x", "! cmd"): the runner checks every exit code
      out.append("heyken_status=$?; if [ \"$heyken_status\" -ne 0 ]; then exit \"$heyken_status\"; fi\n");
    }
  }

  /** How GitLab shows a multi-line entry: its first line, marked as collapsed. */
  private static String echoed(String line) {
    int nl = line.indexOf('\n');
    String first = nl < 0 ? line : line.substring(0, nl);
    boolean more = nl >= 0 && !line.substring(nl + 1).isBlank();
    return more ? first + " # collapsed multi-line command" : first;
  }

  /** A single-quoted shell word: nothing in it is interpreted. */
  static String quote(String s) {
    return "'" + s.replace("'", "'\\''") + "'";
  }

  private static String oneLine(String s) {
    return s.replaceAll("[\\p{Cntrl}]", " ");
  }

  /**
   * The variables of a job with their {@code $NAME} and {@code ${NAME}} references expanded, as the GitLab runner
   * does: against {@code predefined} and the variables before them; an unknown name becomes empty, {@code $$} a
   * single {@code $}.
   *
   * @throws TooLargeException when a value would expand beyond {@link #MAX_VALUE_CHARS} or the environment beyond
   *     {@link #MAX_ENVIRONMENT_CHARS}; the expansion stops at the bound, so a small file cannot build a huge string
   */
  public static Map<String, String> expand(Map<String, String> predefined, Map<String, String> variables) {
    var env = new LinkedHashMap<>(predefined);
    long size = 0;
    for (var e : env.entrySet()) {
      size += entrySize(e.getKey(), e.getValue());
    }
    for (var v : variables.entrySet()) {
      String name = v.getKey();
      String replaced = env.get(name);
      long others = size - (replaced == null ? 0 : entrySize(name, replaced));
      long room = MAX_ENVIRONMENT_CHARS - others - entrySize(name, "");
      int limit = (int) Math.max(0, Math.min(MAX_VALUE_CHARS, room));
      String value = expandOne(v.getValue(), env, limit);
      if (value == null) {
        throw room < MAX_VALUE_CHARS
            ? new TooLargeException(name, "variable '" + name + "' makes the job's environment larger than "
                + MAX_ENVIRONMENT_CHARS + " characters (names and values, expanded), the most a job may have")
            : new TooLargeException(name, "variable '" + name + "' expands to more than " + MAX_VALUE_CHARS
                + " characters, the most one variable may hold");
      }
      env.put(name, value);
      size = others + entrySize(name, value);
    }
    return env;
  }

  /** What a variable takes of the environment: {@code NAME=value} and its terminator, as execve counts it. */
  private static long entrySize(String name, String value) {
    return name.length() + value.length() + 2L;
  }

  /** {@code value} expanded, or null as soon as the result would exceed {@code limit} characters. */
  static String expandOne(String value, Map<String, String> known, int limit) {
    var out = new StringBuilder();
    int i = 0;
    while (i < value.length()) {
      char c = value.charAt(i);
      String piece;
      if (c != '$' || i + 1 >= value.length()) {
        piece = null;
        i++;
      } else {
        char next = value.charAt(i + 1);
        if (next == '$') {
          piece = "$";
          i += 2;
        } else if (next == '{') {
          int end = value.indexOf('}', i + 2);
          String name = end < 0 ? "" : value.substring(i + 2, end);
          if (end < 0 || !isName(name)) {
            piece = null;
            i++;
          } else {
            piece = known.getOrDefault(name, "");
            i = end + 1;
          }
        } else if (nameChar(next, true)) {
          int end = i + 1;
          while (end < value.length() && nameChar(value.charAt(end), false)) {
            end++;
          }
          piece = known.getOrDefault(value.substring(i + 1, end), "");
          i = end;
        } else {
          piece = null;
          i++;
        }
      }
      // checked before appending, so that the result never grows past the bound
      if (out.length() + (piece == null ? 1 : piece.length()) > limit) {
        return null;
      }
      if (piece == null) {
        out.append(c);
      } else {
        out.append(piece);
      }
    }
    return out.toString();
  }

  private static boolean nameChar(char c, boolean first) {
    return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c == '_' || !first && c >= '0' && c <= '9';
  }

  private static boolean isName(String s) {
    return s.matches("[A-Za-z_][A-Za-z0-9_]*");
  }
}
