package heyken.actors.bot;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import heyken.actors.llm.LanguageModel;
import heyken.actors.support.TestStore;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.persistence.testkit.javadsl.EventSourcedBehaviorTestKit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** A room's rules: one answer per message id, admin-only commands, confirmations by the same user within the TTL. */
class ConversationTest {

  private static TestStore store;
  private static ActorTestKit testKit;
  private static int room;

  /** Records what the conversation asked to be done, and answers in a recognisable way (a test double). */
  static final class RecordingActions implements BotActions {
    final List<BotCommand> executed = new CopyOnWriteArrayList<>();
    final List<String> questions = new CopyOnWriteArrayList<>();
    volatile int historySize = -1;

    @Override
    public CompletionStage<String> execute(BotCommand command, Speaker speaker) {
      executed.add(command);
      return CompletableFuture.completedFuture("done: " + command);
    }

    @Override
    public CompletionStage<String> answer(String question, List<LanguageModel.Message> history, Speaker speaker) {
      questions.add(question);
      historySize = history.size();
      return CompletableFuture.completedFuture("llm: " + question);
    }
  }

  static final BotActions.Speaker ADMIN = new BotActions.Speaker("u-admin", "alice", true);
  static final BotActions.Speaker USER = new BotActions.Speaker("u-user", "bob", false);

  @BeforeAll
  static void start() {
    store = new TestStore();
    testKit = ActorTestKit.create("conversation-test",
        EventSourcedBehaviorTestKit.config().withFallback(store.config("")));
  }

  @AfterAll
  static void stop() {
    testKit.shutdownTestKit();
    store.close();
  }

  private RecordingActions actions;
  private EventSourcedBehaviorTestKit<Conversation.Command, Conversation.Event, Conversation.State> kit;

  @BeforeEach
  void fresh() {
    startRoom(Duration.ofSeconds(30)); // long enough that a slow machine never expires a confirmation by accident
  }

  private void startRoom(Duration confirmationTtl) {
    room++;
    actions = new RecordingActions();
    kit = EventSourcedBehaviorTestKit.create(testKit.system(),
        Conversation.create("web:test-" + room, actions, confirmationTtl, "heyken_bot"));
  }

  private Conversation.Answer say(String id, String text, BotActions.Speaker speaker) {
    var probe = testKit.<Conversation.Answer>createTestProbe();
    kit.runCommand(new Conversation.Handle(id, text, speaker, probe.ref()));
    return probe.receiveMessage(Duration.ofSeconds(5));
  }

  private List<Conversation.ActionDecided> decisions() {
    var out = new java.util.ArrayList<Conversation.ActionDecided>();
    kit.persistenceTestKit().persistedInStorage("Conversation|web:test-" + room).forEach(e -> {
      if (e instanceof Conversation.ActionDecided d) {
        out.add(d);
      }
    });
    return out;
  }

  @Test
  void eachMessageIdIsAnsweredOnce() {
    var first = say("m1", "status", USER);
    assertFalse(first.duplicate());
    var again = say("m1", "status", USER);
    assertTrue(again.duplicate());
    assertEquals(first.text(), again.text());
    assertEquals(1, actions.executed.size(), "the command ran once");
  }

  @Test
  void aQuestionGoesToTheModelWithTheRoomsHistory() {
    say("m1", "features", USER);
    var answer = say("m2", "what is deployed?", USER);
    assertEquals("llm: what is deployed?", answer.text());
    assertEquals(2, actions.historySize, "one earlier turn: its question and its answer");
  }

  @Test
  void aNonAdminIsRefusedAndTheRefusalIsAnEvent() {
    var answer = say("m1", "deploy 3", USER);
    assertTrue(answer.text().startsWith("Only an admin"), answer.text());
    assertTrue(actions.executed.isEmpty());
    assertEquals(Conversation.Decision.DENIED, decisions().get(0).outcome());
  }

  @Test
  void everyDecisionIsLoggedWithTheRoomInMdc() {
    var context = (ch.qos.logback.classic.LoggerContext) org.slf4j.LoggerFactory.getILoggerFactory();
    var logger = context.getLogger(Conversation.class);
    var lines = new ch.qos.logback.core.read.ListAppender<ch.qos.logback.classic.spi.ILoggingEvent>();
    lines.setContext(context);
    lines.start();
    logger.addAppender(lines);
    try {
      say("m1", "deploy 3", USER);
      say("m2", "switch 2", ADMIN);
      say("m3", "no", ADMIN);
      say("m4", "status", USER);
    } finally {
      logger.detachAppender(lines);
    }
    String room = "web:test-" + ConversationTest.room;
    var messages = new java.util.ArrayList<String>();
    for (var e : lines.list) {
      if (e.getFormattedMessage().startsWith("room " + room + ":")) {
        assertEquals(room, e.getMDCPropertyMap().get("room"), e.getFormattedMessage());
        messages.add(e.getFormattedMessage());
      }
    }
    assertTrue(messages.stream().anyMatch(m -> m.contains("deploy by u-user denied")), messages::toString);
    assertTrue(messages.stream().anyMatch(m -> m.contains("switch by u-admin waits for confirmation")),
        messages::toString);
    assertTrue(messages.stream().anyMatch(m -> m.contains("switch by u-admin cancelled")), messages::toString);
    assertTrue(messages.stream().anyMatch(m -> m.contains("runs status")), messages::toString);
    assertTrue(messages.stream().anyMatch(m -> m.contains("answered message m4 of u-user")), messages::toString);
  }

  @Test
  void anAdminsDeployWaitsForTheSameUsersYes() {
    var ask = say("m1", "deploy 3", ADMIN);
    assertTrue(ask.text().startsWith("Confirm: deploy feature 3?"), ask.text());
    assertTrue(actions.executed.isEmpty());
    // someone else's yes does not count; it is just a message (a question for the model)
    say("m2", "yes", USER);
    assertTrue(actions.executed.isEmpty());
    var done = say("m3", "yes", ADMIN);
    assertEquals(List.of(new BotCommand.Deploy("3")), actions.executed);
    assertTrue(done.text().startsWith("done:"), done.text());
    assertEquals(Conversation.Decision.EXECUTED, decisions().get(0).outcome());
    assertNull(kit.getState().pending());
  }

  @Test
  void noCancelsAndIsAnEvent() {
    say("m1", "switch 2", ADMIN);
    var answer = say("m2", "no", ADMIN);
    assertTrue(answer.text().startsWith("Cancelled"), answer.text());
    assertTrue(actions.executed.isEmpty());
    assertEquals(Conversation.Decision.CANCELLED, decisions().get(0).outcome());
  }

  @Test
  void aConfirmationExpires() throws Exception {
    startRoom(Duration.ofMillis(300));
    say("m1", "rollback 4", ADMIN);
    // the expiry timer records it
    heyken.testkit.Await.until("the expiry recorded", Duration.ofSeconds(5), () -> !decisions().isEmpty());
    assertEquals(Conversation.Decision.EXPIRED, decisions().get(0).outcome());
    var late = say("m2", "yes", ADMIN);
    assertFalse(late.text().startsWith("done:"), late.text());
    assertTrue(late.text().startsWith("There is nothing to confirm"), late.text());
    assertTrue(actions.executed.isEmpty(), "nothing runs after the TTL");
  }

  @Test
  void anAnswerBeingWrittenShowsInTheHistoryAndReachesWhoAsked() {
    var release = new CompletableFuture<String>();
    BotActions streaming = new BotActions() {
      @Override
      public CompletionStage<String> execute(BotCommand command, Speaker speaker) {
        return CompletableFuture.completedFuture("done");
      }

      @Override
      public CompletionStage<String> answer(String question, List<LanguageModel.Message> history, Speaker speaker) {
        throw new AssertionError("the conversation asks with progress");
      }

      @Override
      public CompletionStage<String> answer(String question, List<LanguageModel.Message> history, Speaker speaker,
          Progress progress) {
        progress.queued(2);
        progress.partial("Hello wor");
        return release;
      }
    };
    var streamKit = EventSourcedBehaviorTestKit.<Conversation.Command, Conversation.Event, Conversation.State>create(
        testKit.system(), Conversation.create("web:stream-" + (++room), streaming, Duration.ofSeconds(30),
            "heyken_bot"));
    var answers = testKit.<Conversation.Answer>createTestProbe();
    var progress = testKit.<Conversation.Progress>createTestProbe();
    streamKit.runCommand(new Conversation.Handle("m1", "explain heyken", USER, answers.ref(), progress.ref()));
    assertEquals(new Conversation.Progress("m1", null, 2), progress.receiveMessage(Duration.ofSeconds(5)));
    assertEquals(new Conversation.Progress("m1", "Hello wor", 0), progress.receiveMessage(Duration.ofSeconds(5)));
    var during = streamKit.<Conversation.History>runCommand(Conversation.GetHistory::new).reply();
    assertEquals(new Conversation.Partial("m1", "explain heyken", "Hello wor", 0), during.partial());
    assertTrue(during.turns().isEmpty());

    release.complete("Hello world");
    assertEquals("Hello world", answers.receiveMessage(Duration.ofSeconds(5)).text());
    var after = streamKit.<Conversation.History>runCommand(Conversation.GetHistory::new).reply();
    assertNull(after.partial());
    assertEquals("Hello world", after.turns().get(0).answer());
  }

  @Test
  void usageErrorsSayHowToWriteIt() {
    var answer = say("m1", "deploy abc", ADMIN);
    assertTrue(answer.text().startsWith("Usage: deploy <id>"), answer.text());
    assertTrue(actions.executed.isEmpty());
  }

  @Test
  void historyAndAnsweredIdsSurviveARestart() {
    say("m1", "status", USER);
    say("m2", "deploy 3", ADMIN);
    kit.restart();
    assertTrue(say("m1", "status", USER).duplicate());
    assertInstanceOf(Conversation.Pending.class, kit.getState().pending());
    say("m3", "yes", ADMIN);
    assertEquals(2, actions.executed.size());
  }
}
