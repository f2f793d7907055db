package heyken.actors.services;

import heyken.actors.registry.ComponentRegistry;
import java.util.concurrent.Executor;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.actor.typed.Extension;
import org.apache.pekko.actor.typed.ExtensionId;

/**
 * What the dynamic services of one core use: the settings, the engine, the dispatcher its blocking calls run on, and
 * the Component Registry the services are announced in (set by the wiring once the registry exists).
 */
public final class ServiceRuntime implements Extension {

  public static final String DISPATCHER = "heyken-sandbox-dispatcher";

  private final ServiceSettings settings;
  private final ServiceEngine engine;
  private final Executor executor;
  private volatile ActorRef<ComponentRegistry.Command> registry;

  private ServiceRuntime(ActorSystem<?> system) {
    this.settings = ServiceSettings.from(system.settings().config());
    var docker = new DockerServiceEngine(settings.dockerHost(), settings.policy());
    this.engine = docker;
    this.executor = system.dispatchers().lookup(DispatcherSelector.fromConfig(DISPATCHER));
    system.getWhenTerminated().thenRun(() -> {
      try {
        docker.close();
      } catch (java.io.IOException ignored) {
        // the JVM's sockets go with it
      }
    });
  }

  public static ServiceRuntime get(ActorSystem<?> system) {
    return Id.INSTANCE.apply(system);
  }

  public ServiceSettings settings() {
    return settings;
  }

  public ServiceEngine engine() {
    return engine;
  }

  public Executor executor() {
    return executor;
  }

  public ActorRef<ComponentRegistry.Command> registry() {
    return registry;
  }

  public void useRegistry(ActorRef<ComponentRegistry.Command> registry) {
    this.registry = registry;
  }

  static final class Id extends ExtensionId<ServiceRuntime> {
    static final Id INSTANCE = new Id();

    @Override
    public ServiceRuntime createExtension(ActorSystem<?> system) {
      return new ServiceRuntime(system);
    }
  }
}
