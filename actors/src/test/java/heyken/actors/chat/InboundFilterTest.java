package heyken.actors.chat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import heyken.actors.chat.InboundFilter.Verdict;
import java.time.Instant;
import java.util.Set;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The rules of shared/protocols/rocketchat.md §2.4, one per test. */
class InboundFilterTest {

  private static final Instant T = Instant.parse("2026-11-01T10:00:00Z");

  private InboundFilter filter;

  @BeforeEach
  void create() {
    filter = new InboundFilter("heyken_bot", 100);
    filter.botUserId("BOT");
  }

  private static ChatMessage message(String id, String userId) {
    return new ChatMessage(id, "R1", "hi", T, T, userId, "alice", null, null, null, 0, false, Set.of(), Set.of());
  }

  @Test
  void theBotsOwnMessagesAreDropped() {
    assertEquals(Verdict.OWN, filter.judge(message("m", "BOT"), true, true, null));
  }

  @Test
  void systemMessagesAreDropped() {
    ChatMessage joined = new ChatMessage("m", "R1", "alice", T, T, "A", "alice", "uj", null, null, 0, false,
        Set.of(), Set.of());
    assertEquals(Verdict.SYSTEM, filter.judge(joined, true, true, null));
  }

  @Test
  void liveEditsReactionsAndThreadBumpsAreUpdatesNotMessages() {
    ChatMessage edited = new ChatMessage("m", "R1", "hi!", T, T.plusSeconds(5), "A", "alice", null, null,
        T.plusSeconds(5), 0, false, Set.of(), Set.of());
    ChatMessage reacted = new ChatMessage("m", "R1", "hi", T, T.plusSeconds(5), "A", "alice", null, null, null, 0,
        true, Set.of(), Set.of());
    ChatMessage bumped = new ChatMessage("m", "R1", "hi", T, T.plusSeconds(5), "A", "alice", null, null, null, 2,
        false, Set.of(), Set.of());
    assertEquals(Verdict.EDIT, filter.judge(edited, true, true, null));
    assertEquals(Verdict.REACTION, filter.judge(reacted, true, true, null));
    assertEquals(Verdict.THREAD_BUMP, filter.judge(bumped, true, true, null));
  }

  @Test
  void inCatchUpAnUnansweredMessageCountsEvenIfItWasEditedMeanwhile() {
    ChatMessage edited = new ChatMessage("m", "R1", "hi!", T, T.plusSeconds(5), "A", "alice", null, null,
        T.plusSeconds(5), 0, false, Set.of(), Set.of());
    assertEquals(Verdict.DELIVER, filter.judge(edited, null, false, T.minusSeconds(1)));
  }

  @Test
  void roomsNotJoinedCountOnlyWhenTheBotIsMentioned() {
    ChatMessage plain = message("m1", "A");
    ChatMessage byId = new ChatMessage("m2", "R1", "@heyken_bot hi", T, T, "A", "alice", null, null, null, 0, false,
        Set.of("BOT"), Set.of());
    ChatMessage byName = new ChatMessage("m3", "R1", "@heyken_bot hi", T, T, "A", "alice", null, null, null, 0, false,
        Set.of(), Set.of("heyken_bot"));
    assertEquals(Verdict.NOT_JOINED, filter.judge(plain, false, true, null));
    assertEquals(Verdict.DELIVER, filter.judge(byId, false, true, null));
    assertEquals(Verdict.DELIVER, filter.judge(byName, false, true, null));
    assertTrue(filter.mentionsBot(byName));
  }

  @Test
  void messagesAtOrBeforeTheCutoffWereHandled() {
    assertEquals(Verdict.ALREADY_HANDLED, filter.judge(message("m", "A"), true, false, T));
    assertEquals(Verdict.DELIVER, filter.judge(message("m", "A"), true, false, T.minusMillis(1)));
  }

  @Test
  void aDeliveredIdIsADuplicateUntilItFallsOutOfTheWindow() {
    filter.remember("m0");
    assertEquals(Verdict.DUPLICATE, filter.judge(message("m0", "A"), true, true, null));
    for (int i = 1; i <= 100; i++) {
      filter.remember("x" + i);
    }
    assertEquals(Verdict.DELIVER, filter.judge(message("m0", "A"), true, true, null), "bounded: the oldest id left");
  }
}
