package heyken.actors.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class MetricRegistryTest {

  @Test
  void countersRenderInTheTextFormatWithEscapedLabels() {
    var registry = new MetricRegistry();
    var c = registry.counter("t_requests_total", "Requests", "path");
    c.inc("/a");
    c.inc("/a");
    c.inc("say \"hi\"\\\n");
    String text = registry.render();
    assertTrue(text.contains("# HELP t_requests_total Requests\n# TYPE t_requests_total counter\n"), text);
    assertTrue(text.contains("t_requests_total{path=\"/a\"} 2\n"), text);
    assertTrue(text.contains("t_requests_total{path=\"say \\\"hi\\\"\\\\\\n\"} 1\n"), text);
  }

  @Test
  void histogramBucketsAreCumulativeWithSumAndCount() {
    var registry = new MetricRegistry();
    var h = registry.histogram("t_seconds", "Latency", new double[] {0.1, 1}, "route");
    h.observe(0.05, "/x");
    h.observe(0.5, "/x");
    h.observe(3, "/x");
    String text = registry.render();
    assertTrue(text.contains("t_seconds_bucket{route=\"/x\",le=\"0.1\"} 1\n"), text);
    assertTrue(text.contains("t_seconds_bucket{route=\"/x\",le=\"1\"} 2\n"), text);
    assertTrue(text.contains("t_seconds_bucket{route=\"/x\",le=\"+Inf\"} 3\n"), text);
    assertTrue(text.contains("t_seconds_sum{route=\"/x\"} 3.55\n"), text);
    assertTrue(text.contains("t_seconds_count{route=\"/x\"} 3\n"), text);
    assertEquals(3, h.count("/x"));
  }

  @Test
  void unboundedLabelValuesAreFoldedIntoOneSeriesPastTheLimit() {
    var registry = new MetricRegistry();
    var c = registry.counter("t_total", "Things", "id");
    for (int i = 0; i < MetricRegistry.MAX_SERIES + 100; i++) {
      c.inc("id-" + i);
    }
    String text = registry.render();
    long series = text.lines().filter(l -> l.startsWith("t_total{")).count();
    assertEquals(MetricRegistry.MAX_SERIES + 1, series);
    assertEquals(100, c.value("other"));
  }

  @Test
  void functionsAreReadAtScrapeTimeAndCountersOnlyGoUp() {
    var registry = new MetricRegistry();
    var value = new AtomicLong(5);
    registry.counterFunction("t_lines_total", "Lines", value::get);
    assertTrue(registry.render().contains("t_lines_total 5\n"));
    value.set(9);
    assertTrue(registry.render().contains("t_lines_total 9\n"));
    var c = registry.counter("t_c_total", "C");
    assertThrows(IllegalArgumentException.class, () -> c.add(-1));
    assertThrows(IllegalArgumentException.class, () -> registry.counter("bad name", "x"));
  }

  @Test
  void activationReasonsAreReducedToTheirKind() {
    assertEquals("failover", Metrics.activationKind("failover: core 1 (epoch 3) was lost"));
    assertEquals("planned_switch", Metrics.activationKind("planned switch from core 2"));
    assertEquals("first_start", Metrics.activationKind("first start"));
    assertEquals("restart", Metrics.activationKind("core 1 restarted (was active under epoch 4)"));
    assertEquals("other", Metrics.activationKind(null));
  }
}
