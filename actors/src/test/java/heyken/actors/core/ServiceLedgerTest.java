package heyken.actors.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import heyken.actors.services.FakeServiceEngine;
import heyken.actors.services.ServiceReconciler;
import heyken.actors.services.ServiceSettings;
import heyken.actors.services.ServiceSpec;
import heyken.actors.store.MongoStore;
import heyken.actors.support.TestStore;
import heyken.testkit.Await;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.persistence.testkit.javadsl.EventSourcedBehaviorTestKit;
import org.apache.pekko.persistence.typed.PersistenceId;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The ServiceLedger: service changes are events that survive a restart, refusals leave no
 * event, and its reconciler (here on an engine in memory) acts only under the current epoch of a real CoreManager.
 */
class ServiceLedgerTest {

  private static TestStore store;
  private static ActorTestKit testKit;
  private static com.mongodb.client.MongoClient mongo;
  private static int testNumber;
  private static final java.util.concurrent.ExecutorService BLOCKING = Executors.newFixedThreadPool(2);

  @BeforeAll
  static void start() {
    store = new TestStore();
    testKit = ActorTestKit.create("service-ledger-test",
        EventSourcedBehaviorTestKit.config().withFallback(store.config("")));
    mongo = MongoStore.create(store.uri(), Duration.ofSeconds(2));
  }

  @AfterAll
  static void stop() {
    mongo.close();
    testKit.shutdownTestKit();
    store.close();
    BLOCKING.shutdownNow();
  }

  private EventSourcedBehaviorTestKit<ServiceLedger.Command, ServiceLedger.Event, ServiceLedger.State> kit;
  private CoreNode node;
  private EpochFence fence;
  private FakeServiceEngine engine;

  @BeforeEach
  void fresh() {
    testNumber++;
    var pid = PersistenceId.ofUniqueId("core-manager-services-" + testNumber);
    fence = new EpochFence(mongo.getDatabase("services-fence-" + testNumber));
    node = new CoreNode(1);
    engine = new FakeServiceEngine();
    var settings = new ServiceSettings("none", "127.0.0.1", Duration.ofMillis(100), Duration.ofMillis(200),
        Duration.ofSeconds(1), Duration.ofSeconds(30), 1000, "unix:///nowhere", "http://127.0.0.1:5010");
    var wiring = new ServiceReconciler.Wiring(engine, settings, BLOCKING, fence::supersededBecause, () -> null);
    var coreManager = testKit.spawn(CoreManager.create(node, fence, Duration.ofMillis(100), pid));
    var writes = new FencedWrites(fence, MongoStore.get(testKit.system()));
    kit = EventSourcedBehaviorTestKit.create(testKit.system(), ServiceLedger.create(node, writes, coreManager, wiring,
        PersistenceId.ofUniqueId("service-ledger-" + testNumber)));
    await("core 1 active", node::isActive);
    await("the ledger's import recorded", () -> kit.getState().imported());
  }

  private static ServiceSpec spec(String name) {
    return ServiceSpec.validate(new heyken.protocol.api.service.ServiceRequest(name, "sandbox/busybox:1", null,
        List.of("18080:80"), List.of("sleep", "1000"), null, null), "127.0.0.1").spec();
  }

  private EventSourcedBehaviorTestKit.CommandResultWithReply<ServiceLedger.Command, ServiceLedger.Event,
      ServiceLedger.State, ServiceLedger.ServiceOutcome> add(ServiceSpec spec) {
    return kit.runCommand(r -> new ServiceLedger.AddService(spec, "test", r));
  }

  private EventSourcedBehaviorTestKit.CommandResultWithReply<ServiceLedger.Command, ServiceLedger.Event,
      ServiceLedger.State, ServiceLedger.ServiceOutcome> change(String name, String action) {
    return kit.runCommand(r -> new ServiceLedger.ChangeService(name, action, "test", r));
  }

  @Test
  void theInstallationIdIsTakenOverFromTheCoreManagersFirstActivation() {
    var first = add(spec("web"));
    assertNull(first.reply().problem());
    assertNotNull(kit.getState().installationId());
    assertTrue(kit.getState().imported());
  }

  @Test
  void anAddedServiceIsAnEventAndTheReconcilerCreatesItsLabelledContainer() {
    var result = add(spec("web"));
    assertNull(result.reply().problem());
    assertTrue(result.event() instanceof CoreManager.ServiceAdded, result.events().toString());
    String installation = kit.getState().installationId();
    assertNotNull(installation);
    await("the container created and running", () -> engine.idsOf("web").size() == 1
        && engine.containers.get(engine.idsOf("web").get(0)).running());
    assertEquals(installation, engine.installationOf.get(engine.idsOf("web").get(0)));
  }

  @Test
  void envValuesReachTheEngineAndTheJournalButNoLogLine() {
    var context = (ch.qos.logback.classic.LoggerContext) org.slf4j.LoggerFactory.getILoggerFactory();
    var loggers = List.of(context.getLogger(ServiceLedger.class), context.getLogger(ServiceReconciler.class));
    var lines = new ch.qos.logback.core.read.ListAppender<ch.qos.logback.classic.spi.ILoggingEvent>();
    lines.setContext(context);
    lines.start();
    loggers.forEach(l -> l.addAppender(lines));
    var spec = heyken.actors.services.ServiceEnvRedactionTest.spec();
    String marker = heyken.actors.services.ServiceEnvRedactionTest.MARKER;
    try {
      var result = add(spec);
      assertNull(result.reply().problem());
      var added = (CoreManager.ServiceAdded) result.event();
      assertEquals(marker, added.spec().env().get("API_TOKEN"), "the journal keeps the value");
      await("the container created", () -> engine.idsOf("vault").size() == 1);
      kit.restart(); // replayed from the journal, as after a failover
      assertEquals(marker, kit.getState().services().get("vault").spec().env().get("API_TOKEN"));
    } finally {
      loggers.forEach(l -> l.detachAppender(lines));
    }
    assertEquals(marker, engine.created.get(0).env().get("API_TOKEN"), "the engine gets the value");
    var messages = lines.list.stream().map(ch.qos.logback.classic.spi.ILoggingEvent::getFormattedMessage).toList();
    assertTrue(messages.stream().anyMatch(m -> m.contains("service change under epoch")
        && m.contains("API_TOKEN=<redacted>")), messages::toString);
    assertFalse(messages.stream().anyMatch(m -> m.contains(marker)), messages::toString);
    assertFalse(kit.getState().toString().contains(marker));
  }

  @Test
  void aSecondServiceOfTheSameNameOrHostPortIsAConflictWithoutEvent() {
    add(spec("web"));
    var again = add(spec("web"));
    assertEquals(409, again.reply().problem().status());
    assertEquals("service_exists", again.reply().problem().error());
    assertTrue(again.events().isEmpty());
    var samePort = add(spec("other"));
    assertEquals("port_in_use", samePort.reply().problem().error());
    assertTrue(samePort.events().isEmpty());
  }

  @Test
  void changingAnUnknownServiceIs404() {
    for (String action : List.of("stop", "start", "restart", "remove")) {
      var result = change("nope", action);
      assertEquals(404, result.reply().problem().status(), action);
      assertTrue(result.events().isEmpty());
    }
  }

  @Test
  void stopStartAndRemoveAreEventsAndTheWantedStateSurvivesARestart() {
    add(spec("web"));
    String installation = kit.getState().installationId();
    assertTrue(change("web", "stop").event() instanceof CoreManager.ServiceStopped);
    assertTrue(change("web", "stop").events().isEmpty(), "stopping a stopped service changes nothing");
    await("the container stopped, not removed", () -> engine.idsOf("web").size() == 1
        && !engine.containers.get(engine.idsOf("web").get(0)).running());
    kit.restart();
    assertFalse(kit.getState().services().get("web").running());
    assertEquals(installation, kit.getState().installationId(), "the installation id is generated once");
    await("active again after the restart", node::isActive);
    assertTrue(change("web", "start").event() instanceof CoreManager.ServiceStarted);
    await("the same container running again", () -> engine.idsOf("web").size() == 1
        && engine.containers.get(engine.idsOf("web").get(0)).running());
    assertTrue(change("web", "remove").event() instanceof CoreManager.ServiceRemoved);
    await("its container removed", () -> engine.idsOf("web").isEmpty());
    assertEquals(Map.of(), kit.getState().services());
  }

  @Test
  void aRunningContainerIsAdoptedAfterARestartAndADeadOneStartedAgain() {
    add(spec("web"));
    await("created", () -> engine.idsOf("web").size() == 1);
    String id = engine.idsOf("web").get(0);
    kit.restart(); // a new incarnation of the ledger, as after a hand-over: a new reconciler
    await("active again", node::isActive);
    int lists = engine.lists.get();
    await("a few passes of the new reconciler", () -> engine.lists.get() >= lists + 3);
    assertEquals(List.of(id), engine.idsOf("web"));
    assertEquals(List.of("create web", "start " + id), engine.calls, "adopted: neither recreated nor restarted");
    engine.setState(id, "exited", 137L);
    await("the dead container started again", () -> engine.containers.get(id).running());
    assertEquals(List.of(id), engine.idsOf("web"));
  }

  @Test
  void containersNobodyWantsAreRemovedOnlyForThisInstallation() {
    add(spec("web"));
    String installation = kit.getState().installationId();
    String stray = engine.add("gone", installation, "abc", "running", null);
    String foreign = engine.add("gone", "another-installation", "abc", "running", null);
    await("the stray container removed", () -> !engine.containers.containsKey(stray));
    assertTrue(engine.containers.containsKey(foreign), "another installation's container is left alone");
  }

  @Test
  void aSupersededCoreTouchesNoContainer() {
    add(spec("web"));
    await("created", () -> engine.idsOf("web").size() == 1);
    String id = engine.idsOf("web").get(0);
    int callsBefore = engine.calls.size();
    fence.nextEpoch(2, 4242); // the other core took over
    engine.setState(id, "exited", 137L); // ... and this core's reconciler sees a dead container
    int lists = engine.lists.get();
    // either the reconciler runs once more and meets the fence, or the CoreManager meets it first and the ledger
    // stops the reconciler before its next pass: in both cases nothing may be started
    await("the next pass or the core stepping down", () -> engine.lists.get() > lists || !node.isActive());
    await("the core to notice the fence", () -> !node.isActive());
    assertEquals(callsBefore, engine.calls.size(), "no start under a stale epoch: " + engine.calls);
    var refused = add(spec("late"));
    assertNotNull(refused.reply().problem());
    assertTrue(refused.events().isEmpty());
  }

  private static void await(String what, java.util.function.BooleanSupplier condition) {
    Await.until(what, Duration.ofSeconds(10), condition);
  }
}
