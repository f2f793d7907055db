package heyken.actors.chat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.time.Instant;
import org.junit.jupiter.api.Test;

/** Messages read the same from REST (ISO dates) and DDP (EJSON dates), as §2.2 shows them. */
class ChatMessageTest {

  private static final ObjectMapper JSON = new ObjectMapper();

  @Test
  void aDdpMessageWithEjsonDatesAndMentions() throws Exception {
    ChatMessage m = ChatMessage.fromJson(JSON.readTree("{\"_id\":\"Xy7kQ2aBcD9eFgH1J\",\"rid\":\"GENERAL\","
        + "\"msg\":\"@heyken-bot status?\",\"ts\":{\"$date\":1732510000000},\"u\":{\"_id\":\"aob\","
        + "\"username\":\"alice\",\"name\":\"Alice\"},\"_updatedAt\":{\"$date\":1732510000000},"
        + "\"mentions\":[{\"_id\":\"BOT\",\"username\":\"heyken-bot\",\"name\":\"Heyken\",\"type\":\"user\"}],"
        + "\"channels\":[],\"md\":[],\"unknownField\":42}"));
    assertEquals("Xy7kQ2aBcD9eFgH1J", m.id());
    assertEquals(Instant.ofEpochMilli(1732510000000L), m.ts());
    assertEquals("alice", m.username());
    assertTrue(m.mentionedUserIds().contains("BOT"));
    assertFalse(m.isUpdate());
    assertNull(m.systemType());
  }

  @Test
  void aRestMessageWithIsoDatesThreadAndEdit() throws Exception {
    ChatMessage m = ChatMessage.fromJson(JSON.readTree("{\"_id\":\"m\",\"rid\":\"R\",\"msg\":\"x\","
        + "\"ts\":\"2016-12-14T20:56:05.117Z\",\"_updatedAt\":\"2016-12-14T20:57:00.000Z\",\"u\":{\"_id\":\"u\"},"
        + "\"tmid\":\"parent\",\"editedAt\":\"2016-12-14T20:57:00.000Z\"}"));
    assertEquals(Instant.parse("2016-12-14T20:56:05.117Z"), m.ts());
    assertEquals("parent", m.threadId());
    assertTrue(m.isUpdate());
  }

  @Test
  void aThreadParentWithOnlyTlmCountsAsBumped() throws Exception {
    ChatMessage m = ChatMessage.fromJson(JSON.readTree("{\"_id\":\"m\",\"rid\":\"R\",\"ts\":{\"$date\":1},"
        + "\"tlm\":{\"$date\":2}}"));
    assertEquals(1, m.threadReplies());
  }

  @Test
  void aDocumentWithoutIdRoomOrTimestampIsRefused() throws Exception {
    assertThrows(IllegalArgumentException.class, () -> ChatMessage.fromJson(JSON.readTree("{\"_id\":\"m\"}")));
  }
}
