package heyken.actors.feature;

import com.fasterxml.jackson.annotation.JsonCreator;
import heyken.protocol.CborSerializable;
import heyken.protocol.api.Problem;
import java.time.Instant;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Pattern;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.SupervisorStrategy;
import org.apache.pekko.persistence.typed.PersistenceId;
import org.apache.pekko.persistence.typed.javadsl.CommandHandler;
import org.apache.pekko.persistence.typed.javadsl.Effect;
import org.apache.pekko.persistence.typed.javadsl.EventHandler;
import org.apache.pekko.persistence.typed.javadsl.EventSourcedBehavior;
import org.apache.pekko.persistence.typed.javadsl.RetentionCriteria;

/**
 * The cluster singleton that hands out feature ids (1, 2, 3, ...: short enough to type in a curl command) and keeps
 * feature names unique. It knows only names and ids; everything else about a feature is in its {@link Feature} entity.
 */
public final class FeatureCatalog
    extends EventSourcedBehavior<FeatureCatalog.Command, FeatureCatalog.Event, FeatureCatalog.State> {

  public static final PersistenceId PERSISTENCE_ID = PersistenceId.ofUniqueId("feature-catalog");
  public static final String TAG = "feature";
  static final int MAX_NAME = 64;
  // a name ends up in paths, chat commands and log lines: letters, digits, '_' and '-', starting with a letter
  private static final Pattern NAME = Pattern.compile("[A-Za-z][A-Za-z0-9_-]*");

  public sealed interface Command extends CborSerializable {}

  /** Reserves {@code name} for a new feature and answers its id; refused when the name is taken or invalid. */
  public record Reserve(String name, String requestedBy, ActorRef<Reply> replyTo) implements Command {}

  /** Frees the name of a deleted feature (or of a create that failed after the reservation). */
  public record Release(String featureId, String reason, ActorRef<Reply> replyTo) implements Command {}

  public record ListAll(ActorRef<Reply> replyTo) implements Command {}

  public enum Stop implements Command {
    INSTANCE
  }

  /** The reserved id, or the refusal; {@code entries} for {@link ListAll}. */
  public record Reply(String featureId, List<Entry> entries, Problem problem) implements CborSerializable {}

  public record Entry(String featureId, String name) implements CborSerializable {}

  public sealed interface Event extends CborSerializable {}

  public record NameReserved(String featureId, String name, String requestedBy, Instant at) implements Event {}

  public record NameReleased(String featureId, String name, String reason, Instant at) implements Event {}

  /** Live features by id, and the last id handed out (ids are never reused). */
  public record State(TreeMap<Long, String> namesById, long lastId) implements CborSerializable {
    @JsonCreator
    public State {
      namesById = namesById == null ? new TreeMap<>() : namesById;
    }

    boolean nameTaken(String name) {
      String key = name.toLowerCase(Locale.ROOT);
      return namesById.values().stream().anyMatch(n -> n.toLowerCase(Locale.ROOT).equals(key));
    }

    State apply(Event event) {
      var names = new TreeMap<>(namesById);
      if (event instanceof NameReserved r) {
        long id = Long.parseLong(r.featureId());
        names.put(id, r.name());
        return new State(names, Math.max(lastId, id));
      }
      names.remove(Long.parseLong(((NameReleased) event).featureId()));
      return new State(names, lastId);
    }
  }

  /** Why a feature name is not acceptable, or null. */
  public static Problem validateName(String name) {
    if (name == null || name.isBlank()) {
      return Problem.badRequest("invalid_name", "a feature needs a name (letters, digits, '_' and '-')");
    }
    if (name.length() > MAX_NAME) {
      return Problem.badRequest("invalid_name",
          "the name is " + name.length() + " characters long; at most " + MAX_NAME + " are allowed");
    }
    if (!NAME.matcher(name).matches()) {
      return Problem.badRequest("invalid_name", "the name '" + printable(name) + "' may hold only letters, digits, "
          + "'_' and '-', and must start with a letter (no slashes, dots, spaces or shell characters)");
    }
    return null;
  }

  /** A name as it may appear in an error message: control characters escaped, at most 80 characters. */
  static String printable(String s) {
    var b = new StringBuilder();
    s.codePoints().limit(80).forEach(c -> {
      if (c < 0x20 || c == 0x7f) {
        b.append(String.format("\\u%04x", c));
      } else {
        b.appendCodePoint(c);
      }
    });
    return s.length() > 80 ? b + "…" : b.toString();
  }

  public static Behavior<Command> create() {
    return new FeatureCatalog(PERSISTENCE_ID);
  }

  private FeatureCatalog(PersistenceId id) {
    super(id, SupervisorStrategy.restartWithBackoff(
        java.time.Duration.ofMillis(200), java.time.Duration.ofSeconds(5), 0.2));
  }

  @Override
  public State emptyState() {
    return new State(new TreeMap<>(), 0);
  }

  @Override
  public RetentionCriteria retentionCriteria() {
    return RetentionCriteria.snapshotEvery(100, 2).withDeleteEventsOnSnapshot();
  }

  @Override
  public Set<String> tagsFor(Event event) {
    return Set.of(TAG);
  }

  @Override
  public CommandHandler<Command, Event, State> commandHandler() {
    return newCommandHandlerBuilder().forAnyState()
        .onCommand(Reserve.class, this::onReserve)
        .onCommand(Release.class, this::onRelease)
        .onCommand(ListAll.class, (state, list) -> Effect().reply(list.replyTo(), new Reply(null,
            state.namesById().entrySet().stream().map(e -> new Entry(String.valueOf(e.getKey()), e.getValue()))
                .toList(), null)))
        .onCommand(Stop.class, (state, stop) -> Effect().stop())
        .build();
  }

  private Effect<Event, State> onReserve(State state, Reserve reserve) {
    Problem invalid = validateName(reserve.name());
    if (invalid != null) {
      return Effect().reply(reserve.replyTo(), new Reply(null, null, invalid));
    }
    if (state.nameTaken(reserve.name())) {
      String owner = state.namesById().entrySet().stream()
          .filter(e -> e.getValue().equalsIgnoreCase(reserve.name())).map(e -> String.valueOf(e.getKey()))
          .findFirst().orElse("?");
      return Effect().reply(reserve.replyTo(), new Reply(null, null, Problem.conflict("duplicate_name",
          "a feature named '" + reserve.name() + "' already exists (feature_id " + owner + "); pick another name or "
              + "delete that one first")));
    }
    String id = String.valueOf(state.lastId() + 1);
    return Effect().persist(new NameReserved(id, reserve.name(), reserve.requestedBy(), Instant.now()))
        .thenReply(reserve.replyTo(), s -> new Reply(id, null, null));
  }

  private Effect<Event, State> onRelease(State state, Release release) {
    long id;
    try {
      id = Long.parseLong(release.featureId());
    } catch (NumberFormatException e) {
      return Effect().reply(release.replyTo(), new Reply(release.featureId(), null, null));
    }
    String name = state.namesById().get(id);
    if (name == null) {
      return Effect().reply(release.replyTo(), new Reply(release.featureId(), null, null));
    }
    return Effect().persist(new NameReleased(release.featureId(), name, release.reason(), Instant.now()))
        .thenReply(release.replyTo(), s -> new Reply(release.featureId(), null, null));
  }

  @Override
  public EventHandler<State, Event> eventHandler() {
    return newEventHandlerBuilder().forAnyState().onAnyEvent(State::apply);
  }
}
