package heyken.actors.llm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import heyken.actors.llm.LanguageModel.Message;
import java.util.List;
import org.junit.jupiter.api.Test;

class TokenBudgetTest {

  /** A message whose estimate is exactly {@code tokens} (content tokens + the per-message overhead). */
  private static Message user(String tag, int tokens) {
    return Message.user(pad(tag, tokens));
  }

  private static Message assistant(String tag, int tokens) {
    return Message.assistant(pad(tag, tokens));
  }

  private static String pad(String tag, int tokens) {
    int chars = (tokens - TokenBudget.MESSAGE_OVERHEAD) * TokenBudget.CHARS_PER_TOKEN;
    return tag + "x".repeat(chars - tag.length());
  }

  @Test
  void estimateIsCharactersOverFourRoundedUpPlusTheMessageOverhead() {
    assertEquals(0, TokenBudget.estimate(""));
    assertEquals(1, TokenBudget.estimate("abcd"));
    assertEquals(2, TokenBudget.estimate("abcde"));
    assertEquals(2 + TokenBudget.MESSAGE_OVERHEAD, TokenBudget.estimate(Message.user("abcde")));
    assertEquals(20, TokenBudget.estimate(List.of(user("a", 10), assistant("b", 10))));
  }

  @Test
  void historyThatFitsIsKeptWhole() {
    var history = List.of(Message.system("sys"), user("q1", 10), assistant("a1", 10), user("q2", 10));
    TokenBudget.Fit fit = TokenBudget.fit(history, 1000);
    assertEquals(history, fit.messages());
    assertEquals(0, fit.dropped());
    assertEquals(TokenBudget.estimate(history), fit.estimatedTokens());
  }

  @Test
  void oldestMessagesGoFirstAndTheSystemPromptStays() {
    var system = Message.system(pad("sys", 20));
    var history = List.of(system, user("q1", 30), assistant("a1", 30), user("q2", 30), assistant("a2", 30),
        user("q3", 30));
    TokenBudget.Fit fit = TokenBudget.fit(history, 20 + 3 * 30);
    assertEquals(List.of(system, history.get(3), history.get(4), history.get(5)), fit.messages());
    assertEquals(2, fit.dropped());
    assertEquals(110, fit.estimatedTokens());
  }

  @Test
  void systemMessagesAnywhereInTheHistoryAreKept() {
    var first = Message.system("rules");
    var late = Message.system("reminder");
    var history = List.of(first, user("q1", 50), late, user("q2", 50), user("q3", 50));
    // 6 + 6 for the system messages, 50 for the newest: the next 50 would exceed 100
    TokenBudget.Fit fit = TokenBudget.fit(history, 100);
    assertEquals(List.of(first, late, history.get(4)), fit.messages());
  }

  @Test
  void theNewestMessageIsKeptEvenWhenItAloneIsOverBudget() {
    var system = Message.system("rules");
    var huge = user("huge", 500);
    TokenBudget.Fit fit = TokenBudget.fit(List.of(system, user("old", 10), huge), 100);
    assertEquals(List.of(system, huge), fit.messages());
    assertTrue(fit.estimatedTokens() > 100, "the caller sees that it does not fit");
  }

  @Test
  void theKeptMessagesAreAnUnbrokenTail() {
    // the small oldest message would fit, but not without the big one between it and the tail
    var history = List.of(user("small", 6), assistant("big", 80), user("newest", 10));
    TokenBudget.Fit fit = TokenBudget.fit(history, 50);
    assertEquals(List.of(history.get(2)), fit.messages());
    assertEquals(2, fit.dropped());
  }

  @Test
  void emptyHistoryFitsTrivially() {
    assertEquals(new TokenBudget.Fit(List.of(), 0, 0), TokenBudget.fit(List.of(), 10));
  }
}
