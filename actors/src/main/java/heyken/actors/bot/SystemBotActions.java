package heyken.actors.bot;

import com.fasterxml.jackson.databind.ObjectMapper;
import heyken.actors.core.CoreApi;
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

  private volatile java.util.function.BiFunction<String, String, CompletionStage<String>> upgrade;

  /** Starts an upgrade for {@code upgrade <ref>}: (ref, requested by) → the answer (set once by the wiring). */
  public SystemBotActions useUpgrade(java.util.function.BiFunction<String, String, CompletionStage<String>> upgrade) {
    this.upgrade = upgrade;
    return this;
  }

  @Override
  public CompletionStage<String> execute(BotCommand command, Speaker speaker) {
    return command.accept(new Execution(speaker));
  }

  /** One command run for one speaker: the bot's branch of every command ({@link BotCommand.Handler}). */
  private final class Execution implements BotCommand.Handler<CompletionStage<String>> {

    private final Speaker speaker;
    private final String by;

    Execution(Speaker speaker) {
      this.speaker = speaker;
      this.by = "chat:" + speaker.userId();
    }

    @Override
    public CompletionStage<String> help(BotCommand.Help command) {
      return done(BotCommand.help());
    }

    @Override
    public CompletionStage<String> status(BotCommand.Status command) {
      return status.status().thenApply(SystemBotActions::statusText);
    }

    @Override
    public CompletionStage<String> logs(BotCommand.Logs l) {
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

    @Override
    public CompletionStage<String> features(BotCommand.Features command) {
      return features.list().thenApply(list -> list.features().isEmpty() ? "No features yet: feature create "
          + "<name>: <description>" : list.features().stream().map(f -> "#" + f.featureId() + " " + f.name() + " — "
          + f.status() + (f.command() == null ? "" : " (!" + f.command() + ")")).collect(Collectors.joining("\n")));
    }

    @Override
    public CompletionStage<String> featureCreate(BotCommand.FeatureCreate c) {
      return features.create(new CreateFeatureRequest(c.name(), c.description(), null, null), by)
          .thenApply(o -> o.problem() != null ? refusal(o.problem())
              : o.value().status().equals("authoring")
                  ? "Feature #" + o.value().featureId() + " '" + o.value().name() + "' created: the language model "
                      + "writes and tests it now (progress in heyken-sandbox and GET :5010/api/features/"
                      + o.value().featureId() + ")."
                  : "Feature #" + o.value().featureId() + " '" + o.value().name() + "' created (" + o.value().status()
                  + "). It becomes testable once it has code and a .gitlab-ci.yml.");
    }

    @Override
    public CompletionStage<String> featureTest(BotCommand.FeatureTest t) {
      return features.test(new FeatureRef(t.featureId(), null, null), by)
          .thenApply(o -> o.problem() != null ? refusal(o.problem())
              : "Test run " + o.value().runId() + " of feature #" + t.featureId() + " started: GET :5010"
                  + o.value().statusUrl());
    }

    @Override
    public CompletionStage<String> deploy(BotCommand.Deploy d) {
      return features.deploy(new FeatureRef(d.featureId(), null, null), by)
          .thenApply(o -> o.problem() != null ? refusal(o.problem())
              : "Deployed feature #" + d.featureId() + " at revision " + shortRev(o.value().revision())
                  + (o.value().command() == null ? "" : ": try !" + o.value().command()));
    }

    @Override
    public CompletionStage<String> rollback(BotCommand.Rollback r) {
      return features.rollback(r.featureId(), by)
          .thenApply(o -> o.problem() != null ? refusal(o.problem())
              : "Feature #" + r.featureId() + " is back at revision " + shortRev(o.value().revision()) + ".");
    }

    @Override
    public CompletionStage<String> switchCore(BotCommand.Switch s) {
      return AskPattern.<CoreManager.Command, CoreManager.SwitchOutcome>ask(coreManager,
              reply -> new CoreManager.RequestSwitch(s.core(), reply), ASK, system.scheduler())
          .thenApply(o -> CoreApi.problem(o) != null ? refusal(CoreApi.problem(o))
              : "Handing over from core " + o.accepted().fromCore() + " to core " + o.accepted().toCore()
                  + " (epoch " + o.accepted().epoch() + "); the new core announces itself when it is active.");
    }

    @Override
    public CompletionStage<String> selfUpgrade(BotCommand.SelfUpgrade u) {
      var start = upgrade;
      return start == null ? done("Upgrades are not available on this core.") : start.apply(u.ref(), by);
    }

    @Override
    public CompletionStage<String> services(BotCommand.Services command) {
      var docker = serviceApi.list().toCompletableFuture()
          .handle((o, e) -> e != null ? "Docker services: unknown (" + e.getMessage() + ")"
              : o.problem() != null ? "Docker services: " + o.problem().detail() : dockerServicesText(o.value()));
      return AskPattern.<ComponentRegistry.Command, ComponentRegistry.Reply>ask(registry, ComponentRegistry.ListAll::new,
              ASK, system.scheduler())
          .thenApply(r -> r.components() == null || r.components().isEmpty() ? "No components are registered."
              : r.components().stream().map(c -> c.name() + " — " + c.health() + " (" + c.url() + ")")
                  .collect(Collectors.joining("\n")))
          .thenCombine(docker, (components, services) -> components + "\n" + services);
    }

    @Override
    public CompletionStage<String> serviceChange(BotCommand.ServiceChange c) {
      if (c.verb().equals("add")) {
        var request = new heyken.protocol.api.service.ServiceRequest(c.name(), c.image(), null, null,
            c.command().isEmpty() ? null : c.command(), null, null);
        return serviceApi.add(request, by).thenApply(o -> o.problem() != null ? refusal(o.problem())
            : "Service " + c.name() + " added (" + c.image() + "); the active core starts it now: services shows it.");
      }
      String verb = c.verb();
      var action = heyken.actors.services.ServiceAction.of(verb).orElse(null);
      if (action == null) {
        return done("A service can be added, stopped, started or removed, not '" + verb + "'.");
      }
      return serviceApi.change(c.name(), action, by).thenApply(o -> o.problem() != null ? refusal(o.problem())
          : "Service " + c.name() + (verb.equals("remove") ? " removed." : verb.equals("stop") ? " stopped."
              : " started."));
    }

    @Override
    public CompletionStage<String> whoAmI(BotCommand.WhoAmI command) {
      return done("You are " + speaker.username() + " (user id " + speaker.userId() + ")"
          + (speaker.admin() ? ", an admin." : ", not an admin: deploy, rollback and switch are refused."));
    }

    @Override
    public CompletionStage<String> invoke(BotCommand.Invoke i) {
      return invokeFeature(i);
    }

    // questions and malformed commands are answered by the conversation itself, never executed
    @Override
    public CompletionStage<String> question(BotCommand.Question command) {
      return notACommand(command);
    }

    @Override
    public CompletionStage<String> malformed(BotCommand.Malformed command) {
      return notACommand(command);
    }

    private CompletionStage<String> notACommand(BotCommand command) {
      return done("I do not know how to do that: " + command.action() + ". Try help.");
    }
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

  private CompletionStage<String> invokeFeature(BotCommand.Invoke invoke) {
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
