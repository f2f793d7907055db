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
import heyken.actors.logs.LogsToChat;
import heyken.actors.logs.LogStore;
import heyken.actors.logs.question.LogQuestions;
import heyken.actors.logs.question.QuestionSettings;
import heyken.actors.monitor.ComponentProbes;
import heyken.actors.metrics.MetricsHistory;
import heyken.actors.monitor.CoreInfo;
import heyken.actors.monitor.EpochHistory;
import heyken.actors.monitor.StatusService;
import heyken.actors.registry.ComponentRegistry;
import heyken.actors.registry.SelfRegistration;
import heyken.actors.services.ServiceApi;
import heyken.actors.services.ServiceRuntime;
import heyken.actors.store.JournalWarmup;
import heyken.actors.store.MongoStore;
import heyken.http.AuditRoutes;
import heyken.http.ChatRoutes;
import heyken.http.Auth;
import heyken.http.LoggerRoutes;
import heyken.http.LogQuestionRoutes;
import heyken.http.MonitorEvents;
import heyken.http.MetricsHistoryRoutes;
import heyken.http.MonitorRoutes;
import heyken.http.MonitorSources;
import heyken.http.PortBinder;
import heyken.http.RegistryRoutes;
import heyken.http.SandboxRoutes;
import heyken.http.ServiceRoutes;
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
      ServiceRuntime.get(system).useRegistry(registry);
      var catalog = singletons.init(
          SingletonActor.of(FeatureCatalog.create(), "FeatureCatalog").withStopMessage(FeatureCatalog.Stop.INSTANCE));
      Feature.init(system, coreManager);
      PipelineRun.init(system);
      var gitlab = heyken.actors.gitlab.GitLabSettings.from(config);
      if (gitlab.enabled()) {
        heyken.actors.gitlab.GitLabSync.init(system, gitlab);
      }
      var sandbox = SandboxRuntime.get(system);
      sandbox.blocking(() -> {
        sandbox.removeOrphans();
        return null;
      });
      var features = new FeatureService(system, catalog, coreManager, node);
      var model = OllamaModel.create(config);
      system.getWhenTerminated().thenRun(model::close);
      features.enableAuthoring(model, model.settings().configured());

      var probes = new ComponentProbes(store, config, sandbox.backend(), model);
      var status = new StatusService(system, node, coreManager, probes);
      var logs = new LogStore(store, LogSettings.from(config));
      context.spawn(LogRetention.create(logs, node::isActive), "log-retention");
      var logQuestions = new LogQuestions(QuestionSettings.from(config), model,
          store.database().getCollection(config.getString("heyken.logs.collection")), store.blockingExecutor(),
          java.time.Clock.systemUTC());
      system.getWhenTerminated().thenRun(logQuestions::close);
      var bot = config.getConfig("heyken.bot");
      var chat = ChatSettings.from(config);
      if (chat.enabled()) {
        var admins = java.util.Arrays.stream(bot.getString("admins").split(",")).map(String::trim)
            .filter(a -> !a.isEmpty()).collect(java.util.stream.Collectors.toSet());
        singletons.init(SingletonActor.of(ChatGateway.create(new ChatGateway.Wiring(chat, admins,
                bot.getDuration("answer-timeout"), store.blockingExecutor(), coreManager)), "ChatGateway")
            .withStopMessage(ChatGateway.Stop.INSTANCE));
        context.spawn(LogsToChat.create(node.coreId(), LogsToChat.Settings.from(config)), "logs-to-chat");
      }
      Conversation.init(system, new SystemBotActions(system, features, status, logs, coreManager, registry, model,
              model.settings().model(), store.blockingExecutor()),
          bot.getDuration("confirmation-ttl"), bot.getString("username"));
      var http = config.getConfig("heyken.http");
      var epochs = new EpochHistory(system);
      var monitorEvents = new MonitorEvents(new MonitorSources(system, node.coreId(), status, epochs,
          features, logs, config.getInt("heyken.monitor.max-features"), config.getInt("heyken.logs.max-query-limit")),
          MonitorEvents.Settings.from(config));
      MetricsHistory.configure(MetricsHistory.Settings.from(config));
      context.spawn(MetricsHistory.sampler(), "metrics-history");
      var sandboxRoutes = new SandboxRoutes(node, auth, features,
          new ServiceRoutes(ServiceApi.create(system, coreManager)));
      var apis = List.of(
          new PortBinder.Api("Component Registry", http.getInt("registry-port"),
              new RegistryRoutes(system, registry, auth).route()),
          new PortBinder.Api("Sandbox Manager", http.getInt("sandbox-port"), sandboxRoutes.route()),
          new PortBinder.Api("Logger API", http.getInt("logger-port"),
              new LoggerRoutes(logs, auth, config.getInt("heyken.logs.max-query-limit"),
                  new AuditRoutes(new AuditTrail(system)), new LogQuestionRoutes(logQuestions)).route()),
          new PortBinder.Api("System Monitor", http.getInt("monitor-port"),
              new MonitorRoutes(system, status, coreManager, auth,
                  new ChatRoutes(system, bot.getDuration("answer-timeout")), monitorEvents,
                  new MetricsHistoryRoutes(node.coreId(), epochs::recent).route(), sandboxRoutes.dashboardRoute())
                  .route()));
      String host = config.getString("heyken.bind-host");
      var binder = context.spawn(PortBinder.create(host, node.coreId(), http.getInt("inspection-port-offset"), apis,
          http.getDuration("rebind-interval"), http.getDuration("drain-deadline")), "http");
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
