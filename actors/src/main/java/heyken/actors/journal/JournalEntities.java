package heyken.actors.journal;

import heyken.actors.bot.ChatGateway;
import heyken.actors.bot.Conversation;
import heyken.actors.core.CoreManager;
import heyken.actors.core.DeploymentLedger;
import heyken.actors.core.ServiceLedger;
import heyken.actors.feature.Feature;
import heyken.actors.feature.FeatureAuthor;
import heyken.actors.feature.FeatureCatalog;
import heyken.actors.feature.PipelineRun;
import heyken.actors.gitlab.GitLabSync;
import heyken.actors.registry.ComponentRegistry;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Function;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.persistence.typed.PersistenceId;
import org.apache.pekko.persistence.typed.javadsl.CommandHandler;
import org.apache.pekko.persistence.typed.javadsl.EventHandler;
import org.apache.pekko.persistence.typed.javadsl.EventSourcedBehavior;

/**
 * Every event-sourced entity of Heyken (its persistence-id prefix, empty state, event interface and state class) and
 * a replayer that recovers one persistence id through the configured persistence plugin and folds the events with
 * the entity's own {@code State.apply}, never writing. The journal fixture test recovers the committed fixture with
 * it, and the upgrade's {@code check-journal} recovers the scratch copy of the journal with each jar's own code.
 */
public final class JournalEntities {

  private JournalEntities() {}

  /** One event-sourced entity: how its persistence ids start, its empty state, and its event and state types. */
  public record Entity(String name, String tag, Class<?> event, Class<?> state, Function<String, Object> empty) {

    /** The entity's own {@code State.apply(Event)}: the code that recovery runs. */
    public Object apply(Object state, Object event) {
      try {
        Method apply = this.state.getDeclaredMethod("apply", this.event);
        apply.setAccessible(true);
        return apply.invoke(state, event);
      } catch (InvocationTargetException e) {
        throw new IllegalStateException(name + ": applying " + event + " failed", e.getCause());
      } catch (ReflectiveOperationException e) {
        throw new IllegalStateException(name + ".State has no apply(" + this.event.getSimpleName() + ")", e);
      }
    }

    public Object fold(String entityId, List<?> events) {
      Object s = empty.apply(entityId);
      for (var e : events) {
        s = apply(s, e);
      }
      return s;
    }
  }

  public static final List<Entity> ENTITIES = List.of(
      new Entity("core-manager", CoreManager.TAG, CoreManager.Event.class, CoreManager.State.class,
          id -> new CoreManager.State(null, 0, null, null, null, null, 0, Map.of(), null, Map.of())),
      new Entity("core-deployments", CoreManager.TAG, DeploymentLedger.Event.class, DeploymentLedger.State.class,
          id -> new DeploymentLedger.State(Map.of(), false)),
      new Entity("core-services", CoreManager.TAG, ServiceLedger.Event.class, ServiceLedger.State.class,
          id -> new ServiceLedger.State(null, Map.of(), false)),
      new Entity("feature-catalog", FeatureCatalog.TAG, FeatureCatalog.Event.class, FeatureCatalog.State.class,
          id -> new FeatureCatalog.State(new TreeMap<>(), 0)),
      new Entity("component-registry", ComponentRegistry.TAG, ComponentRegistry.Event.class,
          ComponentRegistry.State.class, id -> new ComponentRegistry.State(Map.of())),
      new Entity("chat-gateway", ChatGateway.TAG, ChatGateway.Event.class, ChatGateway.State.class,
          id -> new ChatGateway.State(Map.of(), new LinkedHashMap<>())),
      new Entity("Feature", Feature.TAG, Feature.Event.class, Feature.State.class,
          id -> new Feature.State(id, null, null, null, List.of(), List.of(), null, List.of(), false)),
      new Entity("PipelineRun", PipelineRun.TAG, PipelineRun.Event.class, PipelineRun.State.class,
          id -> new PipelineRun.State(null, null, null, 0, null, List.of(), List.of(), List.of(), null, null, null,
              null, false, 0)),
      new Entity("FeatureAuthor", FeatureAuthor.TAG, FeatureAuthor.Event.class, FeatureAuthor.State.class,
          id -> new FeatureAuthor.State(null, null, null, null, 0, null, List.of(), null, null, null, false)),
      new Entity("Conversation", Conversation.TAG, Conversation.Event.class, Conversation.State.class,
          id -> new Conversation.State(List.of(), new LinkedHashMap<>(), null)),
      new Entity("GitLabSync", GitLabSync.TAG, GitLabSync.Event.class, GitLabSync.State.class,
          id -> new GitLabSync.State(null, List.of(), null, null)),
      new Entity("upgrade", heyken.actors.upgrade.Upgrade.TAG, heyken.actors.upgrade.Upgrade.Event.class,
          heyken.actors.upgrade.Upgrade.State.class, id -> new heyken.actors.upgrade.Upgrade.State(null, List.of())));

  /** The entity a persistence id belongs to: "Feature|12" → Feature, "core-manager" → core-manager. */
  public static Entity entityOf(String persistenceId) {
    int bar = persistenceId.indexOf('|');
    String name = bar < 0 ? persistenceId : persistenceId.substring(0, bar);
    for (var e : ENTITIES) {
      if (name.equals(e.name()) || name.startsWith(e.name() + "~")) {
        return e;
      }
    }
    throw new IllegalArgumentException("no entity for persistence id " + persistenceId);
  }

  /** Whether {@link #entityOf} knows the entity of {@code persistenceId}. */
  public static boolean known(String persistenceId) {
    try {
      entityOf(persistenceId);
      return true;
    } catch (IllegalArgumentException e) {
      return false;
    }
  }

  public static String entityId(String persistenceId) {
    int bar = persistenceId.indexOf('|');
    return bar < 0 ? persistenceId : persistenceId.substring(bar + 1);
  }

  /** The replayer's only command: answer the recovered state. */
  public record GetState(ActorRef<Object> replyTo) {}

  /**
   * Recovers {@code persistenceId} through the configured journal and snapshot plugins (the snapshot as the entity's
   * state class, the events as the entity's event classes) and folds the events with the entity's own apply. It
   * never writes.
   */
  public static Behavior<GetState> replayer(String persistenceId) {
    var entity = entityOf(persistenceId);
    return new Replayer(persistenceId, entity);
  }

  private static final class Replayer extends EventSourcedBehavior<GetState, Object, Object> {
    private final Entity entity;
    private final String entityId;

    Replayer(String persistenceId, Entity entity) {
      super(PersistenceId.ofUniqueId(persistenceId));
      this.entity = entity;
      this.entityId = entityId(persistenceId);
    }

    @Override
    public Object emptyState() {
      return entity.empty().apply(entityId);
    }

    @Override
    public CommandHandler<GetState, Object, Object> commandHandler() {
      return newCommandHandlerBuilder().forAnyState()
          .onCommand(GetState.class, (state, get) -> Effect().reply(get.replyTo(), state))
          .build();
    }

    @Override
    public EventHandler<Object, Object> eventHandler() {
      return newEventHandlerBuilder().forAnyState().onAnyEvent(entity::apply);
    }
  }
}
