package heyken.cores;

import heyken.actors.audit.AuditTrail;
import heyken.actors.bot.ChatGateway;
import heyken.actors.bot.ChatSettings;
import heyken.actors.bot.Conversation;
import heyken.actors.bot.SystemBotActions;
import heyken.actors.llm.OllamaModel;
import heyken.actors.core.CoreManager;
import heyken.actors.core.CoreNode;
import heyken.actors.feature.Feature;
import heyken.actors.feature.FeatureCatalog;
import heyken.actors.feature.FeatureService;
import heyken.actors.feature.PipelineRun;
import heyken.actors.feature.SandboxRuntime;
import heyken.actors.logs.LogRetention;
import heyken.actors.logs.LogSettings;
import heyken.actors.logs.LogShipper;
import heyken.actors.logs.LogStore;
import heyken.actors.monitor.ComponentProbes;
import heyken.actors.monitor.CoreInfo;
import heyken.actors.monitor.StatusService;
import heyken.actors.registry.ComponentRegistry;
import heyken.actors.registry.SelfRegistration;
import heyken.actors.store.JournalWarmup;
import heyken.actors.store.MongoStore;
import heyken.http.AuditRoutes;
import heyken.http.ChatRoutes;
import heyken.http.Auth;
import heyken.http.LoggerRoutes;
import heyken.http.MonitorRoutes;
import heyken.http.PortBinder;
import heyken.http.RegistryRoutes;
import heyken.http.SandboxRoutes;
import heyken.protocol.api.ComponentRegistration;
import java.time.Duration;
import java.util.List;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.typed.ClusterSingleton;
import org.apache.pekko.cluster.typed.SingletonActor;
import org.apache.pekko.management.javadsl.PekkoManagement;

/** Wires one core: singletons, per-core actors, HTTP ports and cluster management. No logic lives here. */
public final class Guardian {

  private Guardian() {}

  public static Behavior<Void> create(CoreNode node, String version) {
    return Behaviors.setup(context -> {
      var system = context.getSystem();
      var config = system.settings().config();
      var store = MongoStore.get(system);
      var auth = Auth.from(config);

      context.spawn(LogShipper.create(), "log-shipper");
      context.spawn(JournalWarmup.create(node.coreId()), "journal-warmup");
      context.spawn(CoreInfo.create(node), "core-info");

      var singletons = ClusterSingleton.get(system);
      var coreManager = singletons.init(
          SingletonActor.of(CoreManager.create(node), "CoreManager").withStopMessage(CoreManager.Stop.INSTANCE));
      var registry = singletons.init(
          SingletonActor.of(ComponentRegistry.create(node), "ComponentRegistry")
              .withStopMessage(ComponentRegistry.Stop.INSTANCE));
      var catalog = singletons.init(
          SingletonActor.of(FeatureCatalog.create(), "FeatureCatalog").withStopMessage(FeatureCatalog.Stop.INSTANCE));
      Feature.init(system, coreManager);
      PipelineRun.init(system);
      var sandbox = SandboxRuntime.get(system);
      sandbox.blocking(() -> {
        sandbox.removeOrphans();
        return null;
      });
      var features = new FeatureService(system, catalog, coreManager, node);
      var model = OllamaModel.create(config);
      system.getWhenTerminated().thenRun(model::close);

      var probes = new ComponentProbes(store, config, sandbox.backend(), model);
      var status = new StatusService(system, node, coreManager, probes);
      var logs = new LogStore(store, LogSettings.from(config));
      context.spawn(LogRetention.create(logs, node::isActive), "log-retention");
      var bot = config.getConfig("heyken.bot");
      var chat = ChatSettings.from(config);
      if (chat.enabled()) {
        var admins = java.util.Arrays.stream(bot.getString("admins").split(",")).map(String::trim)
            .filter(a -> !a.isEmpty()).collect(java.util.stream.Collectors.toSet());
        singletons.init(SingletonActor.of(ChatGateway.create(new ChatGateway.Wiring(chat, admins,
                bot.getDuration("answer-timeout"), store.blockingExecutor(), coreManager)), "ChatGateway")
            .withStopMessage(ChatGateway.Stop.INSTANCE));
      }
      Conversation.init(system, new SystemBotActions(system, features, status, logs, coreManager, registry, model,
              model.settings().model(), store.blockingExecutor()),
          bot.getDuration("confirmation-ttl"), bot.getString("username"));
      var http = config.getConfig("heyken.http");
      var apis = List.of(
          new PortBinder.Api("Component Registry", http.getInt("registry-port"),
              new RegistryRoutes(system, registry, auth).route()),
          new PortBinder.Api("Sandbox Manager", http.getInt("sandbox-port"), new SandboxRoutes(node, auth, features).route()),
          new PortBinder.Api("Logger API", http.getInt("logger-port"),
              new LoggerRoutes(logs, auth, config.getInt("heyken.logs.max-query-limit"),
                  new AuditRoutes(new AuditTrail(system))).route()),
          new PortBinder.Api("System Monitor", http.getInt("monitor-port"),
              new MonitorRoutes(system, status, coreManager, auth,
                  new ChatRoutes(system, bot.getDuration("answer-timeout"))).route()));
      String host = config.getString("heyken.bind-host");
      var binder = context.spawn(PortBinder.create(host, node.coreId(), http.getInt("inspection-port-offset"), apis,
          http.getDuration("rebind-interval")), "http");
      node.onActivationChange(epoch -> binder.tell(new PortBinder.ActivationChanged(epoch)));

      PekkoManagement.get(system.classicSystem()).start();

      int id = node.coreId();
      int monitor = http.getInt("monitor-port") + http.getInt("inspection-port-offset") * id;
      int management = config.getInt("heyken.management.core-" + id + ".port");
      var registrations = List.of(
          new ComponentRegistration("core-" + id, "http://" + host + ":" + monitor,
              "http://" + host + ":" + management + "/ready", version),
          new ComponentRegistration("store", store.redactedUri(),
              store.redactedUri().replaceFirst("/[^/]*$", ""), null));
      context.spawn(SelfRegistration.create(registry, registrations, Duration.ofSeconds(2)), "self-registration");
      return Behaviors.empty();
    });
  }
}
