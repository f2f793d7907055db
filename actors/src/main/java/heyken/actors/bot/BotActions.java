package heyken.actors.bot;

import heyken.actors.llm.LanguageModel;
import heyken.protocol.CborSerializable;
import java.util.List;
import java.util.concurrent.CompletionStage;

/**
 * What the bot does once a conversation has decided to do it: run a command, or ask the language model. The
 * conversation entity decides (permissions, confirmations, duplicates); an implementation only executes and answers
 * in words a chat user understands, never with an exception the user would see as a stack trace.
 */
public interface BotActions {

  /** Who wrote a message: the platform's user id decides admin rights, never the display name. */
  record Speaker(String userId, String username, boolean admin) implements CborSerializable {}

  /** Runs a command (not a {@link BotCommand.Question}) and answers with the text to post. */
  CompletionStage<String> execute(BotCommand command, Speaker speaker);

  /** Answers a question with the language model, given the room's recent history (oldest first). */
  CompletionStage<String> answer(String question, List<LanguageModel.Message> history, Speaker speaker);

  /**
   * As {@link #answer(String, List, Speaker)}, telling {@code progress} the place in the model's queue while the
   * question waits and the text so far while the answer is written. The default answers without progress.
   */
  default CompletionStage<String> answer(String question, List<LanguageModel.Message> history, Speaker speaker,
      Progress progress) {
    return answer(question, history, speaker);
  }

  /** Hears an answer being written; called from any thread, possibly often (the receiver throttles). */
  interface Progress {
    Progress NONE = new Progress() {
      @Override
      public void queued(int position) {
      }

      @Override
      public void partial(String textSoFar) {
      }
    };

    /** The question waits for the language model; 1 = next. */
    void queued(int position);

    /** The answer so far (not yet complete). */
    void partial(String textSoFar);
  }
}
