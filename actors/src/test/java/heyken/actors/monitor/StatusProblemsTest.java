package heyken.actors.monitor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import heyken.protocol.api.SystemStatus.ComponentStatus;
import heyken.protocol.api.SystemStatus.CoreStatus;
import java.util.List;
import org.junit.jupiter.api.Test;

/** When /api/status says healthy, and the reasons it gives when not. */
class StatusProblemsTest {

  private static CoreStatus core(int id, String status, boolean active) {
    return new CoreStatus(id, "pekko://heyken@127.0.0.1:255" + id, status, active, 1L, 1L, "", "");
  }

  private static final List<CoreStatus> BOTH_UP = List.of(core(1, "up", true), core(2, "up", false));
  private static final ComponentStatus STORE_UP = new ComponentStatus("store", "up", "embedded store answers");

  @Test
  void healthyNeedsTheStoreBothCoresOneActiveAndASandbox() {
    var sandbox = new ComponentStatus("sandbox", "up", "backend bubblewrap: ok");
    assertEquals(List.of(), StatusService.problems(List.of(STORE_UP, sandbox), BOTH_UP, 1));
  }

  @Test
  void noSandboxIsNotHealthyAndSaysWhatToDo() {
    var sandbox = new ComponentStatus("sandbox", "down", "backend docker: no Docker engine");
    var problems = StatusService.problems(List.of(STORE_UP, sandbox), BOTH_UP, 1);
    assertEquals(1, problems.size(), problems.toString());
    assertTrue(problems.get(0).contains("backend docker: no Docker engine")
        && problems.get(0).contains("./scripts/run_heyken.sh"), problems.get(0));
  }

  @Test
  void aMissingCoreAndTwoActiveCoresAreEachAReason() {
    var problems = StatusService.problems(List.of(STORE_UP), List.of(core(1, "up", true), core(2, "absent", false)),
        2);
    assertEquals(2, problems.size(), problems.toString());
    assertTrue(problems.get(0).startsWith("core-2 is absent"), problems.toString());
    assertTrue(problems.get(1).startsWith("2 active cores"), problems.toString());
  }

  @Test
  void aStoreThatDoesNotAnswerIsAReason() {
    var down = new ComponentStatus("store", "down", "embedded store does not answer: start it");
    var problems = StatusService.problems(List.of(down), BOTH_UP, 1);
    assertEquals(List.of("store is down: embedded store does not answer: start it"), problems);
  }
}
