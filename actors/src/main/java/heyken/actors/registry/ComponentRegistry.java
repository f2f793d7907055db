package heyken.actors.registry;

import com.fasterxml.jackson.annotation.JsonCreator;
import heyken.actors.core.CoreNode;
import heyken.actors.core.EpochFence;
import heyken.actors.store.MongoStore;
import heyken.protocol.CborSerializable;
import heyken.protocol.api.ComponentRegistration;
import heyken.protocol.api.Problem;
import heyken.protocol.api.RegisteredComponent;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.regex.Pattern;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.SupervisorStrategy;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.persistence.typed.PersistenceId;
import org.apache.pekko.persistence.typed.javadsl.CommandHandler;
import org.apache.pekko.persistence.typed.javadsl.Effect;
import org.apache.pekko.persistence.typed.javadsl.EventHandler;
import org.apache.pekko.persistence.typed.javadsl.EventSourcedBehavior;
import org.apache.pekko.persistence.typed.javadsl.RetentionCriteria;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Component Registry (:5002): which components exist, where, and whether their health URL answers.
 * Registrations are events (a cluster singleton on the active core, fenced by its epoch); health is
 * observed, not persisted: the active core checks every health URL periodically.
 */
public final class ComponentRegistry
    extends EventSourcedBehavior<ComponentRegistry.Command, ComponentRegistry.Event, ComponentRegistry.State> {

  public static final PersistenceId PERSISTENCE_ID = PersistenceId.ofUniqueId("component-registry");
  public static final String TAG = "registry";
  private static final Logger log = LoggerFactory.getLogger(ComponentRegistry.class);
  private static final Pattern NAME = Pattern.compile("[a-z0-9][a-z0-9._-]{0,62}");
  static final int MAX_URL = 2048;
  static final int MAX_VERSION = 64;

  // ---------------------------------------------------------------- protocol

  public sealed interface Command extends CborSerializable {}

  public record Register(ComponentRegistration registration, String requestedBy, ActorRef<Reply> replyTo)
      implements Command {}

  public record Deregister(String name, String requestedBy, ActorRef<Reply> replyTo) implements Command {}

  public record Get(String name, ActorRef<Reply> replyTo) implements Command {}

  public record ListAll(ActorRef<Reply> replyTo) implements Command {}

  public enum Stop implements Command {
    INSTANCE
  }

  enum CheckHealth implements Command {
    INSTANCE
  }

  record HealthChecked(Map<String, Health> results) implements Command {}

  record WriteChecked(Event event, ActorRef<Reply> replyTo, Refusal refused) implements Command {}

  /**
   * One reply type: a component, a listing, or why not ({@code refused}).
   *
   * <p>On the wire both shapes for one release (the routes of one core ask the registry on the other, and during a
   * self-upgrade they run different versions): this version sends {@code refused} and, for a core of the previous
   * version (which reads {@code problem} only, ignoring the unknown field), {@code problem} beside it; a reader takes
   * {@code refused} when present, else {@code problem} ({@link RegistryApi#problem(Reply)}). Once every running core
   * is of the release after issue 15's, {@code problem} can go.
   */
  public record Reply(RegisteredComponent component, List<RegisteredComponent> components, Problem problem,
      Refusal refused) implements CborSerializable {

    static Reply of(RegisteredComponent component) {
      return new Reply(component, null, null, null);
    }

    static Reply listing(List<RegisteredComponent> components) {
      return new Reply(null, components, null, null);
    }

    static Reply refusing(Refusal refused) {
      return new Reply(null, null, RegistryApi.problem(refused), refused);
    }
  }

  /**
   * Why the registry refused, in its own terms: the kind and the facts ({@code field} the URL field concerned,
   * {@code reason} why the URL does not parse, the fence's or the store's message, {@code name} the component,
   * {@code core} this core). {@link RegistryApi#problem(Refusal)} turns it into the API's error.
   */
  public record Refusal(Kind kind, String name, String field, String reason, int core) implements CborSerializable {

    public enum Kind {
      NO_REGISTRATION, NAME_REQUIRED, NAME_MALFORMED, URL_REQUIRED, URL_TOO_LONG, URL_NOT_ABSOLUTE, URL_MALFORMED,
      VERSION_MALFORMED, UNKNOWN_COMPONENT, NO_ACTIVE_CORE, NOT_ACTIVE, STORE_UNAVAILABLE
    }

    static Refusal of(Kind kind) {
      return new Refusal(kind, null, null, null, 0);
    }

    static Refusal url(Kind kind, String field, String reason) {
      return new Refusal(kind, null, field, reason, 0);
    }
  }

  public sealed interface Event extends CborSerializable {}

  public record ComponentRegistered(
      String name, String url, String healthUrl, String version, String registeredBy, long epoch, Instant at)
      implements Event {}

  public record ComponentDeregistered(String name, String deregisteredBy, long epoch, Instant at)
      implements Event {}

  public record Health(String status, String detail, Instant checkedAt) implements CborSerializable {}

  public record State(Map<String, ComponentRegistered> components) implements CborSerializable {
    @JsonCreator
    public State {
      components = new TreeMap<>(components);
    }

    State apply(Event event) {
      var next = new TreeMap<>(components);
      if (event instanceof ComponentRegistered r) {
        next.put(r.name(), r);
      } else {
        next.remove(((ComponentDeregistered) event).name());
      }
      return new State(next);
    }
  }

  // ---------------------------------------------------------------- validation (shared with the routes)

  /** Null when the registration is acceptable, else why not (a 400: {@link RegistryApi#problem(Refusal)}). */
  public static Refusal validate(ComponentRegistration r) {
    if (r == null) {
      return Refusal.of(Refusal.Kind.NO_REGISTRATION);
    }
    Refusal name = validateName(r.name());
    if (name != null) {
      return name;
    }
    Refusal url = validateUrl("url", r.url(), true);
    if (url != null) {
      return url;
    }
    Refusal health = validateUrl("health_url", r.healthUrl(), false);
    if (health != null) {
      return health;
    }
    if (r.version() != null && (r.version().length() > MAX_VERSION || r.version().chars().anyMatch(Character::isISOControl))) {
      return Refusal.of(Refusal.Kind.VERSION_MALFORMED);
    }
    return null;
  }

  public static Refusal validateName(String name) {
    if (name == null || name.isEmpty()) {
      return Refusal.of(Refusal.Kind.NAME_REQUIRED);
    }
    if (!NAME.matcher(name).matches()) {
      return Refusal.of(Refusal.Kind.NAME_MALFORMED);
    }
    return null;
  }

  private static Refusal validateUrl(String field, String value, boolean required) {
    if (value == null || value.isEmpty()) {
      return required ? Refusal.url(Refusal.Kind.URL_REQUIRED, field, null) : null;
    }
    if (value.length() > MAX_URL) {
      return Refusal.url(Refusal.Kind.URL_TOO_LONG, field, null);
    }
    try {
      URI uri = new URI(value);
      String scheme = uri.getScheme();
      if (scheme == null || !Set.of("http", "https", "mongodb", "tcp").contains(scheme) || uri.getHost() == null) {
        return Refusal.url(Refusal.Kind.URL_NOT_ABSOLUTE, field, null);
      }
    } catch (java.net.URISyntaxException e) {
      return Refusal.url(Refusal.Kind.URL_MALFORMED, field, e.getReason());
    }
    return null;
  }

  // ---------------------------------------------------------------- behaviour

  public static Behavior<Command> create(CoreNode node, RegistrySettings settings) {
    return Behaviors.setup(context -> Behaviors.withTimers(timers -> {
      timers.startTimerWithFixedDelay(CheckHealth.INSTANCE, settings.healthCheckInterval());
      return new ComponentRegistry(context, node, settings.healthCheckTimeout());
    }));
  }

  private final ActorContext<Command> context;
  private final CoreNode node;
  private final MongoStore store;
  private final EpochFence fence;
  private final Duration checkTimeout;
  private final HttpClient http;
  private final Map<String, Health> health = new TreeMap<>();
  private boolean checking;

  private ComponentRegistry(ActorContext<Command> context, CoreNode node, Duration checkTimeout) {
    super(
        PERSISTENCE_ID,
        SupervisorStrategy.restartWithBackoff(Duration.ofMillis(200), Duration.ofSeconds(5), 0.2));
    this.context = context;
    this.node = node;
    this.store = MongoStore.get(context.getSystem());
    this.fence = new EpochFence(store.database());
    this.checkTimeout = checkTimeout;
    this.http =
        HttpClient.newBuilder().connectTimeout(checkTimeout).executor(store.blockingExecutor()).build();
  }

  @Override
  public State emptyState() {
    return new State(Map.of());
  }

  @Override
  public RetentionCriteria retentionCriteria() {
    return RetentionCriteria.snapshotEvery(200, 2).withDeleteEventsOnSnapshot();
  }

  @Override
  public Set<String> tagsFor(Event event) {
    return Set.of(TAG);
  }

  @Override
  public CommandHandler<Command, Event, State> commandHandler() {
    return newCommandHandlerBuilder()
        .forAnyState()
        .onCommand(Register.class, this::onRegister)
        .onCommand(Deregister.class, this::onDeregister)
        .onCommand(WriteChecked.class, this::onWriteChecked)
        .onCommand(Get.class, (state, get) -> {
          var c = state.components().get(get.name());
          return Effect().reply(get.replyTo(), c == null
              ? Reply.refusing(unknown(get.name()))
              : Reply.of(view(c)));
        })
        .onCommand(ListAll.class, (state, list) -> Effect().reply(list.replyTo(),
            Reply.listing(state.components().values().stream().map(this::view).toList())))
        .onCommand(CheckHealth.INSTANCE.getClass(), (state, tick) -> onCheckHealth(state))
        .onCommand(HealthChecked.class, (state, done) -> {
          checking = false;
          health.putAll(done.results());
          health.keySet().retainAll(state.components().keySet());
          return Effect().none();
        })
        .onCommand(Stop.INSTANCE.getClass(), (state, stop) -> Effect().stop())
        .build();
  }

  private static Refusal unknown(String name) {
    return new Refusal(Refusal.Kind.UNKNOWN_COMPONENT, name, null, null, 0);
  }

  private Effect<Event, State> onRegister(State state, Register cmd) {
    Refusal invalid = validate(cmd.registration());
    if (invalid != null) {
      return Effect().reply(cmd.replyTo(), Reply.refusing(invalid));
    }
    var r = cmd.registration();
    var existing = state.components().get(r.name());
    if (existing != null
        && existing.url().equals(r.url())
        && java.util.Objects.equals(existing.healthUrl(), emptyToNull(r.healthUrl()))
        && java.util.Objects.equals(existing.version(), emptyToNull(r.version()))) {
      return Effect().reply(cmd.replyTo(), Reply.of(view(existing))); // nothing changed
    }
    var event = new ComponentRegistered(
        r.name(), r.url(), emptyToNull(r.healthUrl()), emptyToNull(r.version()), cmd.requestedBy(),
        node.activeEpoch(), Instant.now());
    return fencedWrite(event, cmd.replyTo());
  }

  private Effect<Event, State> onDeregister(State state, Deregister cmd) {
    if (!state.components().containsKey(cmd.name())) {
      return Effect().reply(cmd.replyTo(), Reply.refusing(unknown(cmd.name())));
    }
    return fencedWrite(
        new ComponentDeregistered(cmd.name(), cmd.requestedBy(), node.activeEpoch(), Instant.now()),
        cmd.replyTo());
  }

  /** Persists only after the store confirmed this core's epoch is still the newest. */
  private Effect<Event, State> fencedWrite(Event event, ActorRef<Reply> replyTo) {
    long epoch = node.activeEpoch();
    if (epoch == 0) {
      return Effect().reply(replyTo, Reply.refusing(new Refusal(Refusal.Kind.NO_ACTIVE_CORE, null, null, null,
          node.coreId())));
    }
    context.pipeToSelf(store.async(db -> {
      fence.check(epoch);
      return epoch;
    }), (ok, error) -> {
      Throwable cause = error instanceof CompletionException ? error.getCause() : error;
      if (cause == null) {
        return new WriteChecked(event, replyTo, null);
      }
      if (cause instanceof EpochFence.StaleEpochException) {
        return new WriteChecked(event, replyTo, Refusal.url(Refusal.Kind.NOT_ACTIVE, null, cause.getMessage()));
      }
      return new WriteChecked(event, replyTo, Refusal.url(Refusal.Kind.STORE_UNAVAILABLE, null, cause.getMessage()));
    });
    return Effect().none();
  }

  private Effect<Event, State> onWriteChecked(State state, WriteChecked checked) {
    if (checked.refused() != null) {
      var reply = Reply.refusing(checked.refused());
      log.warn("registry write refused: {}", reply.problem().detail());
      return Effect().reply(checked.replyTo(), reply);
    }
    return Effect().persist(checked.event()).thenRun(newState -> {
      if (checked.event() instanceof ComponentRegistered r) {
        log.info("component registered: name={} url={} by={}", r.name(), r.url(), r.registeredBy());
        checked.replyTo().tell(Reply.of(view(r)));
      } else {
        var d = (ComponentDeregistered) checked.event();
        log.info("component deregistered: name={} by={}", d.name(), d.deregisteredBy());
        health.remove(d.name());
        checked.replyTo().tell(Reply.of(null));
      }
    });
  }

  private RegisteredComponent view(ComponentRegistered r) {
    Health h = health.get(r.name());
    String status = r.healthUrl() == null ? "unchecked" : h == null ? "pending" : h.status();
    String detail = r.healthUrl() == null ? "no health_url registered" : h == null ? "not checked yet" : h.detail();
    return new RegisteredComponent(
        r.name(), r.url(), r.healthUrl(), r.version(), r.at().toString(), r.registeredBy(), status, detail,
        h == null ? null : h.checkedAt().toString());
  }

  private static String emptyToNull(String s) {
    return s == null || s.isEmpty() ? null : s;
  }

  // ---------------------------------------------------------------- health checks

  private Effect<Event, State> onCheckHealth(State state) {
    if (checking || !node.isActive()) {
      return Effect().none();
    }
    var targets = new TreeMap<String, String>();
    state.components().values().forEach(c -> {
      if (c.healthUrl() != null) {
        targets.put(c.name(), c.healthUrl());
      }
    });
    if (targets.isEmpty()) {
      return Effect().none();
    }
    checking = true;
    var checks = new ArrayList<CompletableFuture<Map.Entry<String, Health>>>();
    targets.forEach((name, url) -> checks.add(check(url).thenApply(h -> Map.entry(name, h))));
    var all = CompletableFuture.allOf(checks.toArray(CompletableFuture[]::new)).thenApply(v -> {
      var results = new TreeMap<String, Health>();
      checks.forEach(c -> results.put(c.join().getKey(), c.join().getValue()));
      return results;
    });
    context.pipeToSelf(all, (results, error) -> new HealthChecked(results == null ? Map.of() : results));
    return Effect().none();
  }

  private CompletableFuture<Health> check(String url) {
    URI uri = URI.create(url);
    if (uri.getScheme().startsWith("http")) {
      var request = HttpRequest.newBuilder(uri).timeout(checkTimeout).GET().build();
      return http.sendAsync(request, HttpResponse.BodyHandlers.discarding())
          .handle((response, error) -> {
            if (error != null) {
              Throwable cause = error instanceof CompletionException ? error.getCause() : error;
              return new Health("down", "GET " + url + " failed: " + describe(cause), Instant.now());
            }
            int code = response.statusCode();
            return code < 400
                ? new Health("up", "GET " + url + " answered " + code, Instant.now())
                : new Health("down", "GET " + url + " answered " + code, Instant.now());
          });
    }
    // mongodb:// and tcp://: the port must accept a connection
    return CompletableFuture.supplyAsync(() -> {
      int port = uri.getPort() > 0 ? uri.getPort() : 27017;
      try (var socket = new Socket()) {
        socket.connect(new InetSocketAddress(uri.getHost(), port), (int) checkTimeout.toMillis());
        return new Health("up", uri.getHost() + ":" + port + " accepts connections", Instant.now());
      } catch (java.io.IOException e) {
        return new Health("down", uri.getHost() + ":" + port + " does not accept connections: " + describe(e),
            Instant.now());
      }
    }, store.blockingExecutor());
  }

  private static String describe(Throwable t) {
    String message = t.getMessage();
    return t.getClass().getSimpleName() + (message == null ? "" : ": " + message);
  }

  @Override
  public EventHandler<State, Event> eventHandler() {
    return newEventHandlerBuilder().forAnyState().onAnyEvent(State::apply);
  }
}
