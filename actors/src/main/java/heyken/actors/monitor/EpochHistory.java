package heyken.actors.monitor;

import heyken.actors.core.CoreManager;
import heyken.protocol.api.MonitorViews;
import java.util.ArrayList;
import java.util.Collections;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.persistence.query.PersistenceQuery;
import org.apache.pekko.stream.javadsl.Sink;
import pekko.contrib.persistence.mongodb.JavaDslMongoReadJournal;
import pekko.contrib.persistence.mongodb.MongoReadJournal;

/**
 * Which core was active under which epoch, and why: the CoreManager's {@code CoreActivated} events read back from the
 * journal. The CoreManager snapshots and deletes old events, so this is the recent history (the last couple of
 * hundred decisions), which is what the dashboard shows.
 */
public final class EpochHistory {

  private final ActorSystem<?> system;
  private final JavaDslMongoReadJournal journal;

  public EpochHistory(ActorSystem<?> system) {
    this.system = system;
    this.journal = PersistenceQuery.get(system.classicSystem())
        .getReadJournalFor(JavaDslMongoReadJournal.class, MongoReadJournal.Identifier());
  }

  /** The latest {@code max} activations, newest first. */
  public CompletionStage<MonitorViews.EpochHistory> recent(int max) {
    return journal.currentEventsByPersistenceId(CoreManager.PERSISTENCE_ID.id(), 0, Long.MAX_VALUE)
        .map(envelope -> envelope.event())
        .filter(event -> event instanceof CoreManager.CoreActivated)
        .map(event -> (CoreManager.CoreActivated) event)
        .runWith(Sink.seq(), system)
        .thenApply(events -> {
          var views = new ArrayList<MonitorViews.Activation>();
          for (var a : events) {
            views.add(new MonitorViews.Activation(a.epoch(), a.core(), a.previousCore(), a.reason(),
                a.at() == null ? null : a.at().toString()));
          }
          Collections.reverse(views);
          return new MonitorViews.EpochHistory(views.size() > max ? views.subList(0, max) : views);
        });
  }
}
