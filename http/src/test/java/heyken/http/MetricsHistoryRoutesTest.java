package heyken.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import heyken.protocol.api.MonitorViews;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The failover timeline's data: the journal's activations oldest first, each with the time since the one before. */
class MetricsHistoryRoutesTest {

  @Test
  void activationsComeOldestFirstWithTheirKindAndTheGapToTheOneBefore() {
    var newestFirst = new MonitorViews.EpochHistory(List.of(
        new MonitorViews.Activation(3, 1, 2, "failover: core 2 (epoch 2) was lost", "2026-12-06T10:01:12.500Z"),
        new MonitorViews.Activation(2, 2, 1, "planned switch from core 1", "2026-12-06T10:01:00Z"),
        new MonitorViews.Activation(1, 1, null, "first start", "2026-12-06T10:00:00Z")));
    var timeline = MetricsHistoryRoutes.activations(newestFirst);
    assertEquals(List.of(1L, 2L, 3L), timeline.stream().map(a -> a.epoch()).toList());
    assertEquals(List.of("first_start", "planned_switch", "failover"), timeline.stream().map(a -> a.kind()).toList());
    assertNull(timeline.get(0).gapSeconds());
    assertEquals(60.0, timeline.get(1).gapSeconds());
    assertEquals(12.5, timeline.get(2).gapSeconds());
  }
}
