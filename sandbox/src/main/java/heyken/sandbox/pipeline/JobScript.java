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

  private JobScript() {}

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
   */
  public static Map<String, String> expand(Map<String, String> predefined, Map<String, String> variables) {
    var env = new LinkedHashMap<>(predefined);
    variables.forEach((name, value) -> env.put(name, expandOne(value, env)));
    return env;
  }

  static String expandOne(String value, Map<String, String> known) {
    var out = new StringBuilder();
    int i = 0;
    while (i < value.length()) {
      char c = value.charAt(i);
      if (c != '$' || i + 1 >= value.length()) {
        out.append(c);
        i++;
        continue;
      }
      char next = value.charAt(i + 1);
      if (next == '$') {
        out.append('$');
        i += 2;
      } else if (next == '{') {
        int end = value.indexOf('}', i + 2);
        String name = end < 0 ? "" : value.substring(i + 2, end);
        if (end < 0 || !isName(name)) {
          out.append(c);
          i++;
        } else {
          out.append(known.getOrDefault(name, ""));
          i = end + 1;
        }
      } else if (nameChar(next, true)) {
        int end = i + 1;
        while (end < value.length() && nameChar(value.charAt(end), false)) {
          end++;
        }
        out.append(known.getOrDefault(value.substring(i + 1, end), ""));
        i = end;
      } else {
        out.append(c);
        i++;
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
