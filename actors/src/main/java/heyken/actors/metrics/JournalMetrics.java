package heyken.actors.metrics;

import org.apache.pekko.persistence.journal.EventAdapter;
import org.apache.pekko.persistence.journal.EventSeq;
import org.apache.pekko.persistence.journal.Tagged;

/**
 * Counts the events Heyken's entities hand to the journal ({@code heyken_journal_events_total}), without changing
 * them: bound in application.conf to the journal plugin for Heyken's events and for tagged events (which the typed
 * persistence wraps in {@link Tagged}). No manifest of its own, so what is stored is exactly what it was before.
 */
public final class JournalMetrics implements EventAdapter {

  @Override
  public String manifest(Object event) {
    return "";
  }

  @Override
  public Object toJournal(Object event) {
    Object payload = event instanceof Tagged tagged ? tagged.payload() : event;
    if (payload != null && payload.getClass().getName().startsWith("heyken.")) {
      Metrics.journalEvent(payload);
    }
    return event;
  }

  @Override
  public EventSeq fromJournal(Object event, String manifest) {
    return EventSeq.single(event);
  }
}
