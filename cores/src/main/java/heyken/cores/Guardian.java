package heyken.cores;

import heyken.actors.audit.AuditTrail;
import heyken.actors.bot.BotSettings;
import heyken.actors.bot.ChatGateway;
import heyken.actors.chat.ChatSettings;
import heyken.actors.bot.Conversation;
import heyken.actors.bot.SystemBotActions;
import heyken.actors.cluster.MongoLease;
import heyken.actors.llm.OllamaModel;
import heyken.actors.core.CoreManager;
import heyken.actors.core.CoreNode;
import heyken.actors.core.DeploymentLedger;
import heyken.actors.core.EpochFence;
import heyken.actors.core.FencedWrites;
import heyken.actors.core.ServiceLedger;
import heyken.actors.feature.AuthorSettings;
import heyken.actors.feature.Feature;
import heyken.actors.feature.FeatureAuthor;
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
import heyken.actors.monitor.ProbeSettings;
import heyken.actors.monitor.StatusService;
import heyken.actors.monitor.StatusSettings;
import heyken.actors.registry.ComponentRegistry;
import heyken.actors.registry.RegistrySettings;
import heyken.actors.registry.SelfRegistration;
import heyken.actors.services.ServiceApi;
import heyken.actors.services.ServiceReconciler;
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
      var settings = CoreSettings.from(config);
      var store = MongoStore.get(system);
      var auth = Auth.from(config);

      context.spawn(LogShipper.create(), "log-shipper");
      context.spawn(JournalWarmup.create(node.coreId()), "journal-warmup");
      context.spawn(CoreInfo.create(node), "core-info");
      context.spawn(heyken.actors.upgrade.CoreProcess.create(node), "core-process");

      var singletons = ClusterSingleton.get(system);
      // a lost CoreManager lease ends this core's activity at once, whatever the singleton is still waiting for
      Runnable stopFollowingLeases = MongoLease.onLoss(loss -> {
        if (loss.name().endsWith("/singletonManagerCoreManager")) {
          node.leaseLost(loss.at(), loss.why());
        }
      });
      system.getWhenTerminated().thenRun(stopFollowingLeases);
      // activation, epoch and fencing; the deployments and the dynamic services in their own fenced singletons
      var writes = new FencedWrites(new EpochFence(store.database()), store);
      var coreManager = singletons.init(SingletonActor.of(CoreManager.create(node, writes.fence(),
          settings.heartbeatInterval()), "CoreManager")
          .withStopMessage(CoreManager.Stop.INSTANCE));
      var deployments = singletons.init(SingletonActor.of(DeploymentLedger.create(node, writes, coreManager),
          "DeploymentLedger").withStopMessage(DeploymentLedger.Stop.INSTANCE));
      var serviceRuntime = ServiceRuntime.get(system);
      var serviceLedger = singletons.init(SingletonActor.of(ServiceLedger.create(node, writes, coreManager,
          new ServiceReconciler.Wiring(serviceRuntime.engine(), serviceRuntime.settings(), serviceRuntime.executor(),
              writes.fence()::supersededBecause, serviceRuntime::registry)), "ServiceLedger")
          .withStopMessage(ServiceLedger.Stop.INSTANCE));
      var serviceApi = ServiceApi.create(system, ServiceLedger.wantedServices(system, serviceLedger));
      var registry = singletons.init(
          SingletonActor.of(ComponentRegistry.create(node, RegistrySettings.from(config)), "ComponentRegistry")
              .withStopMessage(ComponentRegistry.Stop.INSTANCE));
      serviceRuntime.useRegistry(registry);
      var catalog = singletons.init(
          SingletonActor.of(FeatureCatalog.create(), "FeatureCatalog").withStopMessage(FeatureCatalog.Stop.INSTANCE));
      Feature.init(system, deployments);
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
      var features = new FeatureService(system, catalog, node, heyken.actors.gitlab.GitLabLink.of(system));
      features.useInvoker(singletons.init(SingletonActor.of(features.invoker(), "FeatureInvoker")));
      var model = OllamaModel.create(config);
      system.getWhenTerminated().thenRun(model::close);
      var authoring = AuthorSettings.from(config);
      FeatureAuthor.init(system, new FeatureAuthor.Wiring(model, features, authoring));
      features.enableAuthoring(authoring, model.settings().configured());

      var probes = new ComponentProbes(store, ProbeSettings.from(config), sandbox.backend(), model);
      var status = new StatusService(system, node, coreManager, probes, StatusSettings.from(config));
      var upgrade = singletons.init(SingletonActor.of(heyken.actors.upgrade.Upgrade.create(
              new heyken.actors.upgrade.UpgradeRuntime(system, node, coreManager, status::status, features,
                  (text, key) -> heyken.actors.chat.ChatNews.get(system).publish(heyken.actors.chat.ChatNews.SYSTEM,
                      text, key))), "Upgrade")
          .withStopMessage(heyken.actors.upgrade.Upgrade.Stop.INSTANCE));
      status.useUpgrade(heyken.actors.upgrade.Upgrade.viewer(upgrade, system));
      var logSettings = LogSettings.from(config);
      var postgres = heyken.actors.postgres.PostgresDatabase.get(system);
      var logs = new LogStore(postgres, logSettings);
      context.spawn(LogRetention.create(logs, node::isActive, new heyken.actors.logs.MongoLogImport(postgres,
              store.database(), logSettings.collection(), settings.runLogCollection()),
          postgres.settings().partitionsAhead()), "log-retention");
      var logQuestions = new LogQuestions(QuestionSettings.from(config), model, postgres, java.time.Clock.systemUTC());
      system.getWhenTerminated().thenRun(logQuestions::close);
      context.spawn(heyken.actors.projection.RunProjection.create(postgres, node::isActive,
          heyken.actors.projection.RunProjection.Settings.from(config)), "run-projection");
      var bot = BotSettings.from(config);
      var chat = ChatSettings.from(config);
      if (chat.enabled()) {
        singletons.init(SingletonActor.of(ChatGateway.create(new ChatGateway.Wiring(chat, bot.admins(),
                bot.answerTimeout(), store.blockingExecutor(), coreManager, bot.streaming())), "ChatGateway")
            .withStopMessage(ChatGateway.Stop.INSTANCE));
        context.spawn(LogsToChat.create(node.coreId(), LogsToChat.Settings.from(config)), "logs-to-chat");
      }
      Conversation.init(system, new SystemBotActions(system, features, status, logs, coreManager, deployments,
              serviceApi, registry, model,
              model.settings().model(), store.blockingExecutor())
              .useUpgrade(heyken.actors.upgrade.Upgrade.chatStarter(upgrade, system)),
          bot.confirmationTtl(), bot.username());
      var epochs = new EpochHistory(system);
      var monitorEvents = new MonitorEvents(new MonitorSources(system, node.coreId(), status, epochs,
          features, logs, settings.monitorMaxFeatures(), settings.maxQueryLimit()),
          MonitorEvents.Settings.from(config));
      MetricsHistory.configure(MetricsHistory.Settings.from(config));
      context.spawn(MetricsHistory.sampler(), "metrics-history");
      var sandboxRoutes = new SandboxRoutes(node, auth, features, new ServiceRoutes(serviceApi));
      var apis = List.of(
          new PortBinder.Api("Component Registry", settings.registryPort(),
              new RegistryRoutes(system, registry, auth, settings.askTimeout()).route()),
          new PortBinder.Api("Sandbox Manager", settings.sandboxPort(), sandboxRoutes.route()),
          new PortBinder.Api("Logger API", settings.loggerPort(),
              new LoggerRoutes(logs, auth, settings.maxQueryLimit(),
                  new AuditRoutes(new AuditTrail(system)), new LogQuestionRoutes(logQuestions)).route()),
          new PortBinder.Api("System Monitor", settings.monitorPort(),
              new MonitorRoutes(system, status, coreManager, auth, settings.askTimeout(),
                  new ChatRoutes(system, bot.answerTimeout()), monitorEvents,
                  new heyken.http.UpgradeRoutes(system, upgrade),
                  new MetricsHistoryRoutes(node.coreId(), epochs::recent).route(), sandboxRoutes.dashboardRoute())
                  .route()));
      var binder = context.spawn(PortBinder.create(settings.host(), node.coreId(), settings.inspectionOffset(), apis,
          settings.rebindInterval(), settings.drainDeadline(), heyken.http.ConnectionLimits.from(config),
          node::activeEpoch), "http");
      var unfollow = node.onActivationChange(epoch -> binder.tell(new PortBinder.ActivationChanged(epoch)));
      system.getWhenTerminated().thenRun(unfollow);
      context.spawn(heyken.actors.core.ActiveCoreWatch.create(node, coreManager,
          heyken.actors.core.ActiveCoreWatch.of(system), heyken.actors.core.ActiveCoreWatch.Settings.from(config)),
          "active-core-watch");

      PekkoManagement.get(system.classicSystem()).start();

      context.spawn(SelfRegistration.create(registry, settings.registrations(node.coreId(), version,
          store.redactedUri()), Duration.ofSeconds(2)), "self-registration");
      return Behaviors.empty();
    });
  }
}
