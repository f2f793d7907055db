package heyken.actors.upgrade;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import heyken.actors.upgrade.Upgrade.Refusal;
import heyken.actors.upgrade.Upgrade.Refusal.Kind;
import heyken.protocol.api.Problem;
import java.util.EnumSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The edge's answer for each of the upgrade's refusals: the status, error and detail the API gave before the
 * singleton answered in its own terms, byte for byte (users' scripts read them), and a start's outcome read from
 * either shape (a singleton of the previous version sends only the problem).
 */
class UpgradeApiTest {

  private final Set<Kind> asserted = EnumSet.noneOf(Kind.class);

  private void assertProblem(Refusal refused, int status, String error, String detail) {
    assertEquals(new Problem(status, error, detail), UpgradeApi.problem(refused), refused.kind().name());
    asserted.add(refused.kind());
  }

  @Test
  void everyRefusalGivesTheApisStatusErrorAndDetail() {
    assertProblem(Refusal.of(Kind.INVALID_UPGRADE), 400, "invalid_upgrade",
        "send exactly one of {\"ref\": \"<git ref of Heyken's repository>\"} or {\"jar_path\": \"<a built "
            + "heyken-core.jar>\"}");
    assertProblem(Refusal.badRef("--upload-pack=x"), 400, "invalid_ref",
        "'--upload-pack=x' is not a git ref (a branch, tag or commit)");
    assertProblem(Refusal.running("u-1", "chat:u-admin", "BUILD"), 409, "upgrade_running",
        "upgrade u-1 (requested by chat:u-admin) runs: step BUILD. Wait until it ends: GET :5021/api/upgrade");
    assertEquals("upgrade u-1 (requested by api) runs: step -. Wait until it ends: GET :5021/api/upgrade",
        UpgradeApi.problem(Refusal.running("u-1", "api", null)).detail(), "before its first step");
    assertProblem(Refusal.of(Kind.HANDING_OVER), 503, "not_active",
        "this core is not the active one (a hand-over is under way?): retry in a few seconds");
    assertProblem(Refusal.because(Kind.FENCED, "epoch 3 was superseded by epoch 4"), 503, "not_active",
        "epoch 3 was superseded by epoch 4");
    assertProblem(Refusal.because(Kind.NOT_PREPARED, "disk full"), 503, "upgrade_unavailable",
        "the upgrade could not be prepared: disk full");
    assertProblem(Refusal.unknownRef("nope", "/srv/heyken"), 400, "unknown_ref",
        "no commit 'nope' in /srv/heyken (git -C /srv/heyken branch -a lists the branches)");
    assertProblem(Refusal.unknownJar("/tmp/x.jar"), 400, "unknown_jar",
        "no file at jar_path /tmp/x.jar: give the absolute path of a built heyken-core.jar");
    assertProblem(Refusal.of(Kind.NOT_A_JAR), 503, "not_a_jar",
        "this core does not run from a jar (a development run): it cannot be upgraded");
    assertProblem(Refusal.standbyNotUp(2, null), 409, "standby_not_up", "core 2 (the standby) is not up and ready "
        + "(it did not say which version it runs): the upgrade restarts the standby first, so both cores must run. "
        + "Check scripts/status.sh");
    assertEquals("core 2 (the standby) is not up and ready (http://127.0.0.1:7627/ready is not 200): the upgrade "
        + "restarts the standby first, so both cores must run. Check scripts/status.sh",
        UpgradeApi.problem(Refusal.standbyNotUp(2, "http://127.0.0.1:7627")).detail());
    assertProblem(Refusal.versionsDiffer(1, "abc1234 (2026-12-07)", 2, "def5678 (2026-12-06)"), 409,
        "versions_differ", "the cores run different versions (core 1 abc1234 (2026-12-07), core 2 def5678 "
            + "(2026-12-06)): finish or roll back the last upgrade first");
    assertProblem(Refusal.at(Kind.JAR_NOT_KEPT, "/data/jars", "No space left on device"), 503, "jar_not_kept",
        "the running jar could not be kept in /data/jars (No space left on device): check the disk");
    assertProblem(Refusal.at(Kind.NO_REPOSITORY, "/opt/heyken", null), 503, "no_repository",
        "/opt/heyken is not in a git repository: set HEYKEN_UPGRADE_REPOSITORY to Heyken's repository, or upgrade "
            + "to a built jar with jar_path");
    assertEquals(EnumSet.allOf(Kind.class), asserted, "a kind without its answer asserted");
    assertNull(UpgradeApi.problem((Refusal) null));
  }

  @Test
  void aStartsOutcomeIsReadFromEitherShape() {
    var refused = Refusal.of(Kind.NOT_A_JAR);
    var thisVersion = Upgrade.StartOutcome.refused(refused);
    assertEquals(UpgradeApi.problem(refused), thisVersion.problem(), "written for the previous version's routes");
    assertEquals(UpgradeApi.problem(refused), UpgradeApi.problem(thisVersion));
    var older = Problem.conflict("upgrade_running", "upgrade u-9 (requested by api) runs: step -. Wait until it ends");
    assertEquals(older, UpgradeApi.problem(new Upgrade.StartOutcome(null, older, null)), "a previous singleton's");
    assertNull(UpgradeApi.problem(Upgrade.StartOutcome.accepted(null)));
  }
}
