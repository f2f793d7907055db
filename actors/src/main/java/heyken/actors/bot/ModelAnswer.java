package heyken.actors.bot;

import heyken.actors.llm.LanguageModel;
import heyken.actors.llm.LanguageModelException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A chat question answered by the language model, in words for the chat: the model's availability checked first
 * (offline or a missing model is said plainly, with what to do), the answer streamed to a {@link BotActions.Progress}
 * (queue position, text so far), and a failure after part of the answer was written kept visible: the partial text
 * ends with a note saying the answer broke off and why, never silence and never a truncated answer passed as whole.
 * Blocking: run it on a blocking dispatcher.
 */
public final class ModelAnswer {

  static final String OFFLINE = "the language model is offline: start Ollama and `ollama pull %s`";
  static final String MISSING = "model %s missing: run `ollama pull %s` on the Ollama host (Heyken never pulls a "
      + "model by itself)";
  static final String BROKE_OFF = "⚠ The answer broke off: ";

  /** How long a model seen up is taken to be up: questions in that time skip the availability probe. */
  static final long TRUST_UP_NANOS = java.time.Duration.ofSeconds(5).toNanos();

  private final LanguageModel model;
  private final String modelName;
  private volatile long upUntil = System.nanoTime();

  public ModelAnswer(LanguageModel model, String modelName) {
    this.model = model;
    this.modelName = modelName;
  }

  /** The prompt: who the bot is and the system now, the room's history, and the question with its author. */
  public static List<LanguageModel.Message> prompt(String systemNow, List<LanguageModel.Message> history,
      BotActions.Speaker speaker, String question) {
    var messages = new ArrayList<LanguageModel.Message>();
    messages.add(LanguageModel.Message.system("You are heyken_bot, the assistant of Heyken, a self-hosted "
        + "autonomous programming system with two redundant cores. Answer briefly. The system now:\n"
        + systemNow + "\nCommands the user can type:\n" + BotCommand.help()));
    messages.addAll(history);
    messages.add(LanguageModel.Message.user(speaker.username() + ": " + question));
    return messages;
  }

  /** What to answer when the model is not usable (checked, never pulled), or null when it is up. */
  private String unavailable() {
    var availability = model.availability();
    if (availability.state() == LanguageModel.Availability.State.MODEL_MISSING) {
      return String.format(MISSING, modelName, modelName) + " (" + availability.reason() + "). Commands still work: "
          + "try help.";
    }
    if (!availability.up()) {
      return String.format(OFFLINE, modelName) + " (" + availability.describe() + "). Commands still work: try help.";
    }
    upUntil = System.nanoTime() + TRUST_UP_NANOS;
    return null;
  }

  /** The text to post for {@code messages}; never throws for what the model or its server did. */
  public String answer(List<LanguageModel.Message> messages, BotActions.Progress progress) {
    if (System.nanoTime() - upUntil > 0) {
      String down = unavailable();
      if (down != null) {
        return down;
      }
    }
    var soFar = new AtomicReference<>("");
    try {
      return model.stream(LanguageModel.ChatRequest.of(messages), new LanguageModel.StreamListener() {
        @Override
        public void onQueued(int position) {
          progress.queued(position);
        }

        @Override
        public void onPartial(String delta, String textSoFar) {
          soFar.set(textSoFar);
          progress.partial(textSoFar);
        }
      }).text().strip();
    } catch (LanguageModelException e) {
      if (e.kind() == LanguageModelException.Kind.UNREACHABLE || e.kind() == LanguageModelException.Kind.MODEL_MISSING
          || e.kind() == LanguageModelException.Kind.NOT_CONFIGURED) {
        upUntil = System.nanoTime();
        String down = unavailable();
        if (down != null) {
          return down;
        }
      }
      String partial = e.partialText() != null && !e.partialText().isBlank() ? e.partialText() : soFar.get();
      if (partial.isBlank()) {
        return "The language model could not answer: " + e.getMessage();
      }
      return partial.strip() + "\n\n" + BROKE_OFF + e.getMessage();
    }
  }
}
