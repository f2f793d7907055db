package heyken.sandbox.workspace;

import java.util.List;
import java.util.stream.Collectors;

/**
 * Files refused for a revision: each {@link Problem} names the path and says why and what to do. All problems found are
 * reported at once, so that one correction fixes them all.
 */
public final class InvalidFilesException extends WorkspaceException {

  /** How many problems the message lists; {@link #problems()} holds them all. */
  private static final int LISTED = 10;

  private final transient List<Problem> problems;

  public InvalidFilesException(List<Problem> problems) {
    super(message(problems));
    if (problems.isEmpty()) {
      throw new IllegalArgumentException("an InvalidFilesException needs at least one problem");
    }
    this.problems = List.copyOf(problems);
  }

  public static InvalidFilesException of(String path, String reason) {
    return new InvalidFilesException(List.of(new Problem(path, reason)));
  }

  public List<Problem> problems() {
    return problems;
  }

  /**
   * One refused file.
   *
   * @param path the path as given (may be malformed; shown through {@link PathGuard#display}), or null for a problem
   *     of the revision as a whole (too many files, too many bytes)
   */
  public record Problem(String path, String reason) {
    @Override
    public String toString() {
      return path == null ? reason : "'" + PathGuard.display(path) + "': " + reason;
    }
  }

  private static String message(List<Problem> problems) {
    String listed = problems.stream().limit(LISTED).map(Problem::toString).collect(Collectors.joining("; "));
    int more = problems.size() - LISTED;
    return (problems.size() == 1 ? "" : problems.size() + " problems: ") + listed
        + (more > 0 ? "; and " + more + " more" : "");
  }
}
