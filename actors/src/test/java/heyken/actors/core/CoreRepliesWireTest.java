package heyken.actors.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import com.typesafe.config.ConfigFactory;
import heyken.actors.feature.Feature;
import heyken.actors.registry.ComponentRegistry;
import heyken.actors.registry.RegistryApi;
import heyken.actors.services.DesiredService;
import heyken.actors.feature.FeatureApi;
import heyken.protocol.CborSerializable;
import heyken.protocol.api.Problem;
import heyken.protocol.api.RegisteredComponent;
import heyken.protocol.api.SwitchAccepted;
import heyken.protocol.api.feature.DeploymentView;
import heyken.protocol.api.feature.FeatureView;
import java.io.File;
import java.time.Instant;
import java.util.List;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.serialization.SerializationExtension;
import org.apache.pekko.serialization.SerializerWithStringManifest;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The singletons' replies cross cores, and during a self-upgrade the two cores run different versions: a reply of
 * this version (domain refusal plus the problem beside it) must be read by a core of the previous one (which knows
 * only {@code problem}), and a reply of the previous version by this one. Both through the real Pekko serializer
 * with the root application.conf; the previous version's replies are the old records, kept here.
 */
class CoreRepliesWireTest {

  /** The previous release's replies, as they were (their JSON is what an older core writes and reads). */
  public record OldDeploymentOutcome(int core, long epoch, Problem problem) implements CborSerializable {}

  public record OldServiceOutcome(DesiredService service, Problem problem) implements CborSerializable {}

  public record OldSwitchOutcome(SwitchAccepted accepted, Problem problem) implements CborSerializable {}

  public record OldRefusal(Feature.Refusal.Kind kind, String featureId, String revision, String runId,
      heyken.actors.feature.RunStatus lastResult, int revisions, Problem ledger) implements CborSerializable {}

  public record OldDeployReply(DeploymentView deployment, OldRefusal refused) implements CborSerializable {}

  public record OldFeatureReply(FeatureView view, OldRefusal refused) implements CborSerializable {}

  public record OldRegistryReply(RegisteredComponent component, List<RegisteredComponent> components,
      Problem problem) implements CborSerializable {}

  public record OldStartOutcome(heyken.protocol.api.UpgradeView.Accepted accepted, Problem problem)
      implements CborSerializable {}

  private static ActorTestKit testKit;

  @BeforeAll
  static void start() {
    var config = ConfigFactory.parseString("pekko.actor.provider = local")
        .withFallback(ConfigFactory.parseFile(new File("../application.conf")))
        .withFallback(ConfigFactory.defaultReference()).resolve();
    testKit = ActorTestKit.create("core-replies-wire", config);
  }

  @AfterAll
  static void stop() {
    testKit.shutdownTestKit();
  }

  private static SerializerWithStringManifest serializer(Object message) {
    return (SerializerWithStringManifest) SerializationExtension.get(testKit.system().classicSystem())
        .findSerializerFor(message);
  }

  /** {@code message} written by one version and read, under the class name {@code as}, by the other. */
  @SuppressWarnings("unchecked")
  private static <T> T across(Object message, Class<T> as) {
    var serializer = serializer(message);
    assertEquals("JacksonCborSerializer", serializer.getClass().getSimpleName(), "the binding cores use");
    byte[] bytes = serializer.toBinary(message);
    try {
      return (T) serializer.fromBinary(bytes, as.getName());
    } catch (java.io.NotSerializableException e) {
      throw new AssertionError("not readable as " + as.getName(), e);
    }
  }

  @Test
  void aDeploymentRefusalOfThisVersionIsReadByBothVersions() {
    var refused = CoreRefusal.commandTaken(1, 4, "weather", "3");
    var sent = DeploymentLedger.DeploymentOutcome.refused(1, 4, refused);
    assertEquals(sent, across(sent, DeploymentLedger.DeploymentOutcome.class));
    var byOld = across(sent, OldDeploymentOutcome.class);
    assertEquals(new OldDeploymentOutcome(1, 4, CoreApi.problem(refused)), byOld,
        "the previous version reads today's problem and ignores the field it does not know");
    assertNull(across(DeploymentLedger.DeploymentOutcome.made(1, 4), OldDeploymentOutcome.class).problem());
  }

  @Test
  void anUpgradesRefusalIsReadByBothVersions() {
    var refused = heyken.actors.upgrade.Upgrade.Refusal.versionsDiffer(1, "abc (today)", 2, "def (yesterday)");
    var sent = new heyken.actors.upgrade.Upgrade.StartOutcome(null,
        heyken.actors.upgrade.UpgradeApi.problem(refused), refused);
    assertEquals(sent, across(sent, heyken.actors.upgrade.Upgrade.StartOutcome.class));
    assertEquals(heyken.actors.upgrade.UpgradeApi.problem(refused), across(sent, OldStartOutcome.class).problem(),
        "the previous version's route reads today's problem");
    var old = Problem.conflict("standby_not_up", "core 2 (the standby) is not up and ready");
    var read = across(new OldStartOutcome(null, old), heyken.actors.upgrade.Upgrade.StartOutcome.class);
    assertNull(read.refused());
    assertEquals(old, heyken.actors.upgrade.UpgradeApi.problem(read));
  }

  @Test
  void aDeploymentRefusalOfThePreviousVersionIsReadFromItsProblem() {
    var old = Problem.conflict("command_taken", "the chat command 'weather' is already answered by deployed feature 3");
    var read = across(new OldDeploymentOutcome(1, 4, old), DeploymentLedger.DeploymentOutcome.class);
    assertNull(read.refused());
    assertEquals(old, CoreApi.problem(read));
    assertNull(CoreApi.problem(across(new OldDeploymentOutcome(1, 4, null), DeploymentLedger.DeploymentOutcome.class)));
  }

  @Test
  void serviceAndSwitchRefusalsAreReadByBothVersions() {
    var exists = CoreRefusal.service(CoreRefusal.Kind.SERVICE_EXISTS, "web", "nginx:1", null, null);
    var service = ServiceLedger.ServiceOutcome.refused(exists);
    assertEquals(service, across(service, ServiceLedger.ServiceOutcome.class));
    assertEquals(CoreApi.problem(exists), across(service, OldServiceOutcome.class).problem());
    var oldProblem = Problem.notFound("unknown_service", "no service named 'web'; GET /api/services lists them");
    assertEquals(oldProblem, CoreApi.problem(across(new OldServiceOutcome(null, oldProblem),
        ServiceLedger.ServiceOutcome.class)));

    var notUp = CoreRefusal.target(CoreRefusal.Kind.TARGET_NOT_UP, 1, 4, 2);
    var switched = CoreManager.SwitchOutcome.refused(notUp);
    assertEquals(switched, across(switched, CoreManager.SwitchOutcome.class));
    assertEquals(CoreApi.problem(notUp), across(switched, OldSwitchOutcome.class).problem());
    var accepted = CoreManager.SwitchOutcome.accepted(new SwitchAccepted(1, 2, 4));
    assertEquals(new OldSwitchOutcome(new SwitchAccepted(1, 2, 4), null), across(accepted, OldSwitchOutcome.class));
    var oldRefusal = Problem.conflict("already_active", "core 1 is already active (epoch 4)");
    assertEquals(oldRefusal, CoreApi.problem(across(new OldSwitchOutcome(null, oldRefusal),
        CoreManager.SwitchOutcome.class)));
  }

  @Test
  void aFeaturesLedgerRefusalIsReadByBothVersions() {
    var taken = CoreRefusal.commandTaken(1, 4, "weather", "3");
    var refusal = new Feature.Refusal(Feature.Refusal.Kind.LEDGER_REFUSED, "7", "aaaaaaa1", null, null, 0,
        CoreApi.problem(taken), taken);
    var sent = new Feature.DeployReply(null, refusal);
    assertEquals(sent, across(sent, Feature.DeployReply.class));
    assertEquals(CoreApi.problem(taken), across(sent, OldDeployReply.class).refused().ledger(),
        "a route of the previous version answers with today's problem");
    var old = new OldDeployReply(null, new OldRefusal(Feature.Refusal.Kind.LEDGER_REFUSED, "7", "aaaaaaa1", null,
        null, 0, CoreApi.problem(taken)));
    var read = across(old, Feature.DeployReply.class);
    assertNull(read.refused().ledgerRefused());
    assertEquals(CoreApi.problem(taken), FeatureApi.problem(read.refused()));
  }

  @Test
  void aRegistryRefusalIsReadByBothVersions() {
    var unknown = new ComponentRegistry.Refusal(ComponentRegistry.Refusal.Kind.UNKNOWN_COMPONENT, "web", null, null,
        0);
    var sent = new ComponentRegistry.Reply(null, null, RegistryApi.problem(unknown), unknown);
    assertEquals(sent, across(sent, ComponentRegistry.Reply.class));
    assertEquals(RegistryApi.problem(unknown), across(sent, OldRegistryReply.class).problem());
    var old = Problem.notFound("unknown_component", "no component named 'web' is registered");
    var read = across(new OldRegistryReply(null, null, old), ComponentRegistry.Reply.class);
    assertNull(read.refused());
    assertEquals(old, RegistryApi.problem(read));
  }

  @Test
  void aFeatureIsReadByBothVersions() {
    var at = Instant.parse("2026-12-07T07:00:00Z");
    var state = Feature.replay("7", List.of(
        new Feature.FeatureCreated("7", "hello", "says hello", "test", at),
        new Feature.RevisionAdded(new Feature.RevisionInfo("aaaaaaa1", "first", "test", at, true, true, "hello"),
            "test"),
        new Feature.TestRunStarted("r1", "aaaaaaa1", "test", at),
        new Feature.TestRunFinished("r1", "aaaaaaa1", heyken.actors.feature.RunStatus.PASSED, "ok", at),
        new Feature.Deployed("aaaaaaa1", "hello", 1, 4, "test", at)));
    var sent = new Feature.FeatureReply(FeatureApi.view(state), null, state);
    var read = across(sent, Feature.FeatureReply.class);
    assertEquals(state, read.state());
    assertEquals(FeatureApi.view(state), FeatureApi.view(read));
    assertEquals("deployed", FeatureApi.view(read).status());
    assertEquals(FeatureApi.view(state), across(sent, OldFeatureReply.class).view(),
        "a route of the previous version reads the view it knows");
    var fromOld = across(new OldFeatureReply(FeatureApi.view(state), null), Feature.FeatureReply.class);
    assertNull(fromOld.state());
    assertEquals(FeatureApi.view(state), FeatureApi.view(fromOld));
  }
}
