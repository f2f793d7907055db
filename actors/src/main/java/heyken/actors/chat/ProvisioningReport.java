package heyken.actors.chat;

import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * What provisioning found and did, step by step. A second run on a provisioned server reports every step
 * {@link Outcome#UNCHANGED} and {@link #changedAnything()} false.
 *
 * @param steps every step in order
 * @param roomIds ids of the rooms Heyken uses, by name ({@code general}, {@code heyken-system}, …)
 * @param botUserId the bot's user id
 */
public record ProvisioningReport(List<Step> steps, Map<String, String> roomIds, String botUserId) {

  /** What happened to one thing. */
  public enum Outcome {
    /** It did not exist and was created. */
    CREATED,
    /** It existed and was changed (members added, a setting or permission set). */
    UPDATED,
    /** It was already as wanted. */
    UNCHANGED,
    /** Deliberately not done (e.g. no password configured for the human user). */
    SKIPPED,
    /** It cannot be fixed from here; {@code detail} says what a person must do. */
    NEEDS_ATTENTION
  }

  /**
   * One step.
   *
   * @param subject what the step is about, e.g. {@code user heyken_bot}, {@code group heyken-sandbox}
   * @param outcome what happened
   * @param detail a sentence for people: what was done or why not
   */
  public record Step(String subject, Outcome outcome, String detail) {
    public Step {
      Objects.requireNonNull(subject, "subject");
      Objects.requireNonNull(outcome, "outcome");
    }
  }

  public ProvisioningReport {
    steps = List.copyOf(steps);
    roomIds = Map.copyOf(roomIds);
  }

  /** Whether anything was created or updated. */
  public boolean changedAnything() {
    return steps.stream().anyMatch(s -> s.outcome() == Outcome.CREATED || s.outcome() == Outcome.UPDATED);
  }

  /** Whether a person has to fix something provisioning could not. */
  public boolean needsAttention() {
    return steps.stream().anyMatch(s -> s.outcome() == Outcome.NEEDS_ATTENTION);
  }

  /** A multi-line summary for logs and the console, starting with the verdict. */
  public String summary() {
    StringBuilder sb = new StringBuilder();
    if (needsAttention()) {
      sb.append("Rocket.Chat provisioning needs attention:");
    } else if (changedAnything()) {
      sb.append("Rocket.Chat provisioned:");
    } else {
      sb.append("Rocket.Chat was already provisioned; nothing changed:");
    }
    for (Step s : steps) {
      sb.append("\n  ").append(s.outcome().name().toLowerCase(java.util.Locale.ROOT).replace('_', ' '))
          .append(": ").append(s.subject());
      if (s.detail() != null && !s.detail().isEmpty()) {
        sb.append(" — ").append(s.detail());
      }
    }
    return sb.toString();
  }
}
