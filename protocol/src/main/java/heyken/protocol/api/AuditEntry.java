package heyken.protocol.api;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.List;
import java.util.Map;

/**
 * One event of the journal as the audit shows it: when, which entity ({@code feature:3}, {@code run:3-1},
 * {@code core-manager}, {@code catalog}, {@code registry}), what happened ({@code type}: the event's name), on which
 * core under which epoch and on whose request when the event says so, and the event itself.
 */
public record AuditEntry(
    String at,
    String entity,
    @JsonProperty("persistence_id") String persistenceId,
    @JsonProperty("sequence_nr") long sequenceNr,
    String type,
    Integer core,
    Long epoch,
    @JsonProperty("requested_by") String requestedBy,
    Map<String, Object> event) {

  /** {@code GET /api/audit}: a page of the timeline, oldest first; {@code next} continues after it (null at the end). */
  public record Page(List<AuditEntry> entries, String next, @JsonProperty("scanned_events") long scannedEvents) {}
}
