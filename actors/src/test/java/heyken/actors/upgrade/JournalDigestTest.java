package heyken.actors.upgrade;

import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

/** The check step's comparison of what the running and the new jar recovered from the same journal. */
class JournalDigestTest {

  private static final ObjectMapper JSON = new ObjectMapper();

  private static JsonNode result(String state) throws Exception {
    String entry = "{\"events\": 3, \"digest\": \"abc\", \"snapshot\": \"2:def\""
        + (state == null ? "" : ", \"state\": \"" + state + "\"") + "}";
    return JSON.readTree("{\"digests\": {\"component-registry\": " + entry + "}}");
  }

  @Test
  void theSameEventsSnapshotAndRecoveredStatePass() throws Exception {
    assertNull(JournalDigest.compare(result("s1"), result("s1")));
  }

  @Test
  void anotherRecoveredStateFailsTheCheckThoughTheEventsReadTheSame() throws Exception {
    String diff = JournalDigest.compare(result("s1"), result("s2"));
    assertTrue(diff != null && diff.contains("component-registry") && diff.contains("another state"), diff);
  }

  @Test
  void aRunningVersionWithoutStateRecoveryIsComparedByItsDigestsOnly() throws Exception {
    assertNull(JournalDigest.compare(result(null), result("s2")));
  }

  @Test
  void theRecoveredStateDigestFollowsTheStateNotItsInstance() {
    var a = new JournalDigest();
    a.add(new Upgrade.State(null, java.util.List.of()));
    var b = new JournalDigest();
    b.add(new Upgrade.State(null, java.util.List.of()));
    assertTrue(a.hex().equals(b.hex()));
  }
}
