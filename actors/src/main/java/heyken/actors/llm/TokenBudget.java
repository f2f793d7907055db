package heyken.actors.llm;

import heyken.actors.llm.LanguageModel.Message;
import heyken.actors.llm.LanguageModel.Role;
import java.util.ArrayList;
import java.util.List;

/**
 * Fits a conversation into a context window before it is sent. Ollama silently drops the oldest messages of a
 * prompt that is too long (ollama.md §1, "Context"), which for a coding loop loses the task; trimming here keeps
 * the choice ours: every system message stays, then the newest messages that fit, as one unbroken tail.
 *
 * <p>Tokens are estimated as characters / 4 (rounded up) plus {@value #MESSAGE_OVERHEAD} per message for the
 * chat template's role header and end-of-turn markers: a heuristic, good enough to stay clear of the limit;
 * {@code prompt_eval_count} of a reply gives the real number.
 */
public final class TokenBudget {

  public static final int CHARS_PER_TOKEN = 4;
  public static final int MESSAGE_OVERHEAD = 4;

  private TokenBudget() {
  }

  /** The result of {@link #fit}: the messages to send (original order), how many were dropped, their estimate. */
  public record Fit(List<Message> messages, int dropped, int estimatedTokens) {
    public Fit {
      messages = List.copyOf(messages);
    }
  }

  public static int estimate(String text) {
    return (text.length() + CHARS_PER_TOKEN - 1) / CHARS_PER_TOKEN;
  }

  public static int estimate(Message message) {
    return estimate(message.content()) + MESSAGE_OVERHEAD;
  }

  public static int estimate(List<Message> messages) {
    return messages.stream().mapToInt(TokenBudget::estimate).sum();
  }

  /**
   * Keeps all system messages and the longest run of newest other messages whose estimate fits {@code budget}
   * together with them. The newest message is always kept, even when it alone is over budget (then
   * {@code estimatedTokens > budget} tells the caller).
   */
  public static Fit fit(List<Message> history, int budget) {
    if (history.isEmpty()) {
      return new Fit(List.of(), 0, 0);
    }
    int used = 0;
    for (Message message : history) {
      if (message.role() == Role.SYSTEM) {
        used += estimate(message);
      }
    }
    int last = history.size() - 1;
    boolean[] keep = new boolean[history.size()];
    for (int i = last; i >= 0; i--) {
      Message message = history.get(i);
      if (message.role() == Role.SYSTEM) {
        keep[i] = true;
        continue;
      }
      int cost = estimate(message);
      if (i != last && used + cost > budget) {
        break; // an unbroken tail: an older message never comes back after a newer one was dropped
      }
      keep[i] = true;
      used += cost;
    }
    // system messages older than the cut are kept by the loop above only if reached: mark them all
    for (int i = 0; i <= last; i++) {
      if (history.get(i).role() == Role.SYSTEM) {
        keep[i] = true;
      }
    }
    var kept = new ArrayList<Message>();
    for (int i = 0; i <= last; i++) {
      if (keep[i]) {
        kept.add(history.get(i));
      }
    }
    return new Fit(kept, history.size() - kept.size(), used);
  }
}
