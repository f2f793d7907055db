package heyken.sandbox.workspace;

/**
 * An error in a YAML file, where it is.
 *
 * @param line 1-based line, or 0 when the problem concerns the whole file
 * @param column 1-based column, or 0 when only the line is known
 */
public record YamlProblem(int line, int column, String message) {

  @Override
  public String toString() {
    if (line <= 0) {
      return message;
    }
    return "line " + line + (column > 0 ? ", column " + column : "") + ": " + message;
  }
}
