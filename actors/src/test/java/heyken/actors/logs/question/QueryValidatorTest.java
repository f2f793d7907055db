package heyken.actors.logs.question;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.time.Instant;
import org.junit.jupiter.api.Test;

class QueryValidatorTest {

  private static final Instant NOW = Instant.parse("2026-11-25T12:00:00Z");
  private static final QuestionSettings SETTINGS = QuestionSettings.defaults();
  private final QueryValidator validator = new QueryValidator(SETTINGS);

  private QueryValidator.Validation validate(String json) {
    try {
      JsonNode node = new ObjectMapper().readTree(json);
      return validator.validate(node, NOW, SETTINGS.components());
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  private String problems(String json) {
    var v = validate(json);
    assertFalse(v.valid(), () -> "accepted: " + json);
    return String.join("; ", v.problems());
  }

  @Test
  void aCompleteQueryIsTypedAndResolved() {
    var v = validate("{\"level\":\"warn\",\"component\":\"http\",\"core\":1,\"feature\":\"weather\",\"since\":\"-2h\","
        + "\"until\":\"now\",\"text\":\" timeout \",\"group_by\":\"hour\",\"limit\":7}");
    assertTrue(v.valid(), v.problems()::toString);
    var q = v.query();
    assertEquals("WARN", q.level());
    assertEquals(30000, q.minLevel());
    assertEquals(NOW.minusSeconds(7200), q.since());
    assertEquals(NOW, q.until());
    assertEquals("timeout", q.text());
    assertEquals(GroupBy.HOUR, q.groupBy());
    assertEquals(7, q.limit());
  }

  @Test
  void nullsAndMissingFieldsAreNoFilter() {
    var q = validate("{\"level\":null,\"component\":null}").query();
    assertNull(q.level());
    assertNull(q.component());
    assertEquals(NOW.minus(SETTINGS.defaultWindow()), q.since());
    assertEquals(SETTINGS.defaultLimit(), q.limit());
  }

  @Test
  void unknownFieldsAndOperatorsAreRejected() {
    assertTrue(problems("{\"$where\":\"1\"}").contains("operators are not allowed"));
    assertTrue(problems("{\"level\":\"ERROR\",\"sql\":\"DROP TABLE x\"}").contains("unknown field 'sql'"));
    assertTrue(problems("[1,2]").contains("must be a JSON object"));
    assertTrue(problems("\"errors\"").contains("must be a JSON object"));
  }

  @Test
  void wrongTypesAndValuesAreRejected() {
    assertTrue(problems("{\"level\":\"LOUD\"}").contains("level must be one of"));
    assertTrue(problems("{\"level\":{\"$gt\":\"\"}}").contains("level must be text"));
    assertTrue(problems("{\"component\":\"nope\"}").contains("component must be one of"));
    assertTrue(problems("{\"component\":{\"$ne\":null}}").contains("component must be text"));
    assertTrue(problems("{\"core\":3}").contains("core must be"));
    assertTrue(problems("{\"core\":\"1\"}").contains("core must be"));
    assertTrue(problems("{\"core\":1.5}").contains("core must be"));
    assertTrue(problems("{\"feature\":\"Bad Id!\"}").contains("feature must be"));
    assertTrue(problems("{\"since\":\"last tuesday\"}").contains("is not a time"));
    assertTrue(problems("{\"since\":\"-1h\",\"until\":\"-2h\"}").contains("is after until"));
    assertTrue(problems("{\"text\":\"" + "x".repeat(201) + "\"}").contains("at most 200"));
    assertTrue(problems("{\"group_by\":\"message\"}").contains("group_by must be one of"));
    assertTrue(problems("{\"limit\":0}").contains("at least 1"));
    assertTrue(problems("{\"limit\":-1}").contains("at least 1"));
    assertTrue(problems("{\"limit\":2.5}").contains("whole number"));
    assertTrue(problems("{\"limit\":\"10\"}").contains("whole number"));
  }

  @Test
  void hugeLimitsAreClampedNotRun() {
    var v = validate("{\"limit\":100000000000000000000000000000}");
    assertEquals(SETTINGS.maxLimit(), v.query().limit());
    assertTrue(v.notes().get(v.notes().size() - 1).contains("clamped"));
    assertEquals(SETTINGS.maxLimit(), validate("{\"limit\":501}").query().limit());
  }

  @Test
  void timesInEveryAcceptedForm() {
    assertEquals(Instant.parse("2026-11-25T00:00:00Z"), validate("{\"since\":\"today\"}").query().since());
    assertEquals(Instant.parse("2026-11-24T00:00:00Z"), validate("{\"since\":\"yesterday\"}").query().since());
    assertEquals(NOW.minusSeconds(3600), validate("{\"since\":\"-PT1H\"}").query().since());
    assertEquals(NOW.minusSeconds(7 * 86400), validate("{\"since\":\"-1w\"}").query().since());
    assertEquals(Instant.parse("2026-11-20T08:00:00Z"),
        validate("{\"since\":\"2026-11-20T10:00:00+02:00\"}").query().since());
    assertEquals(Instant.parse("2000-01-01T00:00:00Z"), validate("{\"since\":\"-999999d\"}").query().since(),
        "absurdly far back is the earliest time, not an overflow");
  }
}
