package heyken.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import heyken.actors.bot.BotCommand;
import heyken.actors.bot.Conversation;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * {@code GET /api/chat/{session}} serves a view of the room's history, not the entity's records: its JSON is exactly
 * what serving the records wrote (field names, the command's own JSON with its type, instants as text).
 */
class ChatHistoryViewTest {

  private static final Instant AT = Instant.parse("2026-12-06T20:00:00.123Z");

  private static void assertSameJson(Conversation.History history) throws Exception {
    String records = Json.MAPPER.writeValueAsString(history);
    String view = Json.MAPPER.writeValueAsString(ChatRoutes.view(history));
    assertEquals(records, view);
  }

  @Test
  void aRoomWithTurnsAPendingCommandAndAnAnswerBeingWrittenLooksAsBefore() throws Exception {
    var turns = List.of(new Conversation.Turn("u1", "alice", "!status", "core 1 is active", AT),
        new Conversation.Turn("u2", null, "why?", "because", AT.plusSeconds(1)));
    for (BotCommand command : List.<BotCommand>of(new BotCommand.Deploy("3"),
        new BotCommand.ServiceChange("add", "cache", "redis:7", List.of("redis-server", "--port", "7000")),
        new BotCommand.Logs(5, null), new BotCommand.Switch(2))) {
      var history = new Conversation.History("web:s1", turns,
          new Conversation.Pending("tok", "u1", command, AT.plusSeconds(60)),
          new Conversation.Partial("m3", "tell me", "so far", 0));
      assertSameJson(history);
    }
    String json = Json.MAPPER.writeValueAsString(ChatRoutes.view(new Conversation.History("web:s1", turns,
        new Conversation.Pending("tok", "u1", new BotCommand.Deploy("3"), AT), null)));
    assertTrue(json.contains("\"expires_at\":\"2026-12-06T20:00:00.123Z\""), json);
    assertTrue(json.contains("\"user_id\":\"u1\""), json);
  }

  @Test
  void anEmptyRoomLooksAsBefore() throws Exception {
    assertSameJson(new Conversation.History("web:empty", List.of(), null, null));
    assertSameJson(new Conversation.History("web:q", List.of(), null, new Conversation.Partial("m", "q", null, 2)));
  }
}
