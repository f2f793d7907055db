package heyken.actors.gitlab;

import com.fasterxml.jackson.annotation.JsonCreator;
import heyken.actors.Failures;
import heyken.actors.feature.Feature;
import heyken.actors.feature.FeatureApi;
import heyken.actors.feature.SandboxRuntime;
import heyken.protocol.CborSerializable;
import heyken.protocol.api.Problem;
import heyken.protocol.api.feature.FeatureView;
import heyken.protocol.api.feature.GitLabView;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.function.Function;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.actor.typed.SupervisorStrategy;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.Entity;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityTypeKey;
import org.apache.pekko.persistence.typed.PersistenceId;
import org.apache.pekko.persistence.typed.RecoveryCompleted;
import org.apache.pekko.persistence.typed.javadsl.CommandHandler;
import org.apache.pekko.persistence.typed.javadsl.Effect;
import org.apache.pekko.persistence.typed.javadsl.EventHandler;
import org.apache.pekko.persistence.typed.javadsl.EventSourcedBehavior;
import org.apache.pekko.persistence.typed.javadsl.RetentionCriteria;
import org.apache.pekko.persistence.typed.javadsl.SignalHandler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

/**
 * A feature's copy on GitLab, one entity per feature (sharded, event-sourced, keyed by feature id): it follows the
 * {@link Feature} by asking it for its state, pushes each revision to a branch {@code feature/<name>-r<n>} of the
 * project {@code <name>-<id>} in the configured group (created if missing), opens a merge request into
 * {@code target-branch} once a revision's local tests passed, and reads GitLab's pipeline and the merge request's
 * state back. It polls only while something is pending (a push, a merge request to open or merge, a pipeline that
 * has not finished, a GitLab error). What happened on GitLab is recorded as events; a GitLab failure never touches
 * the feature, which keeps working locally, and is shown in its state until GitLab answers again.
 *
 * <p>The first revision pushed to a project without {@code target-branch} starts that branch (nothing to merge it
 * into), so it counts as merged; every later revision gets a merge request.
 */
public final class GitLabSync extends EventSourcedBehavior<GitLabSync.Command, GitLabSync.Event, GitLabSync.State> {

  public static final EntityTypeKey<Command> ENTITY_KEY = EntityTypeKey.create(Command.class, "GitLabSync");
  public static final String TAG = "gitlab";
  private static final Logger log = LoggerFactory.getLogger(GitLabSync.class);
  private static final int MAX_POLLED_PIPELINES = 5;

  // ---------------------------------------------------------------- protocol

  public sealed interface Command extends CborSerializable {}

  /** Something changed in the feature (a revision, a test run): look at it now. */
  public record Wake() implements Command {}

  public record GetStatus(ActorRef<Status> replyTo) implements Command {}

  /**
   * Whether {@code revision} (null: the newest; or a unique prefix) may be deployed under {@code require-merge}:
   * its merge request is merged (asked from GitLab now). The answer names the full revision it checked.
   */
  public record CheckMerge(String revision, ActorRef<MergeCheck> replyTo) implements Command {}

  public record Status(GitLabView view) implements CborSerializable {}

  /** {@code problem} null: allowed (or not for GitLab to decide: the feature's own rules answer). */
  public record MergeCheck(String revision, Problem problem) implements CborSerializable {}

  private enum Poll implements Command { INSTANCE }

  private record FeatureSeen(FeatureView view, String error) implements Command {}

  private record Synced(List<Event> events, FeatureView view) implements Command {}

  private record MergeChecked(List<Event> events, MergeCheck answer, ActorRef<MergeCheck> replyTo)
      implements Command {}

  public sealed interface Event extends CborSerializable {}

  public record ProjectLinked(long projectId, String path, String webUrl, String httpUrl, Instant at)
      implements Event {}

  /** {@code startedTarget}: the push also created the (empty project's) target branch at this revision. */
  public record RevisionPushed(String revision, int number, String branch, boolean startedTarget, Instant at)
      implements Event {}

  public record MergeRequestOpened(String revision, long iid, String url, String state, Instant at) implements Event {}

  public record MergeRequestUpdated(String revision, long iid, String state, Instant at) implements Event {}

  public record PipelineUpdated(String revision, long pipelineId, String status, String url, List<JobInfo> jobs,
      Instant at) implements Event {}

  public record GitLabFailed(String error, Instant at) implements Event {}

  public record GitLabRecovered(Instant at) implements Event {}

  public record JobInfo(String name, String stage, String status) implements CborSerializable {}

  public record ProjectInfo(long id, String path, String webUrl, String httpUrl) implements CborSerializable {}

  public record MergeRequestInfo(long iid, String url, String state) implements CborSerializable {}

  public record PipelineInfo(long id, String status, String url, List<JobInfo> jobs) implements CborSerializable {}

  public record RevisionSync(String revision, int number, String branch, boolean startedTarget,
      MergeRequestInfo mergeRequest, PipelineInfo pipeline) implements CborSerializable {

    RevisionSync with(MergeRequestInfo mr) {
      return new RevisionSync(revision, number, branch, startedTarget, mr, pipeline);
    }

    RevisionSync with(PipelineInfo p) {
      return new RevisionSync(revision, number, branch, startedTarget, mergeRequest, p);
    }
  }

  public record State(ProjectInfo project, List<RevisionSync> revisions, String error, Instant errorAt)
      implements CborSerializable {

    @JsonCreator
    public State {
      revisions = revisions == null ? List.of() : revisions;
    }

    static State empty() {
      return new State(null, List.of(), null, null);
    }

    RevisionSync revision(String id) {
      return revisions.stream().filter(r -> r.revision().equals(id)).findFirst().orElse(null);
    }

    RevisionSync latest() {
      return revisions.isEmpty() ? null : revisions.get(revisions.size() - 1);
    }

    boolean targetStarted() {
      return revisions.stream().anyMatch(RevisionSync::startedTarget);
    }

    private State replace(String id, Function<RevisionSync, RevisionSync> change) {
      var next = new ArrayList<RevisionSync>();
      for (var r : revisions) {
        next.add(r.revision().equals(id) ? change.apply(r) : r);
      }
      return new State(project, next, error, errorAt);
    }

    State apply(Event event) {
      if (event instanceof ProjectLinked p) {
        return new State(new ProjectInfo(p.projectId(), p.path(), p.webUrl(), p.httpUrl()), revisions, error,
            errorAt);
      }
      if (event instanceof RevisionPushed p) {
        if (revision(p.revision()) != null) {
          return this;
        }
        var next = new ArrayList<>(revisions);
        next.add(new RevisionSync(p.revision(), p.number(), p.branch(), p.startedTarget(), null, null));
        return new State(project, next, error, errorAt);
      }
      if (event instanceof MergeRequestOpened m) {
        return replace(m.revision(), r -> r.with(new MergeRequestInfo(m.iid(), m.url(), m.state())));
      }
      if (event instanceof MergeRequestUpdated m) {
        return replace(m.revision(), r -> r.with(new MergeRequestInfo(m.iid(),
            r.mergeRequest() == null ? null : r.mergeRequest().url(), m.state())));
      }
      if (event instanceof PipelineUpdated p) {
        return replace(p.revision(), r -> r.with(new PipelineInfo(p.pipelineId(), p.status(), p.url(), p.jobs())));
      }
      if (event instanceof GitLabFailed f) {
        return new State(project, revisions, f.error(), f.at());
      }
      if (event instanceof GitLabRecovered) {
        return new State(project, revisions, null, null);
      }
      throw new IllegalArgumentException("unknown event " + event);
    }

    public GitLabView view() {
      var latest = latest();
      GitLabView.MergeRequest mr = null;
      GitLabView.Pipeline pipeline = null;
      if (latest != null) {
        if (latest.mergeRequest() != null) {
          mr = new GitLabView.MergeRequest(latest.mergeRequest().iid(), latest.mergeRequest().url(),
              latest.mergeRequest().state());
        }
        if (latest.pipeline() != null) {
          var p = latest.pipeline();
          pipeline = new GitLabView.Pipeline(p.id(), p.status(), p.url(), p.jobs() == null ? List.of()
              : p.jobs().stream().map(j -> new GitLabView.Job(j.name(), j.stage(), j.status())).toList());
        }
      }
      return new GitLabView(project == null ? null : project.path(), project == null ? null : project.webUrl(),
          latest == null ? null : latest.revision(), latest == null ? null : latest.branch(), mr, pipeline, error,
          errorAt == null ? null : errorAt.toString());
    }
  }

  // ---------------------------------------------------------------- wiring

  /**
   * What the entity needs: the git host, the settings, where a feature's bare repository is, how to read a
   * feature's current state (null: it does not exist), and a blocking executor for GitLab calls.
   */
  public record Wiring(GitHost host, GitLabSettings settings, Function<String, Path> gitDir,
      Function<String, CompletionStage<FeatureView>> features, Executor blocking) {}

  /** Registers the entity with sharding, wired to GitLab as configured (call only when GitLab is enabled). */
  public static void init(ActorSystem<?> system, GitLabSettings settings) {
    var sharding = ClusterSharding.get(system);
    var askTimeout = heyken.actors.ClusterSettings.from(system.settings().config()).askTimeout();
    Function<String, CompletionStage<FeatureView>> features = id -> sharding.entityRefFor(Feature.ENTITY_KEY, id)
        .<Feature.FeatureReply>ask(Feature.Get::new, askTimeout)
        .thenApply(reply -> reply.refused() != null ? null : FeatureApi.view(reply));
    var wiring = new Wiring(new GitLabHost(settings), settings,
        id -> SandboxRuntime.get(system).repositories().gitDir(id), features,
        system.dispatchers().lookup(DispatcherSelector.fromConfig("heyken-blocking-dispatcher")));
    sharding.init(Entity.of(ENTITY_KEY, ctx -> create(ctx.getEntityId(), wiring)).withRole("core"));
    log.info("GitLab integration on: {}", settings);
  }

  public static Behavior<Command> create(String featureId, Wiring wiring) {
    return Behaviors.setup(context -> Behaviors.withTimers(timers -> new GitLabSync(context, timers, featureId,
        wiring)));
  }

  // ---------------------------------------------------------------- behaviour

  private final ActorContext<Command> context;
  private final TimerScheduler<Command> timers;
  private final String featureId;
  private final Wiring wiring;
  private final ActorRef<Command> self; // for the blocking merge check, which runs off the actor
  // not state: a poll in progress (one at a time), and whether another was asked for meanwhile
  private boolean busy;
  private boolean again;

  private GitLabSync(ActorContext<Command> context, TimerScheduler<Command> timers, String featureId,
      Wiring wiring) {
    super(PersistenceId.of(ENTITY_KEY.name(), featureId),
        SupervisorStrategy.restartWithBackoff(Duration.ofMillis(200), Duration.ofSeconds(5), 0.2));
    this.context = context;
    this.timers = timers;
    this.featureId = featureId;
    this.wiring = wiring;
    this.self = context.getSelf();
  }

  @Override
  public State emptyState() {
    return State.empty();
  }

  @Override
  public RetentionCriteria retentionCriteria() {
    return RetentionCriteria.snapshotEvery(50, 2);
  }

  @Override
  public Set<String> tagsFor(Event event) {
    return Set.of(TAG);
  }

  @Override
  public SignalHandler<State> signalHandler() {
    // after a restart or a failover (remember-entities) look again at once: pushes may be missing
    return newSignalHandlerBuilder()
        .onSignal(RecoveryCompleted.instance(), state -> context.getSelf().tell(Poll.INSTANCE))
        .build();
  }

  @Override
  public CommandHandler<Command, Event, State> commandHandler() {
    return newCommandHandlerBuilder().forAnyState()
        .onCommand(Wake.class, (state, wake) -> poll())
        .onCommand(Poll.class, (state, p) -> poll())
        .onCommand(FeatureSeen.class, this::onFeatureSeen)
        .onCommand(Synced.class, this::onSynced)
        .onCommand(GetStatus.class, (state, get) -> Effect().reply(get.replyTo(), new Status(state.view())))
        .onCommand(CheckMerge.class, this::onCheckMerge)
        .onCommand(MergeChecked.class, (state, checked) -> Effect().persist(checked.events())
            .thenReply(checked.replyTo(), s -> checked.answer()))
        .build();
  }

  private Effect<Event, State> poll() {
    if (busy) {
      again = true;
      return Effect().none();
    }
    busy = true;
    again = false;
    timers.cancel(Poll.INSTANCE);
    context.pipeToSelf(wiring.features().apply(featureId),
        (view, error) -> new FeatureSeen(view, error == null ? null : String.valueOf(Failures.unwrap(error))));
    return Effect().none();
  }

  private Effect<Event, State> onFeatureSeen(State state, FeatureSeen seen) {
    if (seen.error() != null) {
      // the feature did not answer (a hand-over?): look again later
      busy = false;
      schedule(wiring.settings().pollInterval());
      return Effect().none();
    }
    if (seen.view() == null) {
      busy = false; // no such feature (or deleted): nothing to keep in sync
      return Effect().none();
    }
    State snapshot = state;
    context.pipeToSelf(CompletableFuture.supplyAsync(() -> sync(snapshot, seen.view()), wiring.blocking()),
        (events, error) -> new Synced(error == null ? events : List.of(new GitLabFailed(describe(error),
            Instant.now())), seen.view()));
    return Effect().none();
  }

  private Effect<Event, State> onSynced(State state, Synced synced) {
    var events = synced.events().stream()
        .filter(e -> !(e instanceof GitLabFailed f) || !f.error().equals(state.error()))
        .toList();
    return Effect().persist(events).thenRun(s -> {
      busy = false;
      if (again) {
        context.getSelf().tell(Poll.INSTANCE);
      } else if (pending(s, synced.view())) {
        schedule(wiring.settings().pollInterval());
      }
    });
  }

  private void schedule(Duration after) {
    timers.startSingleTimer(Poll.INSTANCE, Poll.INSTANCE, after);
  }

  /** Whether something is still to be done or to be seen on GitLab. */
  static boolean pending(State state, FeatureView view) {
    if (state.error() != null || "testing".equals(view.status())) {
      return true;
    }
    for (var r : view.revisions()) {
      var sync = state.revision(r.revision());
      if (sync == null || "running".equals(r.tests())) {
        return true;
      }
      if ("passed".equals(r.tests()) && sync.mergeRequest() == null && !sync.startedTarget()) {
        return true;
      }
    }
    for (var sync : pipelineCandidates(state, view)) {
      if (sync.pipeline() == null || !new GitHost.Pipeline(0, sync.pipeline().status(), null, null, null).finished()) {
        return true;
      }
    }
    return state.revisions().stream().anyMatch(r -> r.mergeRequest() != null
        && "opened".equals(r.mergeRequest().state()));
  }

  /** The revisions whose GitLab pipeline is worth following: the newest and those with an open merge request. */
  private static List<RevisionSync> pipelineCandidates(State state, FeatureView view) {
    var out = new ArrayList<RevisionSync>();
    for (int i = state.revisions().size() - 1; i >= 0 && out.size() < MAX_POLLED_PIPELINES; i--) {
      var sync = state.revisions().get(i);
      var local = view.revisions().stream().filter(r -> r.revision().equals(sync.revision())).findFirst();
      boolean hasPipeline = local.isPresent() && !"no pipeline".equals(local.get().tests());
      boolean open = sync.mergeRequest() != null && "opened".equals(sync.mergeRequest().state());
      if (hasPipeline && (i == state.revisions().size() - 1 || open)) {
        out.add(sync);
      }
    }
    return out;
  }

  /** One round of GitLab work (blocking): the events it led to, ending with a failure when GitLab failed. */
  private List<Event> sync(State start, FeatureView view) {
    MDC.put("feature", featureId);
    var events = new ArrayList<Event>();
    State state = start;
    try {
      var host = wiring.host();
      String target = wiring.settings().targetBranch();
      if (state.project() == null) {
        String description = view.description() == null ? "" : view.description();
        // GitLab limits a project's description to 2000 characters; a feature's may be longer
        var p = host.ensureProject(projectPath(view), "Heyken feature " + view.name() + " (feature_id " + featureId
            + "): " + (description.length() > 1500 ? description.substring(0, 1500) + "…" : description));
        state = record(state, events, new ProjectLinked(p.id(), p.path(), p.webUrl(), p.httpUrlToRepo(),
            Instant.now()));
      }
      var project = project(state);
      var revisions = new ArrayList<>(view.revisions());
      java.util.Collections.reverse(revisions); // oldest first: revision numbers are their order
      for (int i = 0; i < revisions.size(); i++) {
        var r = revisions.get(i);
        if (state.revision(r.revision()) != null) {
          continue;
        }
        int number = i + 1;
        String branch = "feature/" + view.name() + "-r" + number;
        boolean startTarget = false;
        if (!state.targetStarted() && host.branchHead(project, target).isEmpty()) {
          host.push(wiring.gitDir().apply(featureId), r.revision(), project, target);
          startTarget = true;
        }
        host.push(wiring.gitDir().apply(featureId), r.revision(), project, branch);
        log.info("feature {}: revision {} pushed to GitLab {} branch {}", featureId, shortRev(r.revision()),
            project.path(), branch);
        state = record(state, events, new RevisionPushed(r.revision(), number, branch, startTarget, Instant.now()));
      }
      for (var r : revisions) {
        var sync = state.revision(r.revision());
        if ("passed".equals(r.tests()) && sync.mergeRequest() == null && !sync.startedTarget()) {
          var mr = host.openMergeRequest(project, sync.branch(), target, "Heyken: " + view.name() + " r"
              + sync.number() + " (" + shortRev(sync.revision()) + ")", "Revision " + sync.revision() + " of Heyken "
              + "feature " + view.name() + " passed its local tests: " + r.message());
          state = record(state, events, new MergeRequestOpened(sync.revision(), mr.iid(), mr.webUrl(), mr.state(),
              Instant.now()));
        }
      }
      for (var sync : List.copyOf(state.revisions())) {
        var known = sync.mergeRequest();
        if (known != null && "opened".equals(known.state()) && start.revision(sync.revision()) != null
            && start.revision(sync.revision()).mergeRequest() != null) {
          var mr = host.mergeRequest(project, known.iid());
          if (!mr.state().equals(known.state())) {
            state = record(state, events, new MergeRequestUpdated(sync.revision(), mr.iid(), mr.state(),
                Instant.now()));
          }
        }
      }
      for (var sync : pipelineCandidates(state, view)) {
        if (sync.pipeline() != null && new GitHost.Pipeline(0, sync.pipeline().status(), null, null, null)
            .finished()) {
          continue;
        }
        var found = host.latestPipeline(project, sync.branch(), sync.revision());
        if (found.isPresent()) {
          var p = found.get();
          var jobs = host.jobs(project, p.id()).stream().map(j -> new JobInfo(j.name(), j.stage(), j.status()))
              .toList();
          var known = sync.pipeline();
          if (known == null || known.id() != p.id() || !known.status().equals(p.status())
              || !Objects.equals(known.jobs(), jobs)) {
            state = record(state, events, new PipelineUpdated(sync.revision(), p.id(), p.status(), p.webUrl(), jobs,
                Instant.now()));
          }
        }
      }
      if (state.error() != null) {
        log.info("feature {}: GitLab answers again", featureId);
        record(state, events, new GitLabRecovered(Instant.now()));
      }
    } catch (RuntimeException e) {
      String error = describe(e);
      if (!error.equals(state.error())) {
        log.warn("feature {}: GitLab: {}", featureId, error);
      }
      events.add(new GitLabFailed(error, Instant.now()));
    } finally {
      MDC.remove("feature");
    }
    return events;
  }

  private static State record(State state, List<Event> events, Event event) {
    events.add(event);
    return state.apply(event);
  }

  private Effect<Event, State> onCheckMerge(State state, CheckMerge check) {
    CompletionStage<MergeChecked> answer = wiring.features().apply(featureId).thenComposeAsync(view -> {
      var revision = view == null ? null : resolve(view, check.revision());
      if (revision == null || !"passed".equals(revision.tests())) {
        // unknown, untested or failed: the feature's own rules answer that
        return CompletableFuture.completedFuture(new MergeChecked(List.of(),
            new MergeCheck(revision == null ? null : revision.revision(), null), check.replyTo()));
      }
      return CompletableFuture.completedFuture(checkMerged(state, revision.revision()));
    }, wiring.blocking()).thenApply(checked -> new MergeChecked(checked.events(), checked.answer(), check.replyTo()));
    context.pipeToSelf(answer, (checked, error) -> checked != null ? checked
        : new MergeChecked(List.of(), new MergeCheck(check.revision(), Problem.unavailable("gitlab_unavailable",
            "cannot check the merge request on GitLab: " + describe(error) + "; with HEYKEN_REQUIRE_MERGE=true "
                + "nothing is deployed unchecked, try again")), check.replyTo()));
    return Effect().none();
  }

  /** Blocking: asks GitLab for the merge request's state now. */
  private MergeChecked checkMerged(State state, String revision) {
    var sync = state.revision(revision);
    String lastError = state.error() == null ? "" : " (GitLab: " + state.error() + ")";
    if (sync == null) {
      self.tell(new Wake());
      return new MergeChecked(List.of(), new MergeCheck(revision, Problem.conflict("merge_required",
          "revision " + shortRev(revision) + " is not on GitLab yet" + lastError + "; HEYKEN_REQUIRE_MERGE=true: it "
              + "is deployed once its merge request is merged")), null);
    }
    if (sync.startedTarget()) {
      return new MergeChecked(List.of(), new MergeCheck(revision, null), null);
    }
    if (sync.mergeRequest() == null) {
      self.tell(new Wake());
      return new MergeChecked(List.of(), new MergeCheck(revision, Problem.conflict("merge_required",
          "revision " + shortRev(revision) + " has no merge request on GitLab yet" + lastError + " (Heyken opens one "
              + "once its tests pass); HEYKEN_REQUIRE_MERGE=true: it is deployed once that is merged")), null);
    }
    var known = sync.mergeRequest();
    GitHost.MergeRequest mr;
    try {
      mr = wiring.host().mergeRequest(project(state), known.iid());
    } catch (RuntimeException e) {
      return new MergeChecked(List.of(), new MergeCheck(revision, Problem.unavailable("gitlab_unavailable",
          "cannot check merge request !" + known.iid() + " on GitLab: " + describe(e) + "; with "
              + "HEYKEN_REQUIRE_MERGE=true nothing is deployed unchecked, try again")), null);
    }
    List<Event> events = mr.state().equals(known.state()) ? List.of()
        : List.of(new MergeRequestUpdated(revision, mr.iid(), mr.state(), Instant.now()));
    if (mr.merged()) {
      return new MergeChecked(events, new MergeCheck(revision, null), null);
    }
    return new MergeChecked(events, new MergeCheck(revision, Problem.conflict("merge_required",
        "revision " + shortRev(revision) + " cannot be deployed yet: HEYKEN_REQUIRE_MERGE=true and its merge request !"
            + mr.iid() + " is " + mr.state() + " — merge MR !" + mr.iid() + " first: " + known.url())), null);
  }

  private static FeatureView.RevisionView resolve(FeatureView view, String revision) {
    if (revision == null) {
      return view.revisions().isEmpty() ? null : view.revisions().get(0);
    }
    var matches = view.revisions().stream().filter(r -> r.revision().startsWith(revision)).toList();
    return matches.size() == 1 ? matches.get(0) : null;
  }

  private String projectPath(FeatureView view) {
    return view.name() + "-" + featureId;
  }

  private static GitHost.Project project(State state) {
    var p = state.project();
    return new GitHost.Project(p.id(), p.path(), p.webUrl(), p.httpUrl(), null);
  }

  private static String describe(Throwable error) {
    Throwable e = Failures.unwrap(error);
    return e instanceof GitHostException ? e.getMessage() : String.valueOf(e);
  }

  static String shortRev(String revision) {
    return revision.length() > 8 ? revision.substring(0, 8) : revision;
  }

  @Override
  public EventHandler<State, Event> eventHandler() {
    return newEventHandlerBuilder().forAnyState().onAnyEvent(State::apply);
  }
}
