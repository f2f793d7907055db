package heyken.actors.bot;

import com.fasterxml.jackson.databind.ObjectMapper;
import heyken.actors.core.CoreManager;
import heyken.actors.core.DeploymentLedger;
import heyken.actors.feature.FeatureService;
import heyken.actors.llm.LanguageModel;
import heyken.actors.logs.LogQuery;
import heyken.actors.logs.LogStore;
import heyken.actors.monitor.StatusService;
import heyken.actors.registry.ComponentRegistry;
import heyken.protocol.api.Problem;
import heyken.protocol.api.SystemStatus;
import heyken.protocol.api.feature.CreateFeatureRequest;
import heyken.protocol.api.feature.FeatureRef;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.stream.Collectors;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.AskPattern;

/**
 * The bot's commands executed against the running system: the Sandbox Manager's operations, the System Monitor's
 * status, the Logger API's store, the CoreManager and the Component Registry, and the language model for questions.
 * Every refusal comes back as a sentence (the API's detail), never as an exception.
 */
public final class SystemBotActions implements BotActions {

  private static final Duration ASK = Duration.ofSeconds(5);
  private static final ObjectMapper JSON = new ObjectMapper();

  private final ActorSystem<?> system;
  private final FeatureService features;
  private final StatusService status;
  private final LogStore logs;
  private final ActorRef<CoreManager.Command> coreManager;
  private final ActorRef<DeploymentLedger.Command> deployments;
  private final heyken.actors.services.ServiceApi serviceApi;
  private final ActorRef<ComponentRegistry.Command> registry;
  private final LanguageModel model;
  private final String modelName;
  private final Executor blocking;
  private final ModelAnswer modelAnswer;

  public SystemBotActions(ActorSystem<?> system, FeatureService features, StatusService status, LogStore logs,
      ActorRef<CoreManager.Command> coreManager, ActorRef<DeploymentLedger.Command> deployments,
      heyken.actors.services.ServiceApi services, ActorRef<ComponentRegistry.Command> registry, LanguageModel model,
      String modelName, Executor blocking) {
    this.system = system;
    this.features = features;
    this.status = status;
    this.logs = logs;
    this.coreManager = coreManager;
    this.deployments = deployments;
    this.serviceApi = services;
    this.registry = registry;
    this.model = model;
    this.modelName = modelName;
    this.blocking = blocking;
    this.modelAnswer = new ModelAnswer(model, modelName);
  }

  @Override
  public CompletionStage<String> execute(BotCommand command, Speaker speaker) {
    String by = "chat:" + speaker.userId();
    if (command instanceof BotCommand.Help) {
      return done(BotCommand.HELP);
    }
    if (command instanceof BotCommand.WhoAmI) {
      return done("You are " + speaker.username() + " (user id " + speaker.userId() + ")"
          + (speaker.admin() ? ", an admin." : ", not an admin: deploy, rollback and switch are refused."));
    }
    if (command instanceof BotCommand.Status) {
      return status.status().thenApply(SystemBotActions::statusText);
    }
    if (command instanceof BotCommand.Logs l) {
      var params = new HashMap<String, String>();
      params.put("limit", String.valueOf(l.count()));
      if (l.level() != null) {
        params.put("level", l.level());
      }
      var parsed = LogQuery.parse(params, 50, Instant.now());
      if (parsed.problem() != null) {
        return done(parsed.problem().detail());
      }
      return logs.find(parsed.query()).thenApply(page -> page.logs().isEmpty() ? "No log lines match."
          : page.logs().stream().map(line -> line.time() + " " + line.level() + " [core-" + line.core() + "] "
              + line.component() + ": " + line.message()).collect(Collectors.joining("\n")));
    }
    if (command instanceof BotCommand.Features) {
      return features.list().thenApply(list -> list.features().isEmpty() ? "No features yet: feature create "
          + "<name>: <description>" : list.features().stream().map(f -> "#" + f.featureId() + " " + f.name() + " — "
          + f.status() + (f.command() == null ? "" : " (!" + f.command() + ")")).collect(Collectors.joining("\n")));
    }
    if (command instanceof BotCommand.FeatureCreate c) {
      return features.create(new CreateFeatureRequest(c.name(), c.description(), null, null), by)
          .thenApply(o -> o.problem() != null ? refusal(o.problem())
              : o.value().status().equals("authoring")
                  ? "Feature #" + o.value().featureId() + " '" + o.value().name() + "' created: the language model "
                      + "writes and tests it now (progress in heyken-sandbox and GET :5010/api/features/"
                      + o.value().featureId() + ")."
                  : "Feature #" + o.value().featureId() + " '" + o.value().name() + "' created (" + o.value().status()
                  + "). It becomes testable once it has code and a .gitlab-ci.yml.");
    }
    if (command instanceof BotCommand.FeatureTest t) {
      return features.test(new FeatureRef(t.featureId(), null, null), by)
          .thenApply(o -> o.problem() != null ? refusal(o.problem())
              : "Test run " + o.value().runId() + " of feature #" + t.featureId() + " started: GET :5010"
                  + o.value().statusUrl());
    }
    if (command instanceof BotCommand.Deploy d) {
      return features.deploy(new FeatureRef(d.featureId(), null, null), by)
          .thenApply(o -> o.problem() != null ? refusal(o.problem())
              : "Deployed feature #" + d.featureId() + " at revision " + shortRev(o.value().revision())
                  + (o.value().command() == null ? "" : ": try !" + o.value().command()));
    }
    if (command instanceof BotCommand.Rollback r) {
      return features.rollback(r.featureId(), by)
          .thenApply(o -> o.problem() != null ? refusal(o.problem())
              : "Feature #" + r.featureId() + " is back at revision " + shortRev(o.value().revision()) + ".");
    }
    if (command instanceof BotCommand.Switch s) {
      return AskPattern.<CoreManager.Command, CoreManager.SwitchOutcome>ask(coreManager,
              reply -> new CoreManager.RequestSwitch(s.core(), reply), ASK, system.scheduler())
          .thenApply(o -> o.problem() != null ? refusal(o.problem())
              : "Handing over from core " + o.accepted().fromCore() + " to core " + o.accepted().toCore()
                  + " (epoch " + o.accepted().epoch() + "); the new core announces itself when it is active.");
    }
    if (command instanceof BotCommand.Services) {
      var docker = services().list().toCompletableFuture()
          .handle((o, e) -> e != null ? "Docker services: unknown (" + e.getMessage() + ")"
              : o.problem() != null ? "Docker services: " + o.problem().detail() : dockerServicesText(o.value()));
      return AskPattern.<ComponentRegistry.Command, ComponentRegistry.Reply>ask(registry, ComponentRegistry.ListAll::new,
              ASK, system.scheduler())
          .thenApply(r -> r.components() == null || r.components().isEmpty() ? "No components are registered."
              : r.components().stream().map(c -> c.name() + " — " + c.health() + " (" + c.url() + ")")
                  .collect(Collectors.joining("\n")))
          .thenCombine(docker, (components, services) -> components + "\n" + services);
    }
    if (command instanceof BotCommand.ServiceChange c) {
      if (c.verb().equals("add")) {
        var request = new heyken.protocol.api.service.ServiceRequest(c.name(), c.image(), null, null,
            c.command().isEmpty() ? null : c.command(), null, null);
        return services().add(request, by).thenApply(o -> o.problem() != null ? refusal(o.problem())
            : "Service " + c.name() + " added (" + c.image() + "); the active core starts it now: services shows it.");
      }
      String verb = c.verb();
      return services().change(c.name(), verb, by).thenApply(o -> o.problem() != null ? refusal(o.problem())
          : "Service " + c.name() + (verb.equals("remove") ? " removed." : verb.equals("stop") ? " stopped."
              : " started."));
    }
    if (command instanceof BotCommand.Invoke i) {
      return invoke(i);
    }
    return done("I do not know how to do that: " + command.action() + ". Try help.");
  }

  private heyken.actors.services.ServiceApi services() {
    return serviceApi;
  }

  static String dockerServicesText(heyken.protocol.api.service.ServiceView.Listing listing) {
    if (listing.services().isEmpty()) {
      return "No Docker services (an admin adds one with: service add <name> <image> [command...]).";
    }
    return "Docker services:\n" + listing.services().stream().map(v -> "  " + v.name() + " — " + v.state()
        + (v.health().equals("none") ? "" : ", " + v.health()) + " (" + v.image()
        + (v.desired().equals("stopped") ? ", stopped on request" : "")
        + (v.lastError() == null ? "" : "; last error: " + v.lastError()) + ")").collect(Collectors.joining("\n"));
  }

  private CompletionStage<String> invoke(BotCommand.Invoke invoke) {
    return AskPattern.<DeploymentLedger.Command, DeploymentLedger.Deployments>ask(deployments,
            DeploymentLedger.GetDeployments::new, ASK, system.scheduler())
        .thenCompose(deployments -> {
          String featureId = deployments.byFeature().entrySet().stream()
              .filter(e -> invoke.command().equals(e.getValue().command())).map(java.util.Map.Entry::getKey)
              .findFirst().orElse(null);
          if (featureId == null) {
            return done("No deployed feature answers to !" + invoke.command() + ". The commands: "
                + (deployments.byFeature().isEmpty() ? "none yet"
                    : deployments.byFeature().values().stream().map(d -> "!" + d.command()).sorted()
                        .collect(Collectors.joining(", "))));
          }
          byte[] request;
          try {
            request = JSON.writeValueAsBytes(java.util.Map.of("args", invoke.args()));
          } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            return done("Could not encode the arguments: " + e.getOriginalMessage());
          }
          return features.invokeOnActive(featureId, request).thenApply(o -> {
            if (o.problem() != null) {
              return refusal(o.problem());
            }
            var r = o.value();
            if (r.ok()) {
              return r.output().isBlank() ? "(the feature printed nothing)" : r.output().stripTrailing();
            }
            return "!" + invoke.command() + " failed (" + r.reason() + ", exit code " + r.exitCode() + ")"
                + (r.stderr() == null || r.stderr().isBlank() ? "" : ": " + tail(r.stderr(), 500));
          });
        });
  }

  @Override
  public CompletionStage<String> answer(String question, List<LanguageModel.Message> history, Speaker speaker) {
    return answer(question, history, speaker, Progress.NONE);
  }

  @Override
  public CompletionStage<String> answer(String question, List<LanguageModel.Message> history, Speaker speaker,
      Progress progress) {
    return status.status().toCompletableFuture().handle((s, e) -> e == null ? statusText(s) : "status unknown")
        .thenApplyAsync(context -> modelAnswer.answer(ModelAnswer.prompt(context, history, speaker, question),
            progress), blocking);
  }

  static String statusText(SystemStatus s) {
    var b = new StringBuilder();
    b.append(s.activeCore() == null ? "No core is active right now (a failover may be under way)."
        : "Core " + s.activeCore() + " is active (epoch " + s.epoch() + ", " + s.activationReason() + ").");
    for (var core : s.cores()) {
      b.append("\ncore-").append(core.id()).append(": ").append(core.status()).append(core.active() ? ", active" : "");
    }
    for (var c : s.components()) {
      b.append("\n").append(c.name()).append(": ").append(c.status())
          .append(c.status().equals("up") ? "" : " — " + c.detail());
    }
    return b.toString();
  }

  private static String refusal(Problem problem) {
    return "Not done: " + problem.detail();
  }

  private static String shortRev(String revision) {
    return revision == null ? "-" : revision.substring(0, Math.min(8, revision.length()));
  }

  private static String tail(String s, int max) {
    return s.length() <= max ? s.strip() : "…" + s.substring(s.length() - max).strip();
  }

  private static CompletionStage<String> done(String text) {
    return CompletableFuture.completedFuture(text);
  }
}
