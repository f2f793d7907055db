package heyken.actors.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import heyken.actors.core.CoreRefusal.Kind;
import heyken.protocol.api.Problem;
import java.util.EnumSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * What a caller of the API reads when a core singleton refuses: each refusal's status, error and detail exactly as
 * the DeploymentLedger, the ServiceLedger, the CoreManager and the fence wrote them before they answered in their own
 * terms (the JSON of every endpoint stays the same). The refusals are built as the singletons build them.
 */
class CoreApiTest {

  private final Set<Kind> seen = EnumSet.noneOf(Kind.class);

  private void assertProblem(int status, String error, String detail, CoreRefusal refused) {
    seen.add(refused.kind());
    Problem problem = CoreApi.problem(refused);
    assertEquals(new Problem(status, error, detail), problem, refused.kind().name());
  }

  @Test
  void everyRefusalKindReadsAsTheProblemTheSingletonsSentBefore() {
    var stoodDown = new Activation(1);
    stoodDown.changed(4);
    stoodDown.changed(0);
    assertProblem(503, "not_active", "core 1 is no longer the active core (epoch 4 was superseded); retry in a moment",
        stoodDown.notActive());
    assertProblem(503, "not_active", "epoch 4 was superseded by epoch 5: this core is no longer active",
        FencedWrites.verdict(new EpochFence.StaleEpochException(4, 5)).refused());
    assertProblem(503, "store_unavailable", "the store could not confirm this core's epoch (connection refused); "
        + "nothing was changed, try again", FencedWrites.verdict(new IllegalStateException("connection refused"))
        .refused());
    assertProblem(400, "invalid_target", "target_core must be 1 or 2, got 3",
        CoreRefusal.target(Kind.INVALID_TARGET, 1, 4, 3));
    assertProblem(409, "target_not_active", "target_core 2 is not the active core: core 1 is (epoch 4). Features are "
        + "deployed to the active core; leave target_core out, give 1, or switch first: scripts/switch_core.sh 2",
        CoreRefusal.target(Kind.TARGET_NOT_ACTIVE, 1, 4, 2));
    assertProblem(409, "command_taken", "the chat command 'weather' is already answered by deployed feature 3: "
        + "undeploy it or change `command` in heyken.yml", CoreRefusal.commandTaken(1, 4, "weather", "3"));
    assertProblem(409, "service_exists", "a service named 'web' exists already (image nginx:1): DELETE "
        + "/api/services/web first, or pick another name",
        CoreRefusal.service(Kind.SERVICE_EXISTS, "web", "nginx:1", null, null));
    assertProblem(409, "port_in_use", "the host port is already published by service db",
        CoreRefusal.service(Kind.PORT_IN_USE, "web", "nginx:1", "db", null));
    assertProblem(404, "unknown_service", "no service named 'web'; GET /api/services lists them",
        CoreRefusal.service(Kind.UNKNOWN_SERVICE, "web", null, null, "stop"));
    assertProblem(400, "invalid_action", "a service can be stopped, started, restarted or removed, not 'explode'",
        CoreRefusal.service(Kind.INVALID_ACTION, "web", "nginx:1", null, "explode"));
    assertProblem(409, "not_active", "core 1 is no longer active (epoch 4 was superseded)",
        CoreRefusal.of(Kind.SWITCH_NOT_ACTIVE, 1, 4));
    assertProblem(409, "not_active", "core 1 is no longer active: epoch 4 was superseded by 5",
        CoreRefusal.superseded(Kind.SWITCH_SUPERSEDED, 1, 4, 5));
    assertProblem(409, "already_active", "core 1 is already active (epoch 4)",
        CoreRefusal.target(Kind.ALREADY_ACTIVE, 1, 4, 1));
    assertProblem(409, "target_not_up", "core 2 is not up in the cluster, so it cannot take over: start it "
        + "(scripts/run_heyken.sh starts what is missing) and check scripts/status.sh",
        CoreRefusal.target(Kind.TARGET_NOT_UP, 1, 4, 2));
    assertEquals(EnumSet.allOf(Kind.class), seen, "every kind has its problem asserted here");
  }

  @Test
  void aWriteTheFenceLetsThroughIsNoRefusal() {
    var verdict = FencedWrites.verdict(null);
    assertTrue(verdict.allowed());
    assertNull(verdict.refused());
    assertNull(CoreApi.problem((CoreRefusal) null));
  }

  @Test
  void aRepliesRefusalIsReadFromTheDomainFieldElseFromTheProblemOfAnOlderCore() {
    var refused = CoreRefusal.commandTaken(1, 4, "weather", "3");
    var old = Problem.conflict("command_taken", "as an older core said it");
    assertEquals(CoreApi.problem(refused), CoreApi.problem(DeploymentLedger.DeploymentOutcome.refused(1, 4, refused)));
    assertEquals(CoreApi.problem(refused), DeploymentLedger.DeploymentOutcome.refused(1, 4, refused).problem(),
        "the problem older cores read is written beside the refusal");
    assertEquals(old, CoreApi.problem(new DeploymentLedger.DeploymentOutcome(1, 4, old, null)));
    assertNull(CoreApi.problem(DeploymentLedger.DeploymentOutcome.made(1, 4)));
    var exists = CoreRefusal.service(Kind.SERVICE_EXISTS, "web", "nginx:1", null, null);
    assertEquals(CoreApi.problem(exists), CoreApi.problem(ServiceLedger.ServiceOutcome.refused(exists)));
    assertEquals(old, CoreApi.problem(new ServiceLedger.ServiceOutcome(null, old, null)));
    assertNull(CoreApi.problem(ServiceLedger.ServiceOutcome.made(null)));
    var up = CoreRefusal.target(Kind.TARGET_NOT_UP, 1, 4, 2);
    assertEquals(CoreApi.problem(up), CoreApi.problem(CoreManager.SwitchOutcome.refused(up)));
    assertEquals(old, CoreApi.problem(new CoreManager.SwitchOutcome(null, old, null)));
  }
}
