package heyken.actors.feature;

import heyken.actors.Outcome;
import heyken.actors.Failures;
import heyken.actors.core.CoreNode;
import heyken.protocol.api.Problem;
import heyken.protocol.api.feature.CreateFeatureRequest;
import heyken.protocol.api.feature.FeatureCreated;
import heyken.protocol.api.feature.FeatureListing;
import heyken.protocol.api.feature.FeatureRef;
import heyken.protocol.api.feature.FeatureView;
import heyken.protocol.api.feature.InvokeResult;
import heyken.protocol.api.feature.RunView;
import heyken.sandbox.SandboxResult;
import heyken.sandbox.SandboxSpec;
import heyken.sandbox.pipeline.CiFile;
import heyken.sandbox.pipeline.CiFileException;
import heyken.sandbox.workspace.FeatureManifest;
import heyken.sandbox.workspace.FeatureRepositories;
import heyken.sandbox.workspace.GitImportException;
import heyken.sandbox.workspace.InvalidFilesException;
import heyken.sandbox.workspace.UnknownRevisionException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.japi.Pair;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.util.ByteString;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Sandbox Manager's operations on features, for the HTTP routes (and later the bot): each one validates the
 * request, does the blocking git and sandbox work on the sandbox dispatcher, and talks to the catalog, the feature
 * entities and the runs. Answers carry either a value or a {@link Problem} for the caller.
 */
public final class FeatureService {

  private static final Logger log = LoggerFactory.getLogger(FeatureService.class);
  private static final int MAX_DESCRIPTION = 4000;
  private static final Duration LOG_POLL = Duration.ofMillis(250);
  private static final Duration LOG_STREAM_MAX = Duration.ofMinutes(30);

  private final ActorSystem<?> system;
  private final ActorRef<FeatureCatalog.Command> catalog;
  private final CoreNode node;
  private final SandboxRuntime runtime;
  private final ImportGuard imports;
  private final Duration askTimeout;
  // null unless GitLab is configured (GITLAB_URL, GITLAB_TOKEN): the gitlab package's GitLabLink
  private final FeatureMirror gitlab;
  // runs invocations where deployed features run: a cluster singleton lives on the active core
  private volatile ActorRef<InvokeOnActive> invoker;
  // set by enableAuthoring: a feature created with only a name and a description is written by the language model
  private volatile AuthorSettings authoring;

  /** Without a mirror on a Git host. */
  public FeatureService(ActorSystem<?> system, ActorRef<FeatureCatalog.Command> catalog,
      CoreNode node) {
    this(system, catalog, node, null);
  }

  /** {@code mirror}: the features' copy on GitLab ({@code GitLabLink.of(system)}), null without GitLab. */
  public FeatureService(ActorSystem<?> system, ActorRef<FeatureCatalog.Command> catalog,
      CoreNode node, FeatureMirror mirror) {
    this.system = system;
    this.catalog = catalog;
    this.node = node;
    this.runtime = SandboxRuntime.get(system);
    this.imports = ImportGuard.from(system.settings().config(),
        List.of(runtime.dataDir(), runtime.settings().gitDir(), runtime.settings().workDir()));
    this.askTimeout = heyken.actors.ClusterSettings.from(system.settings().config()).askTimeout();
    this.gitlab = mirror;
  }

  /** Tells the feature's GitLab copy that something changed (nothing without GitLab). */
  private <T> Outcome<T> toGitLab(String featureId, Outcome<T> outcome) {
    if (gitlab != null && outcome.problem() == null) {
      gitlab.wake(featureId);
    }
    return outcome;
  }

  public SandboxRuntime runtime() {
    return runtime;
  }

  /**
   * Turns on the author loop ({@link FeatureAuthor}, whose sharding the Guardian starts): from now on a feature created
   * with only a name and a description is planned, written and tested by the language model. Off
   * (heyken.author.enabled = false, or no model configured), it stays a draft.
   */
  public void enableAuthoring(AuthorSettings settings, boolean modelConfigured) {
    if (settings.enabled() && modelConfigured) {
      this.authoring = settings;
    } else {
      log.info("the author loop is off ({}): features created from a description stay drafts",
          settings.enabled() ? "no language model is configured (OLLAMA_URL is empty)" : "heyken.author.enabled = false");
    }
  }

  /** Whether a create request asks the language model to write the feature. */
  private boolean authored(CreateFeatureRequest request) {
    return authoring != null && request.files() == null && request.gitUrl() == null && request.description() != null
        && !request.description().isBlank();
  }

  /** The chat command of a feature the model writes: its name in lower case ({@code !weather}). */
  static String commandFor(String name) {
    String c = name.toLowerCase(java.util.Locale.ROOT);
    return c.length() > 32 ? c.substring(0, 32) : c;
  }

  // ---------------------------------------------------------------- create

  public CompletionStage<Outcome<FeatureCreated>> create(CreateFeatureRequest request, String requestedBy) {
    Problem invalid = validate(request);
    if (invalid != null) {
      return CompletableFuture.completedFuture(Outcome.refused(invalid));
    }
    return AskPattern.<FeatureCatalog.Command, FeatureCatalog.Reply>ask(catalog,
            reply -> new FeatureCatalog.Reserve(request.name(), requestedBy, reply), askTimeout, system.scheduler())
        .thenCompose(reserved -> {
          if (reserved.problem() != null) {
            return CompletableFuture.completedFuture(Outcome.<FeatureCreated>refused(reserved.problem()));
          }
          String id = reserved.featureId();
          return runtime.blocking(() -> firstRevision(id, request, requestedBy))
              .thenCompose(revision -> entity(id).<Feature.FeatureReply>ask(
                  reply -> new Feature.Create(request.name(), request.description(), revision, requestedBy, reply),
                  askTimeout))
              .thenApply(reply -> {
                if (reply.refused() != null) {
                  return Outcome.<FeatureCreated>refused(FeatureApi.problem(reply.refused()));
                }
                var view = FeatureApi.view(reply);
                if (authored(request)) {
                  ClusterSharding.get(system).entityRefFor(FeatureAuthor.ENTITY_KEY, id).tell(new FeatureAuthor.Start(
                      id, request.name(), commandFor(request.name()), request.description(), requestedBy));
                  return toGitLab(id, Outcome.ok(new FeatureCreated(id, view.name(), "authoring",
                      view.headRevision())));
                }
                return toGitLab(id, Outcome.ok(new FeatureCreated(id, view.name(), view.status(),
                    view.headRevision())));
              })
              .exceptionallyCompose(error -> {
                Problem problem = problemOf(error);
                if (problem == null) {
                  return CompletableFuture.failedFuture(error);
                }
                // the name goes back: nothing of the feature exists
                runtime.blocking(() -> {
                  runtime.repositories().delete(id);
                  return null;
                });
                catalog.tell(new FeatureCatalog.Release(id, "create failed: " + problem.detail(),
                    system.ignoreRef()));
                return CompletableFuture.completedFuture(Outcome.refused(problem));
              });
        });
  }

  private Problem validate(CreateFeatureRequest request) {
    Problem name = FeatureCatalog.validateName(request.name());
    if (name != null) {
      return name;
    }
    if (request.description() != null && request.description().length() > MAX_DESCRIPTION) {
      return Problem.badRequest("invalid_description", "the description has " + request.description().length()
          + " characters; at most " + MAX_DESCRIPTION + " are allowed");
    }
    if (request.files() != null && request.gitUrl() != null) {
      return Problem.badRequest("invalid_request", "give the code either as files or as git_url, not both");
    }
    if (request.gitUrl() != null && request.gitUrl().regionMatches(true, 0, "file:", 0, 5)) {
      // a file:// import reads whatever repository the core can read: never Heyken's own data (other features'
      // repositories, the store), whatever the path spelling
      try {
        var path = java.nio.file.Path.of(java.net.URI.create(request.gitUrl())).toAbsolutePath().normalize();
        if (path.startsWith(runtime.dataDir()) || path.startsWith(runtime.settings().gitDir())
            || path.startsWith(runtime.settings().workDir())) {
          return Problem.badRequest("git_import_failed", "git_url points into Heyken's data directory; import from "
              + "a repository outside it (another feature's code is copied with its files, not its repository)");
        }
      } catch (IllegalArgumentException | java.nio.file.FileSystemNotFoundException e) {
        return Problem.badRequest("git_import_failed", "git_url is not a valid file:// URL: " + e.getMessage());
      }
    }
    if (request.files() != null && request.files().values().stream().anyMatch(java.util.Objects::isNull)) {
      return Problem.badRequest("invalid_files", "every file needs its content as a string (null is not a file)");
    }
    return null;
  }

  private Feature.RevisionInfo firstRevision(String id, CreateFeatureRequest request, String requestedBy) {
    FeatureRepositories repos = runtime.repositories();
    FeatureRepositories.Revision revision;
    String source;
    if (request.gitUrl() != null) {
      revision = repos.importFrom(id, imports.check(request.gitUrl()), requestedBy);
      source = "git " + request.gitUrl();
    } else if (request.files() != null && !request.files().isEmpty()) {
      checkYaml(request.files());
      revision = repos.create(id, request.files(), "create " + request.name(), requestedBy);
      source = "api";
    } else {
      revision = repos.createSkeleton(id, request.name(), request.description() == null ? "" : request.description(),
          requestedBy);
      // the author loop's features are known by their first revision's source
      source = authored(request) ? FeatureAuthor.BY : "skeleton";
    }
    return revisionInfo(id, revision, source);
  }

  /** Invalid YAML in the feature's two files is the caller's mistake: a 400 with the line, before anything is kept. */
  static void checkYaml(Map<String, String> files) {
    String manifest = files.get(FeatureManifest.FILE);
    if (manifest != null) {
      FeatureManifest.parse(manifest);
    }
    String ci = files.get(PipelineRun.CI_FILE);
    if (ci != null) {
      CiFile.parse(ci);
    }
  }

  Feature.RevisionInfo revisionInfo(String id, FeatureRepositories.Revision revision, String source) {
    var repos = runtime.repositories();
    Optional<String> manifestYaml = repos.readFile(id, revision.id(), FeatureManifest.FILE);
    // imported code with a broken heyken.yml or .gitlab-ci.yml is refused like files sent over the API
    FeatureManifest manifest = manifestYaml.map(FeatureManifest::parse).orElse(null);
    Optional<String> ci = repos.readFile(id, revision.id(), PipelineRun.CI_FILE);
    if (ci.isPresent()) {
      CiFile.parse(ci.get());
    }
    return new Feature.RevisionInfo(revision.id(), revision.message(), source, revision.at(), ci.isPresent(),
        manifest != null && manifest.run() != null && !manifest.run().isBlank(),
        manifest == null ? null : manifest.command());
  }

  /**
   * Commits whole files (a null content deletes the file) as a new revision of the feature; the newest revision is
   * what a test run or a deploy takes when none is named.
   */
  public CompletionStage<Outcome<FeatureView>> addRevision(String featureId, Map<String, String> files, String message,
      String requestedBy) {
    if (files == null || files.isEmpty()) {
      return CompletableFuture.completedFuture(Outcome.refused(Problem.badRequest("invalid_files",
          "a revision needs files: {\"files\": {\"path\": \"content\"}} (null content deletes a file)")));
    }
    return get(featureId).thenCompose(feature -> {
      if (feature.problem() != null) {
        return CompletableFuture.completedFuture(Outcome.<FeatureView>refused(feature.problem()));
      }
      String text = message == null || message.isBlank() ? "update " + String.join(", ", files.keySet()) : message;
      return runtime.blocking(() -> {
            var nonNull = new LinkedHashMap<String, String>();
            files.forEach((k, v) -> {
              if (v != null) {
                nonNull.put(k, v);
              }
            });
            checkYaml(nonNull);
            var revision = runtime.repositories().commit(featureId, files, text, requestedBy);
            return revisionInfo(featureId, revision, "api");
          })
          .thenCompose(info -> entity(featureId).<Feature.FeatureReply>ask(
              reply -> new Feature.AddRevision(info, requestedBy, reply), askTimeout))
          .thenApply(r -> toGitLab(featureId, new Outcome<>(FeatureApi.view(r), FeatureApi.problem(r.refused()))))
          .exceptionallyCompose(error -> {
            Problem problem = problemOf(error);
            return problem == null ? CompletableFuture.failedFuture(error)
                : CompletableFuture.completedFuture(Outcome.refused(problem));
          });
    });
  }

  // ---------------------------------------------------------------- reads

  public CompletionStage<Outcome<FeatureView>> get(String featureId) {
    if (!FeatureIds.valid(featureId)) {
      return CompletableFuture.completedFuture(Outcome.refused(FeatureIds.unknown(featureId)));
    }
    return entity(featureId).<Feature.FeatureReply>ask(Feature.Get::new, askTimeout)
        .thenCompose(r -> {
          if (r.refused() != null) {
            return CompletableFuture.completedFuture(Outcome.<FeatureView>refused(FeatureApi.problem(r.refused())));
          }
          var view = FeatureApi.view(r);
          var revisions = view.revisions();
          boolean byAuthor = !revisions.isEmpty()
              && FeatureAuthor.BY.equals(revisions.get(revisions.size() - 1).source());
          if (!byAuthor) {
            return withGitLab(view);
          }
          return ClusterSharding.get(system).entityRefFor(FeatureAuthor.ENTITY_KEY, featureId)
              .<FeatureAuthor.AuthorReply>ask(FeatureAuthor.Get::new, askTimeout)
              .<FeatureView>thenApply(a -> {
                if (a.view() == null && authoring != null) {
                  // created for the loop, but the Start was lost (the core died right after the create): Start is
                  // idempotent, so whoever looks first starts it
                  ClusterSharding.get(system).entityRefFor(FeatureAuthor.ENTITY_KEY, featureId).tell(
                      new FeatureAuthor.Start(featureId, view.name(), commandFor(view.name()), view.description(),
                          "recovery"));
                }
                return withAuthoring(view, a.view());
              })
              .thenCompose(this::withGitLab);
        });
  }

  /** The view with GitLab's part when GitLab is configured. */
  private CompletionStage<Outcome<FeatureView>> withGitLab(FeatureView view) {
    return gitlab == null ? CompletableFuture.completedFuture(Outcome.ok(view))
        : gitlab.decorate(view).thenApply(Outcome::ok);
  }

  /** The feature's status as the author loop sees it: authoring until a revision passed, failed with the reason. */
  static FeatureView withAuthoring(FeatureView view, heyken.protocol.api.feature.AuthoringView authoring) {
    if (authoring == null) {
      return view.withAuthoring("authoring", null);
    }
    String status = view.status();
    if (authoring.state().equals("awaiting_approval") && status.equals(Feature.Status.DEPLOYED.json())) {
      // approved (deploy in chat or over the API): the loop's wait is over
      authoring = new heyken.protocol.api.feature.AuthoringView("deployed", "done", authoring.attempt(),
          authoring.maxAttempts(), authoring.model(), authoring.reason(), authoring.attempts());
    }
    if (authoring.state().equals("failed")) {
      status = status.equals(Feature.Status.DEPLOYED.json()) ? status : Feature.Status.FAILED.json();
    } else if (authoring.state().equals("authoring") && !status.equals(Feature.Status.TESTING.json())) {
      status = "authoring";
    }
    return view.withAuthoring(status, authoring);
  }

  /** The biggest diff one answer carries; a longer one is cut with a line that says so. */
  static final int MAX_DIFF_BYTES = 1 << 20;

  /**
   * What a revision of the feature changed against the one before it, as a unified diff (the feature's git repository
   * read on the sandbox dispatcher); an unknown feature or revision is a 404 problem.
   */
  public CompletionStage<Outcome<String>> diff(String featureId, String revision) {
    return get(featureId).thenCompose(feature -> {
      if (feature.problem() != null) {
        return CompletableFuture.completedFuture(Outcome.<String>refused(feature.problem()));
      }
      return runtime.blocking(() -> Outcome.ok(runtime.repositories().diff(featureId, revision, MAX_DIFF_BYTES)))
          .exceptionallyCompose(error -> {
            Problem problem = problemOf(error);
            return problem == null ? CompletableFuture.failedFuture(error)
                : CompletableFuture.completedFuture(Outcome.<String>refused(problem));
          });
    });
  }

  public CompletionStage<FeatureListing> list() {
    return AskPattern.<FeatureCatalog.Command, FeatureCatalog.Reply>ask(catalog, FeatureCatalog.ListAll::new,
            askTimeout, system.scheduler())
        .thenCompose(reply -> {
          var asks = new ArrayList<CompletableFuture<FeatureListing.Item>>();
          for (var entry : reply.entries()) {
            asks.add(get(entry.featureId()).toCompletableFuture().handle((o, e) -> {
              if (e != null || o.value() == null) {
                return new FeatureListing.Item(entry.featureId(), entry.name(), e != null ? "unavailable" : "deleted",
                    null, null, null);
              }
              var v = o.value();
              return new FeatureListing.Item(v.featureId(), v.name(), v.status(), v.command(), v.headRevision(),
                  v.deployment() == null ? null : v.deployment().revision());
            }));
          }
          return CompletableFuture.allOf(asks.toArray(CompletableFuture[]::new))
              .thenApply(x -> new FeatureListing(asks.stream().map(CompletableFuture::join)
                  .filter(i -> !i.status().equals(Feature.Status.DELETED.json())).toList()));
        });
  }

  public CompletionStage<Outcome<RunView>> run(String featureId, String runId) {
    return get(featureId).thenCompose(feature -> {
      if (feature.problem() != null) {
        return CompletableFuture.completedFuture(Outcome.<RunView>refused(feature.problem()));
      }
      boolean known = feature.value().runs().stream().anyMatch(r -> r.runId().equals(runId));
      if (!known) {
        // asking an unknown run id would start (and remember) an entity for it: only known runs are asked
        return CompletableFuture.completedFuture(Outcome.<RunView>refused(Problem.notFound("unknown_run",
            "feature " + featureId + " has no run '" + FeatureCatalog.printable(runId) + "' (GET /api/features/"
                + featureId + " lists its runs)")));
      }
      return ClusterSharding.get(system).entityRefFor(PipelineRun.ENTITY_KEY, runId)
          .<RunView>ask(PipelineRun.Get::new, askTimeout)
          .thenApply(Outcome::ok);
    });
  }

  // ---------------------------------------------------------------- changes

  public CompletionStage<Outcome<heyken.protocol.api.feature.RunAccepted>> test(FeatureRef ref, String requestedBy) {
    return withFeature(ref, id -> entity(id).<Feature.RunReply>ask(
            reply -> new Feature.RunTests(ref.revision(), requestedBy, reply), askTimeout)
        .thenApply(r -> toGitLab(id, new Outcome<>(r.run() == null ? null : FeatureApi.runAccepted(r.run()),
            FeatureApi.problem(r.refused())))));
  }

  public CompletionStage<Outcome<heyken.protocol.api.feature.DeploymentView>> deploy(FeatureRef ref,
      String requestedBy) {
    if (ref.targetCore() != null && ref.targetCore() != 1 && ref.targetCore() != 2) {
      return CompletableFuture.completedFuture(Outcome.refused(Problem.badRequest("invalid_target",
          "target_core must be 1 or 2, got " + ref.targetCore())));
    }
    if (gitlab != null && gitlab.requireMerge()) {
      // HEYKEN_REQUIRE_MERGE: the revision's merge request must be merged on GitLab; the deploy then names the
      // revision that was checked, so a newer one arriving meanwhile is not deployed unchecked
      return withFeature(ref, id -> gitlab.checkMerge(id, ref.revision()).thenCompose(check -> check.problem() != null
          ? CompletableFuture.completedFuture(Outcome.<heyken.protocol.api.feature.DeploymentView>refused(
              check.problem()))
          : entity(id).<Feature.DeployReply>ask(reply -> new Feature.Deploy(
                  check.revision() != null ? check.revision() : ref.revision(), ref.targetCore(), requestedBy, reply),
              askTimeout).thenApply(r -> new Outcome<>(r.deployment(), FeatureApi.problem(r.refused())))));
    }
    return withFeature(ref, id -> entity(id).<Feature.DeployReply>ask(
            reply -> new Feature.Deploy(ref.revision(), ref.targetCore(), requestedBy, reply), askTimeout)
        .thenApply(r -> new Outcome<>(r.deployment(), FeatureApi.problem(r.refused()))));
  }

  public CompletionStage<Outcome<heyken.protocol.api.feature.DeploymentView>> rollback(String featureId,
      String requestedBy) {
    return withFeature(new FeatureRef(featureId, null, null), id -> entity(id).<Feature.DeployReply>ask(
            reply -> new Feature.Rollback(requestedBy, reply), askTimeout)
        .thenApply(r -> new Outcome<>(r.deployment(), FeatureApi.problem(r.refused()))));
  }

  public CompletionStage<Outcome<heyken.protocol.api.feature.DeploymentView>> undeploy(String featureId,
      String requestedBy) {
    return withFeature(new FeatureRef(featureId, null, null), id -> entity(id).<Feature.DeployReply>ask(
            reply -> new Feature.Undeploy(requestedBy, reply), askTimeout)
        .thenApply(r -> new Outcome<>(r.deployment(), FeatureApi.problem(r.refused()))));
  }

  public CompletionStage<Outcome<FeatureView>> delete(String featureId, String requestedBy) {
    return withFeature(new FeatureRef(featureId, null, null), id -> entity(id).<Feature.FeatureReply>ask(
            reply -> new Feature.Delete(requestedBy, reply), askTimeout)
        .thenApply(r -> {
          if (r.refused() == null) {
            catalog.tell(new FeatureCatalog.Release(id, "deleted by " + requestedBy, system.ignoreRef()));
            var runIds = FeatureApi.view(r).runs().stream().map(FeatureView.RunSummary::runId).toList();
            runtime.blocking(() -> {
              runtime.repositories().delete(id);
              runtime.runLogs().deleteRuns(runIds);
              return null;
            }).whenComplete((v, e) -> {
              if (e != null) {
                log.warn("feature {} deleted, but its repository or logs could not be removed: {}", id, e.toString());
              }
            });
          }
          return new Outcome<>(FeatureApi.view(r), FeatureApi.problem(r.refused()));
        }));
  }

  private <T> CompletionStage<Outcome<T>> withFeature(FeatureRef ref,
      Function<String, CompletionStage<Outcome<T>>> action) {
    if (ref.featureId() == null || ref.featureId().isBlank()) {
      return CompletableFuture.completedFuture(Outcome.refused(Problem.badRequest("missing_field",
          "feature_id is required, e.g. {\"feature_id\":\"1\"}")));
    }
    if (!FeatureIds.valid(ref.featureId())) {
      return CompletableFuture.completedFuture(Outcome.refused(FeatureIds.unknown(ref.featureId())));
    }
    if (ref.revision() != null && !ref.revision().matches("[0-9a-f]{4,40}")) {
      return CompletableFuture.completedFuture(Outcome.refused(Problem.badRequest("invalid_revision",
          "revision must be a commit id (hex, 4-40 characters), got '" + FeatureCatalog.printable(ref.revision())
              + "'")));
    }
    return action.apply(ref.featureId());
  }

  // ---------------------------------------------------------------- invoke

  /**
   * Runs the deployed revision's {@code run} command in the sandbox with {@code requestJson} on standard input and
   * answers its standard output. Only the active core executes deployed features.
   */
  public CompletionStage<Outcome<InvokeResult>> invoke(String featureId, byte[] requestJson) {
    if (!node.isActive()) {
      return CompletableFuture.completedFuture(Outcome.refused(Problem.conflict("not_active",
          "core " + node.coreId() + " is the standby; deployed features run on the active core: use the documented "
              + "Sandbox Manager port (:5010)")));
    }
    return get(featureId).thenCompose(feature -> {
      if (feature.problem() != null) {
        return CompletableFuture.completedFuture(Outcome.<InvokeResult>refused(feature.problem()));
      }
      var deployment = feature.value().deployment();
      if (deployment == null) {
        return CompletableFuture.completedFuture(Outcome.<InvokeResult>refused(Problem.conflict("not_deployed",
            "feature " + featureId + " is not deployed: test it, then POST /api/features/deploy")));
      }
      return runtime.blocking(() -> Outcome.ok(invokeNow(featureId, deployment.revision(), requestJson)));
    });
  }

  /** An invocation handed to the active core (the bot's conversation of a room may live on the standby). */
  public record InvokeOnActive(String featureId, byte[] request, ActorRef<InvokeAnswer> replyTo)
      implements heyken.protocol.CborSerializable {}

  public record InvokeAnswer(InvokeResult result, Problem problem) implements heyken.protocol.CborSerializable {}

  /** Where invocations for the active core go: the FeatureInvoker singleton running {@link #invoker()}. */
  public void useInvoker(ActorRef<InvokeOnActive> invoker) {
    this.invoker = invoker;
  }

  /** Runs the invocations handed to the active core: the Guardian starts it as the FeatureInvoker singleton. */
  public org.apache.pekko.actor.typed.Behavior<InvokeOnActive> invoker() {
    return org.apache.pekko.actor.typed.javadsl.Behaviors.receiveMessage(msg -> {
      invoke(msg.featureId(), msg.request()).whenComplete((o, e) -> msg.replyTo().tell(e == null
          ? new InvokeAnswer(o.value(), o.problem())
          : new InvokeAnswer(null, Problem.unavailable("invoke_failed", "the feature could not be run: "
              + Failures.message(e)))));
      return org.apache.pekko.actor.typed.javadsl.Behaviors.same();
    });
  }

  /**
   * {@link #invoke} on whichever core is active: here when this core is, else on the active core (a chat room's
   * conversation runs on either core, deployed features only on the active one).
   */
  public CompletionStage<Outcome<InvokeResult>> invokeOnActive(String featureId, byte[] requestJson) {
    if (node.isActive()) {
      return invoke(featureId, requestJson);
    }
    Duration timeout = runtime.settings().invokeTimeout().plus(askTimeout).plusSeconds(5);
    return AskPattern.<InvokeOnActive, InvokeAnswer>ask(invoker,
            reply -> new InvokeOnActive(featureId, requestJson, reply), timeout, system.scheduler())
        .thenApply(a -> new Outcome<>(a.result(), a.problem()));
  }

  private InvokeResult invokeNow(String featureId, String revision, byte[] requestJson) {
    var settings = runtime.settings();
    var repos = runtime.repositories();
    FeatureManifest manifest = FeatureManifest.parse(repos.readFile(featureId, revision, FeatureManifest.FILE)
        .orElseThrow(() -> new IllegalStateException("the deployed revision has no " + FeatureManifest.FILE)));
    var policy = manifest.policy(settings.policy(), settings.maxPolicy());
    if (policy.wallTime().compareTo(settings.invokeTimeout()) > 0) {
      policy = policy.withWallTime(settings.invokeTimeout());
    }
    String name = "invoke-" + featureId + "-" + UUID.randomUUID().toString().substring(0, 8);
    var dir = runtime.newWorkDir(name);
    try {
      repos.checkout(featureId, revision, dir);
      var env = new LinkedHashMap<String, String>();
      env.put("HEYKEN_FEATURE_ID", featureId);
      env.put("HEYKEN_REVISION", revision);
      var spec = new SandboxSpec(runtime.jobId(name), settings.resolveImage(manifest.image()),
          List.of("/bin/sh", "-c", manifest.run()), env, dir, requestJson, policy);
      SandboxResult result = runtime.runInSlot(spec, heyken.sandbox.SandboxBackend.OutputListener.NONE);
      String stderr = stderrOf(result);
      log.info("feature {} invoked at revision {}: reason={} exit_code={} duration_ms={}", featureId,
          PipelineRun.shortRev(revision), result.reason().apiName(), result.exitCode(), result.duration().toMillis());
      return new InvokeResult(featureId, revision, result.succeeded(), result.stdout(), result.exitCode(),
          result.reason().apiName(), stderr, result.truncated(), result.duration().toMillis(), result.backend(),
          node.coreId());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while the feature ran", e);
    } finally {
      SandboxRuntime.deleteTree(dir);
    }
  }

  /** The log holds stdout and stderr interleaved; for the answer the tail of what is not stdout is enough. */
  private static String stderrOf(SandboxResult result) {
    String detail = result.detail() == null ? "" : result.detail();
    String log = result.log() == null ? "" : result.log();
    String rest = log.replace(result.stdout() == null ? "" : result.stdout(), "");
    String tail = rest.length() > 2000 ? rest.substring(rest.length() - 2000) : rest;
    return (detail.isEmpty() ? "" : detail + "\n") + tail;
  }

  // ---------------------------------------------------------------- live log

  /**
   * The output of a run as it happens, as plain text: what is stored so far, then new output as it arrives, until the
   * run has finished and everything is delivered.
   */
  public Source<ByteString, NotUsed> runLog(String featureId, String runId) {
    var store = runtime.runLogs();
    long deadline = System.nanoTime() + LOG_STREAM_MAX.toNanos();
    record Cursor(int attempt, long seq, boolean finished, boolean done) {}
    return Source.unfoldAsync(new Cursor(0, 0, false, false), cursor -> {
      if (cursor.done() || System.nanoTime() > deadline) {
        return CompletableFuture.completedFuture(Optional.empty());
      }
      return runtime.blocking(() -> store.read(runId, cursor.attempt(), cursor.seq(), 500))
          .thenCompose(chunks -> {
            if (!chunks.isEmpty()) {
              var text = new StringBuilder();
              int lastAttempt = cursor.attempt();
              for (var c : chunks) {
                if (c.attempt() != lastAttempt && lastAttempt != 0) {
                  text.append("== the run continues as attempt ").append(c.attempt())
                      .append(" (the core that ran it was lost)\n");
                }
                lastAttempt = c.attempt();
                text.append(c.text());
              }
              var last = chunks.get(chunks.size() - 1);
              return CompletableFuture.completedFuture(Optional.of(Pair.create(
                  new Cursor(last.attempt(), last.seq(), cursor.finished(), false),
                  ByteString.fromString(text.toString(), StandardCharsets.UTF_8))));
            }
            if (cursor.finished()) {
              return CompletableFuture.completedFuture(Optional.of(Pair.create(
                  new Cursor(cursor.attempt(), cursor.seq(), true, true), ByteString.emptyByteString())));
            }
            return run(featureId, runId).thenCompose(view -> {
              boolean finished = view.value() == null || view.value().finishedAt() != null;
              var next = new Cursor(cursor.attempt(), cursor.seq(), finished, false);
              // nothing new: wait a moment before asking the store again (the writer flushes every 200 ms)
              return CompletableFuture.supplyAsync(() -> Optional.of(Pair.create(next, ByteString.emptyByteString())),
                  CompletableFuture.delayedExecutor(finished ? 0 : LOG_POLL.toMillis(), TimeUnit.MILLISECONDS));
            });
          });
    }).filter(b -> !b.isEmpty());
  }

  // ---------------------------------------------------------------- helpers

  private org.apache.pekko.cluster.sharding.typed.javadsl.EntityRef<Feature.Command> entity(String featureId) {
    return ClusterSharding.get(system).entityRefFor(Feature.ENTITY_KEY, featureId);
  }

  /** The caller's mistakes found while doing the work, as problems; null for our own failures. */
  static Problem problemOf(Throwable error) {
    Throwable e = Failures.unwrap(error);
    if (e instanceof InvalidFilesException) {
      return Problem.badRequest("invalid_files", e.getMessage());
    }
    if (e instanceof CiFileException) {
      return Problem.badRequest("invalid_yaml", PipelineRun.CI_FILE + ": " + e.getMessage());
    }
    if (e instanceof FeatureManifest.InvalidManifestException) {
      return Problem.badRequest("invalid_yaml", FeatureManifest.FILE + ": " + e.getMessage());
    }
    if (e instanceof GitImportException) {
      return Problem.badRequest("git_import_failed", e.getMessage());
    }
    if (e instanceof UnknownRevisionException) {
      return Problem.notFound("unknown_revision", e.getMessage());
    }
    return null;
  }

  /** Feature ids as the catalog hands them out. */
  static final class FeatureIds {
    static boolean valid(String id) {
      return id != null && id.matches("[1-9][0-9]{0,17}");
    }

    static Problem unknown(String id) {
      return Problem.notFound("unknown_feature", "no feature with feature_id '" + FeatureCatalog.printable(
          String.valueOf(id)) + "' (feature ids are numbers; GET /api/features lists them)");
    }
  }
}
