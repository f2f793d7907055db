package heyken.sandbox.pipeline;

import heyken.sandbox.SandboxResult;
import java.time.Duration;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/**
 * One job of a {@code .gitlab-ci.yml} as Heyken runs it, with the file's defaults already applied ({@code default:}
 * image, before_script and timeout, top-level variables).
 *
 * @param stage the job's stage ({@code test} when the file names none)
 * @param image the image the file asks for, or null when it names none (the installation's default then)
 * @param beforeScript the lines run before {@code script} (the job's own, else the file's default)
 * @param script the job's lines, never empty
 * @param variables the file's variables, then the job's (which win), in file order; values still hold their
 *     {@code $VAR} references, expanded when the job runs
 * @param timeout the job's timeout, or null for the sandbox's
 * @param line the line of the job's name in the file
 */
public record CiJob(
    String name,
    String stage,
    String image,
    List<String> beforeScript,
    List<String> script,
    Map<String, String> variables,
    Duration timeout,
    AllowFailure allowFailure,
    When when,
    int line) {

  public CiJob {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(stage, "stage");
    beforeScript = List.copyOf(beforeScript);
    script = List.copyOf(script);
    if (script.isEmpty()) {
      throw new IllegalArgumentException("job '" + name + "' has no script");
    }
    // order matters: a variable may refer to one defined before it
    variables = Collections.unmodifiableMap(new LinkedHashMap<>(variables));
    allowFailure = allowFailure == null ? AllowFailure.NO : allowFailure;
    when = when == null ? When.ON_SUCCESS : when;
  }

  /** GitLab's {@code when}: whether the job runs, given how the earlier stages went. */
  public enum When {
    /** Only when no job of an earlier stage failed (the default). */
    ON_SUCCESS,
    /** Only when a job of an earlier stage failed. */
    ON_FAILURE,
    /** Whatever happened before. */
    ALWAYS,
    /** Started by a person on GitLab; Heyken never starts it. */
    MANUAL,
    /** Never. */
    NEVER;

    /** The value as written in the file: {@code on_success}, {@code always}... */
    public String yamlName() {
      return name().toLowerCase(Locale.ROOT);
    }

    public static Optional<When> of(String yamlName) {
      for (When w : values()) {
        if (w.yamlName().equals(yamlName)) {
          return Optional.of(w);
        }
      }
      return Optional.empty();
    }
  }

  /** GitLab's {@code allow_failure}: which failures of the job do not fail the pipeline. */
  public sealed interface AllowFailure permits AllowFailure.No, AllowFailure.Any, AllowFailure.ExitCodes {
    AllowFailure NO = new No();
    AllowFailure ANY = new Any();

    /** Whether a job that ended with {@code reason} and {@code exitCode} counts as an allowed failure. */
    boolean allows(SandboxResult.Reason reason, int exitCode);

    /** {@code allow_failure: false}: every failure fails the pipeline. */
    record No() implements AllowFailure {
      @Override
      public boolean allows(SandboxResult.Reason reason, int exitCode) {
        return false;
      }
    }

    /** {@code allow_failure: true}: no failure of the job fails the pipeline. */
    record Any() implements AllowFailure {
      @Override
      public boolean allows(SandboxResult.Reason reason, int exitCode) {
        return reason != SandboxResult.Reason.OK;
      }
    }

    /**
     * {@code allow_failure: {exit_codes: [...]}}: only these exit codes of the script are allowed; as on GitLab, a
     * timeout or a sandbox failure is not an exit code and fails the pipeline.
     */
    record ExitCodes(Set<Integer> codes) implements AllowFailure {
      public ExitCodes {
        codes = Collections.unmodifiableSet(new TreeSet<>(codes));
      }

      @Override
      public boolean allows(SandboxResult.Reason reason, int exitCode) {
        return reason == SandboxResult.Reason.EXIT && codes.contains(exitCode);
      }
    }
  }
}
