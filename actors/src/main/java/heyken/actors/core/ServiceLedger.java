package heyken.actors.core;

import heyken.actors.core.CoreManager.ServiceAdded;
import heyken.actors.core.CoreManager.ServiceRemoved;
import heyken.actors.core.CoreManager.ServiceRestarted;
import heyken.actors.core.CoreManager.ServiceStarted;
import heyken.actors.core.CoreManager.ServiceStopped;
import heyken.actors.services.DesiredService;
import heyken.actors.services.ServiceAction;
import heyken.actors.services.ServiceReconciler;
import heyken.actors.services.ServiceSpec;
import heyken.actors.services.WantedServices;
import heyken.protocol.CborSerializable;
import heyken.protocol.api.Problem;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.apache.pekko.persistence.typed.PersistenceId;
import org.apache.pekko.persistence.typed.javadsl.CommandHandler;
import org.apache.pekko.persistence.typed.javadsl.Effect;
import org.apache.pekko.persistence.typed.javadsl.EventHandler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The dynamic services an admin wants, and the installation id their containers are labelled with. A singleton next
 * to the {@link CoreManager}: a change is made only by the active core, under its epoch, confirmed by
 * {@link FencedWrites} before it is persisted, and the active core's {@link ServiceReconciler} (a child of this
 * ledger while the core is active) keeps the engine at what is wanted. Its events are the CoreManager's
 * {@code Service*} events (same classes, same names in the audit); the services and installation id an older
 * CoreManager journal holds are imported once ({@link ServicesImported}).
 */
public final class ServiceLedger extends FencedLedger<ServiceLedger.Command, ServiceLedger.Event,
    ServiceLedger.State, ServiceLedger.ServiceOutcome> {

  public static final PersistenceId PERSISTENCE_ID = PersistenceId.ofUniqueId("core-services");
  private static final Logger log = LoggerFactory.getLogger(ServiceLedger.class);

  // ---------------------------------------------------------------- protocol

  public sealed interface Command extends CborSerializable {}

  /** The wanted dynamic services, the installation id their containers are labelled with, and the last errors. */
  public record GetServices(ActorRef<ServicesState> replyTo) implements Command {}

  /** Adds a service; refused (409) when one of that name exists or another service publishes the same host port. */
  public record AddService(ServiceSpec spec, String requestedBy, ActorRef<ServiceOutcome> replyTo)
      implements Command {}

  /**
   * {@code stop}, {@code start}, {@code restart} or {@code remove} a service ({@link ServiceAction#wire}; 404 when
   * there is none of that name). The action travels as its name, as it always did between the cores.
   */
  public record ChangeService(String name, String action, String requestedBy, ActorRef<ServiceOutcome> replyTo)
      implements Command {}

  /** Sent by the singleton manager on hand-over. */
  public enum Stop implements Command {
    INSTANCE
  }

  public record ServicesState(String installationId, Map<String, DesiredService> services,
      Map<String, String> errors) implements CborSerializable {}

  /**
   * Reply to a service change: the service as it is wanted now (null once removed), or why not ({@code refused}).
   *
   * <p>On the wire both shapes for one release: a core of this version sends {@code refused} and, for a core of the
   * previous version (which reads {@code problem} only, ignoring the unknown field), {@code problem} beside it; a
   * reader takes {@code refused} when present, else {@code problem} ({@link CoreApi#problem(ServiceOutcome)}).
   * Once every running core is of the release after issue 15's, {@code problem} can go.
   */
  public record ServiceOutcome(DesiredService service, Problem problem, CoreRefusal refused)
      implements CborSerializable {

    public static ServiceOutcome made(DesiredService service) {
      return new ServiceOutcome(service, null, null);
    }

    public static ServiceOutcome refused(CoreRefusal refused) {
      return new ServiceOutcome(null, CoreApi.problem(refused), refused);
    }
  }

  record ActivationChanged(long epoch) implements Command {}

  record LegacyRead(CoreManager.Legacy legacy, String error) implements Command {}

  enum RetryImport implements Command {
    INSTANCE
  }

  record WriteChecked(Event event, ActorRef<ServiceOutcome> replyTo, FencedWrites.Verdict verdict)
      implements Command {}

  record ServicesReconciled(Map<String, String> errors) implements Command {}

  // ---------------------------------------------------------------- events and state

  /** The ledger's events: the CoreManager's service events (kept where they are) and the import. */
  public sealed interface Event extends CborSerializable permits ServiceAdded, ServiceStopped, ServiceStarted,
      ServiceRestarted, ServiceRemoved, ServicesImported {}

  /** The installation id and services the CoreManager's own journal held before this ledger existed, taken over. */
  public record ServicesImported(String installationId, Map<String, DesiredService> services, Instant at)
      implements Event {}

  public record State(String installationId, Map<String, DesiredService> services, boolean imported)
      implements CborSerializable {

    public State {
      services = services == null ? Map.of() : Map.copyOf(services);
    }

    State apply(Event event) {
      if (event instanceof ServicesImported i) {
        return new State(i.installationId(), i.services(), true);
      }
      return new State(installationId, applyTo(services, event), imported);
    }

    /** The service other than {@code name} that publishes the same host port, as "service (port)", or null. */
    String portOwner(ServiceSpec spec) {
      for (var other : services.values()) {
        if (other.spec().name().equals(spec.name())) {
          continue;
        }
        for (var mine : spec.ports()) {
          for (var theirs : other.spec().ports()) {
            if (mine.hostPort() == theirs.hostPort() && mine.protocol().equals(theirs.protocol())) {
              return other.spec().name() + " (" + theirs.hostPort() + "/" + theirs.protocol() + ")";
            }
          }
        }
      }
      return null;
    }
  }

  /** The wanted services after a service event: the ledger's own, and the CoreManager's for its old journal. */
  static Map<String, DesiredService> applyTo(Map<String, DesiredService> services, Event event) {
    var next = new HashMap<>(services);
    if (event instanceof ServiceAdded added) {
      next.put(added.spec().name(), new DesiredService(added.spec(), true, added.at(), added.requestedBy()));
    } else if (event instanceof ServiceStopped stopped) {
      next.computeIfPresent(stopped.name(), (n, d) -> d.withRunning(false));
    } else if (event instanceof ServiceStarted started) {
      next.computeIfPresent(started.name(), (n, d) -> d.withRunning(true));
    } else if (event instanceof ServiceRestarted restarted) {
      next.computeIfPresent(restarted.name(), (n, d) -> d.withRunning(true));
    } else if (event instanceof ServiceRemoved removed) {
      next.remove(removed.name());
    }
    return next;
  }

  private static String serviceName(Event event) {
    if (event instanceof ServiceAdded a) {
      return a.spec().name();
    }
    if (event instanceof ServiceStopped e) {
      return e.name();
    }
    if (event instanceof ServiceStarted e) {
      return e.name();
    }
    if (event instanceof ServiceRestarted e) {
      return e.name();
    }
    if (event instanceof ServiceRemoved e) {
      return e.name();
    }
    return null;
  }

  /**
   * The ledger as the services facade asks it ({@link heyken.actors.services.ServiceApi} sees only
   * {@link WantedServices}): the asks go to {@code ledger}, wherever the singleton runs.
   */
  public static WantedServices wantedServices(ActorSystem<?> system, ActorRef<Command> ledger) {
    Duration askTimeout = heyken.actors.ClusterSettings.from(system.settings().config()).askTimeout();
    return new WantedServices() {
      @Override
      public CompletionStage<Wanted> wanted() {
        return AskPattern.ask(ledger, GetServices::new, askTimeout, system.scheduler())
            .thenApply(s -> new Wanted(s.installationId(), s.services(), s.errors()));
      }

      @Override
      public CompletionStage<Change> add(ServiceSpec spec, String requestedBy) {
        return AskPattern.<Command, ServiceOutcome>ask(ledger, reply -> new AddService(spec, requestedBy, reply),
            askTimeout, system.scheduler()).thenApply(o -> new Change(o.service(), CoreApi.problem(o)));
      }

      @Override
      public CompletionStage<Change> change(String name, ServiceAction action, String requestedBy) {
        return AskPattern.<Command, ServiceOutcome>ask(ledger,
            reply -> new ChangeService(name, action.wire(), requestedBy, reply), askTimeout, system.scheduler())
            .thenApply(o -> new Change(o.service(), CoreApi.problem(o)));
      }
    };
  }

  // ---------------------------------------------------------------- behaviour

  /** {@code services} null runs no reconciler (tests of other rules). */
  public static Behavior<Command> create(CoreNode node, FencedWrites writes, ActorRef<CoreManager.Command> coreManager,
      ServiceReconciler.Wiring services) {
    return create(node, writes, coreManager, services, PERSISTENCE_ID);
  }

  static Behavior<Command> create(CoreNode node, FencedWrites writes, ActorRef<CoreManager.Command> coreManager,
      ServiceReconciler.Wiring services, PersistenceId persistenceId) {
    return Behaviors.setup(context -> Behaviors.withTimers(timers ->
        new ServiceLedger(context, timers, node, writes, coreManager, services, persistenceId)));
  }

  private final ServiceReconciler.Wiring services;
  // not state: the reconciler while active, and what it reported last
  private ActorRef<ServiceReconciler.Command> reconciler;
  private long reconcilerEpoch;
  private Map<String, String> errors = Map.of();

  private static final Steps<Command, Event, State, ServiceOutcome> STEPS = new Steps<>(ActivationChanged::new,
      LegacyRead::new, RetryImport.INSTANCE, WriteChecked::new, State::imported);

  private ServiceLedger(ActorContext<Command> context, TimerScheduler<Command> timers, CoreNode node,
      FencedWrites writes, ActorRef<CoreManager.Command> coreManager, ServiceReconciler.Wiring services,
      PersistenceId persistenceId) {
    super(persistenceId, context, timers, node, writes, coreManager, STEPS, "service");
    this.services = services;
  }

  @Override
  public State emptyState() {
    return new State(null, Map.of(), false);
  }

  @Override
  public CommandHandler<Command, Event, State> commandHandler() {
    var builder = newCommandHandlerBuilder();
    builder.forState(state -> !state.imported())
        .onCommand(LegacyRead.class, this::onLegacyRead)
        .onCommand(ActivationChanged.class, (state, changed) -> {
          activation.changed(changed.epoch());
          return Effect().none();
        })
        .onCommand(RetryImport.class, (state, retry) -> {
          readLegacy();
          return Effect().none();
        });
    builder.forState(state -> state.imported() && activation.active())
        .onCommand(AddService.class, this::onAdd)
        .onCommand(ChangeService.class, this::onChange)
        .onCommand(WriteChecked.class, this::onWriteChecked);
    builder.forState(state -> state.imported() && activation.activating())
        .onCommand(AddService.class, (state, c) -> Effect().stash())
        .onCommand(ChangeService.class, (state, c) -> Effect().stash());
    builder.forState(State::imported)
        .onCommand(AddService.class, (state, c) -> Effect().reply(c.replyTo(), refused()))
        .onCommand(ChangeService.class, (state, c) -> Effect().reply(c.replyTo(), refused()))
        .onCommand(WriteChecked.class, (state, c) -> Effect().reply(c.replyTo(),
            c.verdict().allowed() ? refused() : ServiceOutcome.refused(c.verdict().refused())))
        .onCommand(GetServices.class, (state, get) -> Effect().reply(get.replyTo(),
            new ServicesState(state.installationId(), state.services(), errors)))
        .onCommand(ActivationChanged.class, this::onActivationChanged)
        .onCommand(LegacyRead.class, (state, late) -> Effect().none())
        .onCommand(RetryImport.class, (state, late) -> Effect().none());
    builder.forAnyState()
        .onCommand(ServicesReconciled.class, (state, r) -> {
          errors = Map.copyOf(r.errors());
          return Effect().none();
        })
        .onCommand(Stop.class, (state, stop) -> Effect().stop())
        .onAnyCommand(() -> Effect().stash());
    return builder.build();
  }

  private Effect<Event, State> onLegacyRead(State state, LegacyRead read) {
    if (read.legacy() == null) {
      retryImportLater(read.error());
      return Effect().none();
    }
    var imported = new ServicesImported(read.legacy().installationId(), read.legacy().services(), Instant.now());
    return Effect().persist(imported)
        .thenRun(s -> {
          log.info("services taken over from the CoreManager's journal: {} (installation {})", s.services().keySet(),
              s.installationId());
          followActivation(s);
        })
        .thenUnstashAll();
  }

  private Effect<Event, State> onActivationChanged(State state, ActivationChanged changed) {
    activation.changed(changed.epoch());
    followActivation(state);
    return Effect().unstashAll();
  }

  /** The reconciler runs while this core is active, under its epoch, and nowhere else. */
  private void followActivation(State state) {
    if (reconciler != null && (!activation.active() || reconcilerEpoch != activation.epoch())) {
      context.stop(reconciler);
      reconciler = null;
    }
    if (services == null || reconciler != null || !activation.active()) {
      return;
    }
    var self = context.getSelf();
    reconcilerEpoch = activation.epoch();
    reconciler = context.spawn(ServiceReconciler.create(services, reconcilerEpoch,
        report -> self.tell(new ServicesReconciled(report.errors()))), "service-reconciler-" + reconcilerEpoch);
    reconciler.tell(new ServiceReconciler.Desired(state.installationId(), state.services()));
  }

  private ServiceOutcome refused() {
    return ServiceOutcome.refused(activation.notActive());
  }

  private Effect<Event, State> onAdd(State state, AddService add) {
    String name = add.spec().name();
    CoreRefusal refusal = null;
    if (state.services().containsKey(name)) {
      refusal = CoreRefusal.service(CoreRefusal.Kind.SERVICE_EXISTS, name, state.services().get(name).spec().image(),
          null, null);
    }
    String portOwner = refusal == null ? state.portOwner(add.spec()) : null;
    if (portOwner != null) {
      refusal = CoreRefusal.service(CoreRefusal.Kind.PORT_IN_USE, name, add.spec().image(), portOwner, null);
    }
    if (refusal != null) {
      return Effect().reply(add.replyTo(), ServiceOutcome.refused(refusal));
    }
    return fenced(new ServiceAdded(add.spec(), add.requestedBy(), activation.epoch(), Instant.now()),
        add.replyTo());
  }

  private Effect<Event, State> onChange(State state, ChangeService change) {
    var current = state.services().get(change.name());
    if (current == null) {
      return Effect().reply(change.replyTo(), ServiceOutcome.refused(
          CoreRefusal.service(CoreRefusal.Kind.UNKNOWN_SERVICE, change.name(), null, null, change.action())));
    }
    Instant now = Instant.now();
    String by = change.requestedBy();
    long epoch = activation.epoch();
    var action = ServiceAction.of(change.action()).orElse(null);
    if (action == null) {
      return Effect().reply(change.replyTo(), ServiceOutcome.refused(CoreRefusal.service(
          CoreRefusal.Kind.INVALID_ACTION, change.name(), current.spec().image(), null, change.action())));
    }
    boolean noChange = action == ServiceAction.STOP && !current.running()
        || action == ServiceAction.START && current.running();
    if (noChange) {
      return Effect().reply(change.replyTo(), ServiceOutcome.made(current));
    }
    Event event = switch (action) {
      case STOP -> new ServiceStopped(change.name(), by, epoch, now);
      case START -> new ServiceStarted(change.name(), by, epoch, now);
      case RESTART -> new ServiceRestarted(change.name(), by, epoch, now);
      case REMOVE -> new ServiceRemoved(change.name(), by, epoch, now);
    };
    return fenced(event, change.replyTo());
  }

  /** Like a deployment change: the fence confirms the epoch first; its verdict comes back as {@link WriteChecked}. */
  private Effect<Event, State> fenced(Event event, ActorRef<ServiceOutcome> replyTo) {
    fencedWrite(event, replyTo);
    return Effect().none();
  }

  private Effect<Event, State> onWriteChecked(State state, WriteChecked checked) {
    var verdict = checked.verdict();
    if (refusedBy(verdict)) {
      return Effect().reply(checked.replyTo(), ServiceOutcome.refused(verdict.refused()));
    }
    // checked again: a second add of the same name may have passed the fence check meanwhile
    if (checked.event() instanceof ServiceAdded added && state.services().containsKey(added.spec().name())) {
      return onAdd(state, new AddService(added.spec(), added.requestedBy(), checked.replyTo()));
    }
    String name = serviceName(checked.event());
    if (!(checked.event() instanceof ServiceAdded) && !state.services().containsKey(name)) {
      return onChange(state, new ChangeService(name, ServiceAction.STOP.wire(), null, checked.replyTo()));
    }
    long epoch = activation.epoch();
    return Effect().persist(checked.event()).thenRun(s -> {
      log.info("service change under epoch {}: {}", epoch, checked.event());
      if (reconciler != null) {
        reconciler.tell(new ServiceReconciler.Desired(s.installationId(), s.services()));
        if (checked.event() instanceof ServiceRestarted r) {
          reconciler.tell(new ServiceReconciler.RestartNow(r.name()));
        }
      }
    }).thenReply(checked.replyTo(), s -> ServiceOutcome.made(s.services().get(name)));
  }

  @Override
  public EventHandler<State, Event> eventHandler() {
    return newEventHandlerBuilder().forAnyState().onAnyEvent(State::apply);
  }
}
