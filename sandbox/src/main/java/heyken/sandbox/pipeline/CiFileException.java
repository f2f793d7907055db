package heyken.sandbox.pipeline;

import heyken.sandbox.workspace.YamlProblem;
import java.util.List;
import java.util.stream.Collectors;

/**
 * A {@code .gitlab-ci.yml} Heyken cannot run: invalid YAML (with the parser's line, column and problem) or jobs that
 * break the rules (with their lines). Every problem found is listed, so one correction can fix them all.
 */
public final class CiFileException extends RuntimeException {

  private final transient List<YamlProblem> problems;

  public CiFileException(List<YamlProblem> problems) {
    super(problems.stream().map(YamlProblem::toString).collect(Collectors.joining("; ")));
    if (problems.isEmpty()) {
      throw new IllegalArgumentException("a CiFileException needs at least one problem");
    }
    this.problems = List.copyOf(problems);
  }

  public List<YamlProblem> problems() {
    return problems;
  }

  /** The line of the first problem (0 when it concerns the whole file). */
  public int line() {
    return problems.get(0).line();
  }

  /** The column of the first problem (0 when unknown). */
  public int column() {
    return problems.get(0).column();
  }
}
