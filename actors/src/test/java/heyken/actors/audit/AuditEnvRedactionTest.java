package heyken.actors.audit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import heyken.actors.core.CoreManager;
import heyken.actors.services.ServiceEnvRedactionTest;
import heyken.protocol.api.service.ServiceView;
import java.time.Instant;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** An audit entry of {@code ServiceAdded} shows the env's names, never its values; the event itself keeps them. */
class AuditEnvRedactionTest {

  @Test
  void aServiceAddedEntryShowsTheEnvNamesOnly() {
    var added = new CoreManager.ServiceAdded(ServiceEnvRedactionTest.spec(), "alice", 3,
        Instant.parse("2026-01-01T00:00:00Z"));
    Map<String, Object> fields = AuditTrail.fieldsOf(added);
    assertFalse(fields.toString().contains(ServiceEnvRedactionTest.MARKER), fields.toString());
    var spec = (Map<?, ?>) fields.get("spec");
    assertEquals(Map.of("API_TOKEN", ServiceView.REDACTED, "MODE", ServiceView.REDACTED), spec.get("env"));
    assertEquals("sandbox/busybox:1", spec.get("image"));
    assertEquals(3, ((Number) fields.get("epoch")).intValue());
    assertEquals(ServiceEnvRedactionTest.MARKER, added.spec().env().get("API_TOKEN"), "the event is left as it is");
  }
}
