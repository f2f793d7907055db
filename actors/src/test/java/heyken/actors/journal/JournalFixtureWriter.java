package heyken.actors.journal;

import heyken.actors.bot.BotCommand;
import heyken.actors.upgrade.BuildVersion;
import heyken.actors.upgrade.Upgrade;
import heyken.actors.bot.ChatGateway;
import heyken.actors.bot.Conversation;
import heyken.actors.core.CoreManager;
import heyken.actors.core.DeploymentLedger;
import heyken.actors.core.ServiceLedger;
import heyken.actors.feature.Feature;
import heyken.actors.feature.FeatureAuthor;
import heyken.actors.feature.FeatureCatalog;
import heyken.actors.feature.PipelineRun;
import heyken.actors.feature.RunStatus;
import heyken.actors.gitlab.GitLabSync;
import heyken.actors.registry.ComponentRegistry;
import heyken.actors.services.ServiceSpec;
import heyken.actors.support.TestStore;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.apache.pekko.Done;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.persistence.typed.PersistenceId;
import org.apache.pekko.persistence.typed.javadsl.CommandHandler;
import org.apache.pekko.persistence.typed.javadsl.EventHandler;
import org.apache.pekko.persistence.typed.javadsl.EventSourcedBehavior;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

/**
 * Writes the journal fixture with the CURRENT code (see docs/journal-compatibility.md). Disabled unless asked for:
 * <pre>
 * mvn -B -ntp -o -pl actors -am test -Dtest=JournalFixtureWriter -Dsurefire.failIfNoSpecifiedTests=false \
 *     -Dheyken.journal-fixture.write=true
 * </pre>
 * Every event type of every event-sourced entity is persisted through the real persistence plugin into an embedded
 * store (two persistence ids per entity: one replayed from its events only, one recovered from a snapshot of its
 * state plus later events), the plugin's raw documents are dumped to {@code journal-fixture/*.jsonl}, and the state
 * each persistence id recovers to is recorded in {@code states.json}. Never regenerate to hide a break: a fixture
 * that no longer recovers means journals in the field no longer recover.
 */
@EnabledIfSystemProperty(named = "heyken.journal-fixture.write", matches = "true")
class JournalFixtureWriter {

  static final Instant T0 = Instant.parse("2026-12-06T10:00:00Z");

  static Instant t(int seconds) {
    return T0.plusSeconds(seconds);
  }

  /** The events of one persistence id, and after how many of them a snapshot of the state is taken (0: none). */
  record Written(String persistenceId, List<Object> events, int snapshotAfter) {}

  static List<Written> journal() {
    var all = new ArrayList<Written>();
    // ------------------------------------------------ CoreManager: activation, deployments, services
    var spec = new ServiceSpec("cache", "redis:7", Map.of("MODE", "lru"),
        List.of(new ServiceSpec.PortBinding("127.0.0.1", 6390, 6379, "tcp")), List.of("redis-server", "--save", ""),
        new ServiceSpec.Healthcheck(List.of("CMD", "redis-cli", "ping"), 5000, 2000, 3, 1000), "always");
    var other = new ServiceSpec("web", "nginx:1", Map.of(), List.of(), List.of(), null, "on-failure");
    List<Object> core = List.of(
        new CoreManager.CoreActivated(1, 1, null, "first start", t(1)),
        new CoreManager.InstallationIdentified("0123456789abcdef0123456789abcdef", 1, t(1)),
        new CoreManager.FeatureDeployed("1", "abc1234", "weather", 1, t(2)),
        new CoreManager.FeatureDeployed("2", "def5678", "joke", 1, t(3)),
        new CoreManager.ServiceAdded(spec, "alice", 1, t(4)),
        new CoreManager.ServiceAdded(other, "alice", 1, t(5)),
        new CoreManager.ServiceStopped("cache", "bob", 1, t(6)),
        new CoreManager.SwitchRequested(1, 2, 1, t(7)),
        new CoreManager.CoreActivated(2, 2, 1, "planned switch from core 1", t(8)),
        new CoreManager.ServiceStarted("cache", "bob", 2, t(9)),
        new CoreManager.ServiceRestarted("cache", "bob", 2, t(10)),
        new CoreManager.ServiceRemoved("web", "alice", 2, t(11)),
        new CoreManager.FeatureUndeployed("2", 2, t(12)),
        new CoreManager.FeatureDeployed("3", "0aa0aa0", null, 2, t(13)),
        new CoreManager.CoreActivated(1, 3, 2, "failover: core 2 (epoch 2) was lost", t(14)));
    all.add(new Written("core-manager", core, 0));
    all.add(new Written("core-manager~snapshot", core, 12));
    // ------------------------------------------------ the ledgers (since the CoreManager does only activation).
    // Not under their production ids: the fixture's core-manager journal is also the old journal they import from.
    var imported = new TreeMap<String, CoreManager.DeployedFeature>(Map.of(
        "1", new CoreManager.DeployedFeature("abc1234", "weather", 1, t(2))));
    List<Object> deployments = List.of(
        new DeploymentLedger.DeploymentsImported(imported, t(15)),
        new CoreManager.FeatureDeployed("4", "f00f00f", "echo", 3, t(16)),
        new CoreManager.FeatureUndeployed("1", 3, t(17)),
        new CoreManager.FeatureDeployed("5", "abcabca", null, 3, t(18)));
    all.add(new Written("core-deployments~events", deployments, 0));
    all.add(new Written("core-deployments~snapshot", deployments, 2));
    List<Object> services = List.of(
        new ServiceLedger.ServicesImported("0123456789abcdef0123456789abcdef", Map.of("cache",
            new heyken.actors.services.DesiredService(spec, false, t(4), "alice")), t(15)),
        new CoreManager.ServiceAdded(other, "carol", 3, t(16)),
        new CoreManager.ServiceStarted("cache", "carol", 3, t(17)),
        new CoreManager.ServiceStopped("web", "carol", 3, t(18)),
        new CoreManager.ServiceRestarted("cache", "carol", 3, t(19)),
        new CoreManager.ServiceRemoved("web", "carol", 3, t(20)));
    all.add(new Written("core-services~events", services, 0));
    all.add(new Written("core-services~snapshot", services, 3));
    // ------------------------------------------------ FeatureCatalog
    List<Object> catalog = List.of(
        new FeatureCatalog.NameReserved("1", "weather", "alice", t(20)),
        new FeatureCatalog.NameReserved("2", "joke", "bob", t(21)),
        new FeatureCatalog.NameReleased("2", "joke", "deleted", t(22)),
        new FeatureCatalog.NameReserved("3", "echo", "alice", t(23)));
    all.add(new Written("feature-catalog", catalog, 0));
    all.add(new Written("feature-catalog~snapshot", catalog, 3));
    // ------------------------------------------------ ComponentRegistry
    List<Object> registry = List.of(
        new ComponentRegistry.ComponentRegistered("core-1", "http://127.0.0.1:5121", "http://127.0.0.1:7626/ready",
            "0.1.0", "core-1", 1, t(30)),
        new ComponentRegistry.ComponentRegistered("my-service", "http://127.0.0.1:9000", null, null, "alice", 1,
            t(31)),
        new ComponentRegistry.ComponentDeregistered("my-service", "alice", 2, t(32)));
    all.add(new Written("component-registry", registry, 0));
    all.add(new Written("component-registry~snapshot", registry, 2));
    // ------------------------------------------------ ChatGateway: high-water marks
    List<Object> chat = List.of(
        new ChatGateway.ReplyPosted("m1", "GENERAL", t(40), t(41)),
        new ChatGateway.ReplyPosted("m2", "room-2", t(42), t(43)),
        new ChatGateway.ReplyPosted("m3", "GENERAL", t(44), t(45)));
    all.add(new Written("chat-gateway", chat, 0));
    all.add(new Written("chat-gateway~snapshot", chat, 2));
    // ------------------------------------------------ Feature
    var r1 = new Feature.RevisionInfo("abc1234", "first", "api", t(50), true, true, "weather");
    var r2 = new Feature.RevisionInfo("bcd2345", "second", "git", t(51), true, true, "weather");
    var r3 = new Feature.RevisionInfo("cde3456", "draft", "chat", t(52), false, false, null);
    List<Object> feature = List.of(
        new Feature.FeatureCreated("1", "weather", "the weather for a city", "alice", t(50)),
        new Feature.RevisionAdded(r1, "alice"),
        new Feature.TestRunStarted("run-1", "abc1234", "alice", t(53)),
        new Feature.TestRunFinished("run-1", "abc1234", RunStatus.PASSED, "1 of 1 jobs passed", t(54)),
        new Feature.Deployed("abc1234", "weather", 1, 1, "bob", t(55)),
        new Feature.RevisionAdded(r2, "alice"),
        new Feature.TestRunStarted("run-2", "bcd2345", "alice", t(56)),
        new Feature.TestRunFinished("run-2", "bcd2345", RunStatus.PASSED, "1 of 1 jobs passed", t(57)),
        new Feature.Deployed("bcd2345", "weather", 2, 2, "bob", t(58)),
        new Feature.RolledBack("bcd2345", "abc1234", 2, 2, "bob", t(59)),
        new Feature.Undeployed("abc1234", 2, 2, "bob", t(60)),
        new Feature.RevisionAdded(r3, "carol"),
        new Feature.TestRunStarted("run-3", "cde3456", "carol", t(61)));
    all.add(new Written("Feature|1", feature, 0));
    all.add(new Written("Feature|4", feature, 9));
    List<Object> deleted = List.of(
        new Feature.FeatureCreated("2", "joke", "a joke", "bob", t(62)),
        new Feature.FeatureDeleted("bob", t(63)));
    all.add(new Written("Feature|2", deleted, 0));
    // ------------------------------------------------ PipelineRun (the sandbox runner)
    var jobs = List.of(new PipelineRun.PlannedJob("build", "build", "heyken-runtime"),
        new PipelineRun.PlannedJob("test", "test", "heyken-runtime"));
    List<Object> run = List.of(
        new PipelineRun.RunRequested("run-1", "1", "abc1234", "alice", t(70)),
        new PipelineRun.AttemptStarted(1, 1, t(71)),
        new PipelineRun.PipelinePlanned(jobs, List.of("only: is ignored"), t(72)),
        new PipelineRun.JobFinished(1, 0, new PipelineRun.JobRecord("build", "build", "passed", 0, null, 120L,
            "docker", "heyken-runtime", null, "built\n"), 1, t(73)),
        new PipelineRun.AttemptStarted(2, 2, t(74)),
        new PipelineRun.JobFinished(2, 1, new PipelineRun.JobRecord("test", "test", "failed", 1, "exit status 1",
            80L, "bubblewrap", null, "1 failing", "FAIL x\n"), 2, t(75)),
        new PipelineRun.RunFinished(RunStatus.FAILED, "1 of 2 jobs failed", t(76)),
        new PipelineRun.RunReported(t(77)));
    all.add(new Written("PipelineRun|run-1", run, 0));
    all.add(new Written("PipelineRun|run-2", run, 4));
    // ------------------------------------------------ FeatureAuthor
    List<Object> author = List.of(
        new FeatureAuthor.AuthoringStarted("1", "weather", "weather", "the weather for a city", 3, "qwen2.5-coder",
            "alice", t(80)),
        new FeatureAuthor.AttemptRefused(1, "invalid_answer", "no files in the answer", t(81)),
        new FeatureAuthor.AttemptAnswered(2, "a shell script", "sh test.sh", Map.of("run.sh", "echo hi\n",
            "test.sh", "sh run.sh | grep hi\n"), "stop", t(82)),
        new FeatureAuthor.AttemptCommitted(2, "abc1234", t(83)),
        new FeatureAuthor.AttemptTestStarted(2, "run-1", t(84)),
        new FeatureAuthor.AttemptTested(2, "run-1", "failed", "1 of 1 jobs failed", "grep found nothing", t(85)),
        new FeatureAuthor.AttemptAnswered(3, "fixed", "sh test.sh", Map.of("run.sh", "echo hi\n"), "stop", t(86)),
        new FeatureAuthor.AttemptCommitted(3, "bcd2345", t(87)),
        new FeatureAuthor.AttemptTestStarted(3, "run-2", t(88)),
        new FeatureAuthor.AttemptTested(3, "run-2", "passed", "1 of 1 jobs passed", null, t(89)),
        new FeatureAuthor.AuthoringPassed(3, "bcd2345", t(90)),
        new FeatureAuthor.AutoDeployTried("bcd2345", "command_taken", t(91)));
    all.add(new Written("FeatureAuthor|1", author, 0));
    all.add(new Written("FeatureAuthor|5", author, 6));
    all.add(new Written("FeatureAuthor|2", List.of(
        new FeatureAuthor.AuthoringStarted("2", "joke", null, "a joke", 1, "qwen2.5-coder", "bob", t(92)),
        new FeatureAuthor.AuthoringFailed("the model is down", t(93))), 0));
    // ------------------------------------------------ Conversation: every kind of bot command in a confirmation
    List<BotCommand> commands = List.of(new BotCommand.Help(), new BotCommand.Status(), new BotCommand.Logs(5, "WARN"),
        new BotCommand.Features(), new BotCommand.FeatureCreate("weather", "the weather"),
        new BotCommand.FeatureTest("1"), new BotCommand.Deploy("1"), new BotCommand.Rollback("1"),
        new BotCommand.Switch(2), new BotCommand.Services(),
        new BotCommand.ServiceChange("add", "cache", "redis:7", List.of("redis-server")), new BotCommand.WhoAmI(),
        new BotCommand.Invoke("weather", "Paris"), new BotCommand.Question("why?"),
        new BotCommand.Malformed("!deploy <feature-id>"));
    // the committed fixture holds the kind "question" and the outcome "confirmed", written before these were typed and
    // never by the entity itself: they prove that an unknown name reads as OTHER (a regeneration writes "other")
    var conversation = new ArrayList<Object>();
    conversation.add(new Conversation.MessageAnswered("m1", "u1", "alice", "!status", "core 1 is active", Conversation.AnswerKind.COMMAND,
        t(100)));
    int i = 0;
    for (var command : commands) {
      i++;
      conversation.add(new Conversation.ConfirmationRequested("tok-" + i, "u1", command, t(200 + i), t(100 + i)));
      if (i % 2 == 0) {
        conversation.add(new Conversation.ActionDecided("tok-" + i, "u1", command.action(),
            i % 4 == 0 ? Conversation.Decision.of("confirmed") : Conversation.Decision.CANCELLED, "done", t(101 + i)));
      }
    }
    conversation.add(new Conversation.MessageAnswered("m2", "u2", "bob", "what is heyken?", "a system", Conversation.AnswerKind.of("question"),
        t(130)));
    all.add(new Written("Conversation|GENERAL", conversation, 0));
    all.add(new Written("Conversation|room-2", conversation, 10));
    // ------------------------------------------------ GitLabSync
    List<Object> gitlab = List.of(
        new GitLabSync.ProjectLinked(7, "heyken/weather", "http://gitlab/heyken/weather",
            "http://gitlab/heyken/weather.git", t(140)),
        new GitLabSync.RevisionPushed("abc1234", 1, "heyken/r1", true, t(141)),
        new GitLabSync.MergeRequestOpened("abc1234", 3, "http://gitlab/heyken/weather/-/merge_requests/3", "opened",
            t(142)),
        new GitLabSync.PipelineUpdated("abc1234", 11, "running", "http://gitlab/p/11",
            List.of(new GitLabSync.JobInfo("test", "test", "running")), t(143)),
        new GitLabSync.GitLabFailed("connection refused", t(144)),
        new GitLabSync.GitLabRecovered(t(145)),
        new GitLabSync.MergeRequestUpdated("abc1234", 3, "merged", t(146)),
        new GitLabSync.PipelineUpdated("abc1234", 11, "success", "http://gitlab/p/11",
            List.of(new GitLabSync.JobInfo("test", "test", "success")), t(147)));
    all.add(new Written("GitLabSync|1", gitlab, 0));
    all.add(new Written("GitLabSync|4", gitlab, 4));
    // ------------------------------------------------ chat `upgrade <ref>` (added with the upgrade; its own room, so
    // that the states of the rooms above stay as they were recorded)
    all.add(new Written("Conversation|upgrade-room", List.of(
        new Conversation.ConfirmationRequested("tok-u", "u1", new BotCommand.SelfUpgrade("main"), t(300), t(250)),
        new Conversation.ActionDecided("tok-u", "u1", "upgrade", Conversation.Decision.of("confirmed"), "Upgrade u1 started", t(251))), 0));
    // ------------------------------------------------ Upgrade: a rolled-back upgrade, a committed one, a refused one
    var v1 = new BuildVersion("aaaa1111bbbb", false, "2026-12-06T20:00:00Z", "1.7.0");
    var v2 = new BuildVersion("cccc2222dddd", true, "2026-12-06T21:00:00Z", "1.7.0");
    List<Object> upgrade = List.of(
        new Upgrade.UpgradeRequested("u1", "main", null, "chat:u1", "/data/jars/old.jar", v1, 2, 1, List.of("store"),
            t(260)),
        new Upgrade.StepStarted("u1", Upgrade.BUILD, null, t(261)),
        new Upgrade.StepSucceeded("u1", Upgrade.BUILD, "built", "BUILD SUCCESS", "/data/jars/new.jar", v2, t(262)),
        new Upgrade.StepStarted("u1", Upgrade.RESTART_STANDBY, 2, t(263)),
        new Upgrade.StepFailed("u1", Upgrade.RESTART_STANDBY, "core 2 did not become ready", null, t(264)),
        new Upgrade.RollbackStarted("u1", "restart-standby failed: core 2 did not become ready", "chat:u1", t(265)),
        new Upgrade.StepStarted("u1", Upgrade.RESTORE, null, t(266)),
        new Upgrade.StepSucceeded("u1", Upgrade.RESTORE, "core 2 runs the old version", null, null, null, t(267)),
        new Upgrade.UpgradeRolledBack("u1", "restart-standby failed", "chat:u1", t(268)),
        new Upgrade.UpgradeRequested("u2", null, "/tmp/new.jar", "api", "/data/jars/old.jar", v1, 2, 1, List.of(),
            t(270)),
        new Upgrade.UpgradeCommitted("u2", v2.label(), "api", t(271)),
        new Upgrade.UpgradeRequested("u3", "v9", null, "api", "/data/jars/new.jar", v2, 1, 2, List.of(), t(272)),
        new Upgrade.UpgradeFailed("u3", "incompatible serializer bindings", "api", t(273)));
    all.add(new Written("upgrade", upgrade, 0));
    all.add(new Written("upgrade~snapshot", upgrade, 9));
    return all;
  }

  // ---------------------------------------------------------------- writing through the real plugin

  record Append(List<Object> events, int snapshotAfter, ActorRef<Done> replyTo) {}

  /** Persists the given events with the entity's tag; snapshots the entity's state (its own fold) when asked. */
  static Behavior<Append> writer(String persistenceId) {
    return new Writer(persistenceId);
  }

  private static final class Writer extends EventSourcedBehavior<Append, Object, Object> {
    private final JournalEntities.Entity entity;
    private final String entityId;
    private long snapshotAt = -1;

    Writer(String persistenceId) {
      super(PersistenceId.ofUniqueId(persistenceId));
      this.entity = JournalFixture.entityOf(persistenceId);
      this.entityId = JournalFixture.entityId(persistenceId);
    }

    @Override
    public Object emptyState() {
      return entity.empty().apply(entityId);
    }

    @Override
    public Set<String> tagsFor(Object event) {
      return Set.of(entity.tag());
    }

    @Override
    public boolean shouldSnapshot(Object state, Object event, long sequenceNr) {
      return sequenceNr == snapshotAt;
    }

    @Override
    public CommandHandler<Append, Object, Object> commandHandler() {
      return newCommandHandlerBuilder().forAnyState().onCommand(Append.class, (state, append) -> {
        snapshotAt = append.snapshotAfter() > 0 ? append.snapshotAfter() : -1;
        return Effect().persist(append.events()).thenReply(append.replyTo(), s -> Done.getInstance());
      }).build();
    }

    @Override
    public EventHandler<Object, Object> eventHandler() {
      return newEventHandlerBuilder().forAnyState().onAnyEvent(entity::apply);
    }
  }

  /**
   * Adds the persistence ids the fixture does not hold yet. What it holds is loaded into the store first and dumped
   * again unchanged: regenerating never rewrites the documents an earlier version wrote (they are the proof that old
   * journals recover), nor their recorded states.
   */
  @Test
  void writeTheFixture() throws Exception {
    Path dir = JournalFixture.DIR;
    Files.createDirectories(dir);
    try (var store = new TestStore()) {
      var states = JournalFixture.mapper().createObjectNode();
      var statesFile = dir.resolve(JournalFixture.STATES);
      if (Files.exists(statesFile)) {
        JournalFixture.load(store.uri(), dir);
        states = (com.fasterxml.jackson.databind.node.ObjectNode) JournalFixture.mapper().readTree(
            Files.readString(statesFile));
      }
      var testKit = ActorTestKit.create("journal-fixture-writer", store.config(""));
      try {
        var known = states;
        var written = journal().stream().filter(w -> !known.has(w.persistenceId())).toList();
        for (var w : written) {
          var done = testKit.<Done>createTestProbe();
          var writer = testKit.spawn(writer(w.persistenceId()));
          writer.tell(new Append(w.events(), w.snapshotAfter(), done.ref()));
          done.receiveMessage(Duration.ofSeconds(20));
          testKit.stop(writer);
        }
        // the states as the real plugin recovers them (snapshots are saved after the events: wait for them)
        long snapshots = written.stream().filter(w -> w.snapshotAfter() > 0).count();
        JournalFixture.awaitSnapshots(store.uri(), snapshots, Duration.ofSeconds(30), written.stream()
            .filter(w -> w.snapshotAfter() > 0).map(Written::persistenceId).toList());
        for (var w : written) {
          var entity = JournalFixture.entityOf(w.persistenceId());
          var expected = JournalFixture.canonical(entity.fold(JournalFixture.entityId(w.persistenceId()),
              w.events()));
          var recovered = JournalFixtureTest.recover(testKit, w.persistenceId());
          if (!expected.equals(recovered)) {
            throw new AssertionError(w.persistenceId() + " recovered to\n" + recovered + "\nnot\n" + expected);
          }
          states.set(w.persistenceId(), recovered);
        }
        try (var files = Files.list(dir)) {
          for (Path f : files.toList()) {
            Files.delete(f);
          }
        }
        JournalFixture.dump(store.uri(), dir);
        var sorted = JournalFixture.mapper().createObjectNode();
        var names = new java.util.TreeSet<String>();
        states.fieldNames().forEachRemaining(names::add);
        for (String name : names) {
          sorted.set(name, states.get(name));
        }
        Files.writeString(statesFile, JournalFixture.mapper().writeValueAsString(sorted) + "\n",
            StandardCharsets.UTF_8);
      } finally {
        testKit.shutdownTestKit();
      }
    }
  }
}
