package heyken.actors.logs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.time.Instant;
import java.util.Map;
import org.junit.jupiter.api.Test;

class LogQueryTest {

  private static final Instant NOW = Instant.parse("2026-11-25T12:00:00Z");

  private static LogQuery ok(Map<String, String> params) {
    var parsed = LogQuery.parse(params, 1000, NOW);
    assertNull(parsed.problem(), () -> String.valueOf(parsed.problem()));
    return parsed.query();
  }

  private static String error(Map<String, String> params) {
    var parsed = LogQuery.parse(params, 1000, NOW);
    assertNotNull(parsed.problem(), "expected a 400 for " + params);
    assertEquals(400, parsed.problem().status());
    return parsed.problem().error();
  }

  @Test
  void withoutParametersTheNewestHundredLinesOfAnyLevel() {
    var q = ok(Map.of());
    assertEquals(LogQuery.DEFAULT_LIMIT, q.limit());
    assertNull(q.minLevel());
  }

  @Test
  void anAbsurdLimitIsClampedToTheMaximum() {
    assertEquals(1000, ok(Map.of("limit", "999999999")).limit());
    assertEquals("invalid_limit", error(Map.of("limit", "99999999999999999999")));
    assertEquals("invalid_limit", error(Map.of("limit", "-1")));
  }

  @Test
  void levelIsAMinimum() {
    assertEquals(30000, ok(Map.of("level", "warn")).minLevel());
    assertEquals(40000, ok(Map.of("level", "ERROR")).minLevel());
    assertEquals("invalid_level", error(Map.of("level", "verbose")));
  }

  @Test
  void timesAreIsoOrRelativeToNow() {
    assertEquals(NOW.minusSeconds(3600), ok(Map.of("since", "-1h")).since());
    assertEquals(NOW.minusSeconds(2 * 86400), ok(Map.of("since", "-2d")).since());
    assertEquals(Instant.parse("2026-11-24T00:00:00Z"), ok(Map.of("since", "2026-11-24")).since());
    assertEquals(Instant.parse("2026-11-24T10:15:00Z"), ok(Map.of("until", "2026-11-24T10:15:00Z")).until());
    assertEquals("invalid_time", error(Map.of("since", "last tuesday")));
    assertEquals("invalid_range", error(Map.of("since", "-1h", "until", "-2h")));
  }

  @Test
  void coreAcceptsTheNumberOrTheName() {
    assertEquals(2, ok(Map.of("core", "core-2")).core());
    assertEquals(1, ok(Map.of("core", "1")).core());
    assertEquals("invalid_core", error(Map.of("core", "3")));
  }

  @Test
  void operatorsAndOversizedTextNeverReachTheStore() {
    assertEquals("invalid_component", error(Map.of("component", "{\"$gt\":\"\"}")));
    assertEquals("invalid_contains", error(Map.of("contains", "x".repeat(201))));
    assertEquals("invalid_cursor", error(Map.of("after", "not-a-cursor")));
  }

  @Test
  void theCursorRoundTrips() {
    var cursor = new LogQuery.Cursor(LogRow.micros(NOW), 7_123_456_789_012L);
    assertEquals(cursor, ok(Map.of("after", cursor.token())).after());
  }

  @Test
  void aCursorOfTheOlderMongoStoreIsStillAccepted() {
    String raw = NOW.toEpochMilli() + ":" + new org.bson.types.ObjectId().toHexString();
    String old = java.util.Base64.getUrlEncoder().withoutPadding().encodeToString(raw.getBytes());
    var cursor = ok(Map.of("after", old)).after();
    // everything up to the end of that millisecond (its lines were copied over with new ids)
    assertEquals(NOW.toEpochMilli() * 1000 + 999, cursor.micros());
    assertEquals(Long.MAX_VALUE, cursor.id());
  }

  @Test
  void anUnknownFilterIsRefusedNotIgnored() {
    assertEquals("unknown_parameter", error(Map.of("levle", "ERROR")));
    assertEquals("unknown_parameter", error(Map.of("feature_id", "7")));
    assertEquals("unknown_parameter", error(Map.of("x".repeat(5000), "1")));
  }

  @Test
  void featureRunAndRoomAreIdsNotExpressions() {
    var q = ok(Map.of("feature", "12", "run", "run-3f2a", "room", "GENERAL"));
    assertEquals("12", q.feature());
    assertEquals("run-3f2a", q.run());
    assertEquals("GENERAL", q.room());
    assertEquals("invalid_feature", error(Map.of("feature", "7' OR '1'='1")));
    assertEquals("invalid_run", error(Map.of("run", "{\"$ne\":null}")));
    assertEquals("invalid_run", error(Map.of("run", "$(rm -rf /)")));
    assertEquals("invalid_room", error(Map.of("room", "a;b")));
    assertEquals("web:s-1", ok(Map.of("room", "web:s-1")).room());
    assertEquals("invalid_feature", error(Map.of("feature", "")));
  }

  @Test
  void limitsOutsideTheRangeAreRefusedOrClamped() {
    assertEquals("invalid_limit", error(Map.of("limit", "10^9")));
    assertEquals("invalid_limit", error(Map.of("limit", "0")));
    assertEquals("invalid_limit", error(Map.of("limit", "1e9")));
    assertEquals(1000, ok(Map.of("limit", "1000000000")).limit());
  }

  @Test
  void hugeValuesAreRefusedBeforeParsing() {
    assertEquals("invalid_contains", error(Map.of("contains", "x".repeat(100_000))));
    assertEquals("invalid_since", error(Map.of("since", "1".repeat(100_000))));
  }

  @Test
  void timesOutsideTheRepresentableRangeAreRefused() {
    assertEquals("invalid_time", error(Map.of("since", "+999999999-12-31T23:59:59Z")));
    assertEquals("invalid_time", error(Map.of("until", "-999999w")));
    assertEquals("invalid_time", error(Map.of("since", "-1h; DROP TABLE logs")));
    assertEquals("invalid_time", error(Map.of("since", "-1y")));
    assertEquals(NOW.minusSeconds(15 * 60), ok(Map.of("since", "-15m")).since());
  }
}
