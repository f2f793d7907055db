package heyken.actors.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import heyken.protocol.api.MetricsHistoryView;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The dashboard's time series: what the counters counted per interval, for a bounded time, and the jobs one by one. */
class MetricsHistoryTest {

  private static final Instant T0 = Instant.parse("2026-12-06T10:00:00Z");

  private static MetricsHistory history(int samples, int jobs) {
    return new MetricsHistory(new MetricsHistory.Settings(Duration.ofSeconds(10), samples, jobs), T0);
  }

  @Test
  void eachSampleHoldsWhatWasCountedDuringItsIntervalAndTheRunningOneIsShownToo() {
    var history = history(10, 10);
    Metrics.httpRequest("history_test_a", "GET", "/x", 200, 1_000);
    Metrics.httpRequest("history_test_a", "GET", "/x", 404, 1_000);
    Metrics.httpRequest("history_test_a", "POST", "/y", 503, 1_000);
    Metrics.logLine("HISTORYTEST");
    history.sample(T0.plusSeconds(10));
    Metrics.httpRequest("history_test_a", "GET", "/x", 200, 1_000);
    MetricsHistoryView view = history.view(1, T0.plusSeconds(15), List.of());
    assertEquals(2, view.samples().size());
    var first = view.samples().get(0);
    assertEquals(T0.toString(), first.from());
    assertEquals(T0.plusSeconds(10).toString(), first.to());
    assertEquals(3L, first.requests().get("history_test_a"));
    assertEquals(1L, first.clientErrors().get("history_test_a"));
    assertEquals(1L, first.serverErrors().get("history_test_a"));
    assertEquals(1L, first.logLines().get("HISTORYTEST"));
    var running = view.samples().get(1);
    assertEquals(T0.plusSeconds(15).toString(), running.to());
    assertEquals(1L, running.requests().get("history_test_a"));
    assertNull(running.clientErrors().get("history_test_a"));
    assertEquals(10, view.intervalSeconds());
  }

  @Test
  void onlyTheLastSamplesAndJobsAreKeptAndJobsOlderThanTheSpanAreLeftOut() {
    var history = history(3, 2);
    for (int i = 1; i <= 5; i++) {
      Metrics.httpRequest("history_test_b", "GET", "/x", 200, 1_000);
      history.sample(T0.plusSeconds(10L * i));
    }
    history.job("docker", "ok", 100, T0.plusSeconds(1));
    history.job("docker", "timeout", 200, T0.plusSeconds(45));
    history.job("bubblewrap", "ok", 300, T0.plusSeconds(49));
    var view = history.view(2, T0.plusSeconds(50), List.of());
    // three closed intervals plus the running one
    assertEquals(4, view.samples().size());
    assertEquals(T0.plusSeconds(20).toString(), view.samples().get(0).from());
    assertEquals(1L, view.samples().get(0).requests().get("history_test_b"));
    assertEquals(List.of(200L, 300L), view.jobs().stream().map(MetricsHistoryView.Job::durationMs).toList());
    assertEquals(2, view.core());
    // 30 s of samples are kept: a job from before that is not shown
    var later = history.view(2, T0.plusSeconds(80), List.of());
    assertEquals(0, later.jobs().size());
  }
}
