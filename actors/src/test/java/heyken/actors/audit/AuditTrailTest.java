package heyken.actors.audit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import heyken.actors.core.DeploymentLedger;
import heyken.actors.feature.Feature;
import heyken.actors.feature.FeatureApi;
import heyken.actors.feature.PipelineRun;
import heyken.actors.support.TestStore;
import heyken.protocol.api.AuditEntry;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.apache.pekko.Done;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The audit reads the real MongoDB journal (the persistence plugin on an embedded store): a feature's history in
 * order, and a replay of its journal that equals what the live entity reports.
 */
class AuditTrailTest {

  private static TestStore store;
  private static ActorTestKit testKit;
  private static AuditTrail audit;

  @BeforeAll
  static void start() {
    store = new TestStore();
    testKit = ActorTestKit.create("audit-test", store.config(""));
    PipelineRun.init(testKit.system()); // runs are started through sharding; this cluster never forms
    audit = new AuditTrail(testKit.system());
  }

  @AfterAll
  static void stop() {
    testKit.shutdownTestKit();
    store.close();
  }

  private static <T> T await(java.util.concurrent.CompletionStage<T> stage) throws Exception {
    return stage.toCompletableFuture().get(10, java.util.concurrent.TimeUnit.SECONDS);
  }

  /** A feature with a passed run, deployed by a DeploymentLedger stand-in (core 2, epoch 9). */
  private ActorRef<Feature.Command> livedFeature(String id) {
    TestProbe<DeploymentLedger.Command> ledger = testKit.createTestProbe();
    var feature = testKit.spawn(Feature.create(id, ledger.ref()));
    var replies = testKit.<Feature.FeatureReply>createTestProbe();
    feature.tell(new Feature.Create("audited" + id, "for the audit", new Feature.RevisionInfo("abc1234" + id,
        "first", "api", Instant.now(), true, true, "audited"), "alice", replies.ref()));
    assertNull(replies.receiveMessage(Duration.ofSeconds(10)).refused());
    var runs = testKit.<Feature.RunReply>createTestProbe();
    feature.tell(new Feature.RunTests(null, "alice", runs.ref()));
    String runId = runs.receiveMessage(Duration.ofSeconds(10)).run().runId();
    var done = testKit.<Done>createTestProbe();
    feature.tell(new Feature.RunCompleted(runId, "abc1234" + id, heyken.actors.feature.RunStatus.PASSED, "1 of 1 jobs passed", done.ref()));
    done.receiveMessage(Duration.ofSeconds(10));
    var deployed = testKit.<Feature.DeployReply>createTestProbe();
    feature.tell(new Feature.Deploy(null, null, "bob", deployed.ref()));
    ledger.expectMessageClass(DeploymentLedger.ActivateDeployment.class, Duration.ofSeconds(10)).replyTo()
        .tell(DeploymentLedger.DeploymentOutcome.made(2, 9));
    assertNull(deployed.receiveMessage(Duration.ofSeconds(10)).refused());
    return feature;
  }

  @Test
  void aFeaturesHistoryIsItsEventsInOrderWithWhoAndWhere() throws Exception {
    livedFeature("41");
    List<AuditEntry> history = await(audit.feature("41"));
    assertEquals(List.of("FeatureCreated", "RevisionAdded", "TestRunStarted", "TestRunFinished", "Deployed"),
        history.stream().map(AuditEntry::type).toList());
    assertEquals("feature:41", history.get(0).entity());
    assertEquals("alice", history.get(0).requestedBy());
    AuditEntry deployed = history.get(4);
    assertEquals("bob", deployed.requestedBy());
    assertEquals(2, deployed.core());
    assertEquals(9L, deployed.epoch());
  }

  @Test
  void replayingTheJournalGivesWhatTheLiveEntityReports() throws Exception {
    var feature = livedFeature("42");
    var live = testKit.<Feature.FeatureReply>createTestProbe();
    feature.tell(new Feature.Get(live.ref()));
    var liveView = FeatureApi.view(live.receiveMessage(Duration.ofSeconds(10)));
    var replayed = FeatureApi.view(await(audit.replayFeature("42")));
    assertEquals(liveView, replayed);
    assertEquals("deployed", replayed.status());
  }

  @Test
  void theTimelineFiltersAndPagesWithoutLosingOrRepeating() throws Exception {
    livedFeature("43");
    var filter = new AuditTrail.Filter(null, null, "feature:43", null);
    var first = await(audit.timeline(filter, null, 2));
    assertEquals(2, first.entries().size());
    assertNotNull(first.next());
    var second = await(audit.timeline(filter, first.next(), 2));
    var third = await(audit.timeline(filter, second.next(), 2));
    assertNull(third.next());
    var all = new java.util.ArrayList<AuditEntry>();
    all.addAll(first.entries());
    all.addAll(second.entries());
    all.addAll(third.entries());
    assertEquals(5, all.size());
    assertEquals(5, all.stream().map(e -> e.sequenceNr()).distinct().count());
    var deploys = await(audit.timeline(new AuditTrail.Filter(null, null, "feature", "Deployed"), null, 100));
    assertTrue(deploys.entries().stream().allMatch(e -> e.type().equals("Deployed")), deploys.toString());
    var future = await(audit.timeline(new AuditTrail.Filter(Instant.now().plusSeconds(3600), null, null, null),
        null, 100));
    assertTrue(future.entries().isEmpty());
    assertThrows(IllegalArgumentException.class, () -> audit.timeline(filter, "not-a-cursor", 2));
  }
}
