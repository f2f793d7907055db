package heyken.actors.audit;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import heyken.actors.core.CoreManager;
import heyken.actors.feature.Feature;
import heyken.protocol.api.AuditEntry;
import heyken.protocol.api.service.ServiceView;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.persistence.query.EventEnvelope;
import org.apache.pekko.persistence.query.PersistenceQuery;
import org.apache.pekko.stream.javadsl.Sink;
import pekko.contrib.persistence.mongodb.JavaDslMongoReadJournal;
import pekko.contrib.persistence.mongodb.MongoReadJournal;

/**
 * The audit: Heyken's decisions replayed from the MongoDB journal through Pekko Persistence Query (the {@code current*}
 * queries, which the embedded store supports). Only Heyken's own events are shown, not sharding's bookkeeping.
 */
public final class AuditTrail {

  /** At most this many events are read for one request: the audit is a bounded read, whatever the filters. */
  public static final int MAX_SCAN = 200_000;
  private static final ObjectMapper JSON = JsonMapper.builder()
      .findAndAddModules()
      .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS)
      .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
      .build();

  /** What to show: time range, an entity ({@code feature}, {@code feature:3}, ...), an event type; all optional. */
  public record Filter(Instant since, Instant until, String entity, String type) {
    boolean accepts(AuditEntry e, Instant at) {
      if (since != null && at.isBefore(since) || until != null && !at.isBefore(until)) {
        return false;
      }
      if (type != null && !e.type().equalsIgnoreCase(type)) {
        return false;
      }
      return entity == null || e.entity().equals(entity) || e.entity().startsWith(entity + ":");
    }
  }

  private final ActorSystem<?> system;
  private final JavaDslMongoReadJournal journal;

  public AuditTrail(ActorSystem<?> system) {
    this.system = system;
    this.journal = PersistenceQuery.get(system.classicSystem())
        .getReadJournalFor(JavaDslMongoReadJournal.class, MongoReadJournal.Identifier());
  }

  /** The entity name of a persistence id: {@code Feature|3} → {@code feature:3}, {@code PipelineRun|3-1} → run:3-1. */
  public static String entityOf(String persistenceId) {
    int bar = persistenceId.indexOf('|');
    if (bar < 0) {
      return switch (persistenceId) {
        case "feature-catalog" -> "catalog";
        case "component-registry" -> "registry";
        // the deployments and services the CoreManager recorded until they got their own ledgers: same entity
        case "core-deployments", "core-services" -> "core-manager";
        default -> persistenceId;
      };
    }
    String kind = persistenceId.substring(0, bar);
    String id = persistenceId.substring(bar + 1);
    return (kind.equals("PipelineRun") ? "run" : kind.toLowerCase(java.util.Locale.ROOT)) + ":" + id;
  }

  /** A page of the timeline: entries after {@code cursor} (null: from the start), oldest first. */
  public CompletionStage<AuditEntry.Page> timeline(Filter filter, String cursor, int limit) {
    Position after = cursor == null ? null : Position.decode(cursor);
    return journal.currentAllEvents().take(MAX_SCAN)
        .runWith(Sink.seq(), system)
        .thenApply(envelopes -> {
          var entries = new ArrayList<Positioned>();
          for (AuditEntry entry : entries(envelopes.stream().filter(AuditTrail::ours).toList())) {
            Instant at = Instant.parse(entry.at());
            if (filter.accepts(entry, at)) {
              entries.add(new Positioned(new Position(at, entry.persistenceId(), entry.sequenceNr()), entry));
            }
          }
          entries.sort(Comparator.comparing(Positioned::position, Position.ORDER));
          var page = new ArrayList<AuditEntry>();
          String next = null;
          for (var p : entries) {
            if (after != null && Position.ORDER.compare(p.position(), after) <= 0) {
              continue;
            }
            if (page.size() == limit) {
              next = page.isEmpty() ? null : positionOf(page.get(page.size() - 1)).encode();
              break;
            }
            page.add(p.entry());
          }
          return new AuditEntry.Page(page, next, envelopes.size());
        });
  }

  /**
   * Everything about one feature: its own events, its runs' events, and the deployment decisions (the
   * DeploymentLedger's, and the CoreManager's from before the ledger) for
   * it, in time order.
   */
  public CompletionStage<List<AuditEntry>> feature(String featureId) {
    return journal.currentAllEvents().take(MAX_SCAN)
        .filter(env -> ours(env) && concerns(env, featureId))
        .runWith(Sink.seq(), system)
        .thenApply(list -> {
          var sorted = new ArrayList<>(entries(list));
          sorted.sort(Comparator.comparing(e -> new Position(Instant.parse(e.at()), e.persistenceId(),
              e.sequenceNr()), Position.ORDER));
          return sorted;
        });
  }

  /** The feature's state rebuilt from its journal alone, to compare with what the live entity reports. */
  public CompletionStage<Feature.State> replayFeature(String featureId) {
    return journal.currentEventsByPersistenceId(Feature.ENTITY_KEY.name() + "|" + featureId, 0, Long.MAX_VALUE)
        .map(env -> (Feature.Event) env.event())
        .runWith(Sink.seq(), system)
        .thenApply(events -> Feature.replay(featureId, events));
  }

  private static boolean ours(EventEnvelope env) {
    return env.event() != null && env.event().getClass().getName().startsWith("heyken.");
  }

  private static boolean concerns(EventEnvelope env, String featureId) {
    String pid = env.persistenceId();
    if (pid.equals(Feature.ENTITY_KEY.name() + "|" + featureId)
        || pid.startsWith("PipelineRun|" + featureId + "-")
        || pid.equals(heyken.actors.gitlab.GitLabSync.ENTITY_KEY.name() + "|" + featureId)
        || pid.equals(heyken.actors.feature.FeatureAuthor.ENTITY_KEY.name() + "|" + featureId)) {
      return true;
    }
    if (pid.equals("core-manager") || pid.equals("core-deployments") || pid.equals("feature-catalog")) {
      Object id = JSON.convertValue(env.event(), Map.class).get("featureId");
      return featureId.equals(id);
    }
    return false;
  }

  /**
   * Entries of the envelopes. The journal does not keep a write time, so an event's time is its own {@code at} field;
   * an event without one (persisted in one batch with the event before it, or written by an older version) takes the
   * time of the event before it in the same entity.
   */
  private List<AuditEntry> entries(List<EventEnvelope> envelopes) {
    var byEntity = new ArrayList<>(envelopes);
    byEntity.sort(Comparator.comparing(EventEnvelope::persistenceId).thenComparingLong(EventEnvelope::sequenceNr));
    var out = new ArrayList<AuditEntry>(byEntity.size());
    String pid = null;
    Instant last = null;
    for (EventEnvelope env : byEntity) {
      if (!env.persistenceId().equals(pid)) {
        pid = env.persistenceId();
        last = null;
      }
      var entry = entry(env, last);
      last = Instant.parse(entry.at());
      out.add(entry);
    }
    return out;
  }

  @SuppressWarnings("unchecked")
  private AuditEntry entry(EventEnvelope env, Instant previous) {
    Object event = env.event();
    Map<String, Object> fields = fieldsOf(event);
    Instant own = instantField(fields);
    Instant at = env.timestamp() > 0 ? Instant.ofEpochMilli(env.timestamp())
        : own != null ? own : previous != null ? previous : Instant.EPOCH;
    Integer core = fields.get("core") instanceof Number n ? n.intValue() : null;
    Long epoch = fields.get("epoch") instanceof Number n ? n.longValue() : null;
    Object by = fields.get("requestedBy");
    return new AuditEntry(at.toString(), entityOf(env.persistenceId()), env.persistenceId(), env.sequenceNr(),
        event.getClass().getSimpleName(), core, epoch, by == null ? null : by.toString(), fields);
  }

  /**
   * The event as the audit shows it: its JSON fields, with the values of a service's env redacted (names kept, see
   * {@link ServiceView#REDACTED}): env values are write-only, the journal keeps them.
   */
  @SuppressWarnings("unchecked")
  static Map<String, Object> fieldsOf(Object event) {
    Map<String, Object> fields = JSON.convertValue(event, Map.class);
    if (event instanceof CoreManager.ServiceAdded added) {
      Map<String, Object> spec = JSON.convertValue(added.spec(), java.util.LinkedHashMap.class);
      spec.put("env", ServiceView.redacted(added.spec().env()));
      fields.put("spec", spec);
    }
    return fields;
  }

  private static Instant instantField(Map<String, Object> fields) {
    Object at = fields.get("at");
    try {
      return at == null ? null : Instant.parse(at.toString());
    } catch (RuntimeException e) {
      return null;
    }
  }

  private static Position positionOf(AuditEntry e) {
    return new Position(Instant.parse(e.at()), e.persistenceId(), e.sequenceNr());
  }

  private record Positioned(Position position, AuditEntry entry) {}

  /** Where a page ends: (time, persistence id, sequence number), opaque to callers. */
  record Position(Instant at, String persistenceId, long seq) {
    static final Comparator<Position> ORDER = Comparator.comparing(Position::at)
        .thenComparing(Position::persistenceId).thenComparingLong(Position::seq);

    String encode() {
      return Base64.getUrlEncoder().withoutPadding().encodeToString(
          (at + "|" + seq + "|" + persistenceId).getBytes(StandardCharsets.UTF_8));
    }

    /** Throws IllegalArgumentException for a cursor this class did not write. */
    static Position decode(String cursor) {
      String text = new String(Base64.getUrlDecoder().decode(cursor), StandardCharsets.UTF_8);
      String[] parts = text.split("\\|", 3);
      if (parts.length != 3) {
        throw new IllegalArgumentException("not a cursor of this API");
      }
      try {
        // the full instant: a cursor cut to milliseconds would repeat events written within the same millisecond
        return new Position(Instant.parse(parts[0]), parts[2], Long.parseLong(parts[1]));
      } catch (java.time.format.DateTimeParseException | NumberFormatException e) {
        throw new IllegalArgumentException("not a cursor of this API", e);
      }
    }
  }
}
