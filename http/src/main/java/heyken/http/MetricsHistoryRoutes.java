package heyken.http;

import heyken.actors.metrics.Metrics;
import heyken.actors.metrics.MetricsHistory;
import heyken.protocol.api.MetricsHistoryView;
import heyken.protocol.api.MonitorViews;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletionStage;
import java.util.function.IntFunction;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.server.PathMatchers;
import org.apache.pekko.http.javadsl.server.Route;

import static org.apache.pekko.http.javadsl.server.Directives.*;

/**
 * {@code GET :5021/api/metrics/history}: the serving core's metrics of the last hour as a time series
 * ({@link MetricsHistory}) with the activations from the journal, for the dashboard's plots.
 */
public final class MetricsHistoryRoutes {

  private static final int ACTIVATIONS = 50;

  private final int coreId;
  private final IntFunction<CompletionStage<MonitorViews.EpochHistory>> history;

  /** {@code history}: the latest n activations from the journal, newest first ({@code EpochHistory::recent}). */
  public MetricsHistoryRoutes(int coreId, IntFunction<CompletionStage<MonitorViews.EpochHistory>> history) {
    this.coreId = coreId;
    this.history = history;
  }

  public Route route() {
    return path(PathMatchers.segment("api").slash("metrics").slash("history"), () -> get(() ->
        onSuccess(history.apply(ACTIVATIONS).handle((h, error) -> view(error == null ? h : null)), view ->
            complete(StatusCodes.OK, view, Json.marshaller()))));
  }

  private MetricsHistoryView view(MonitorViews.EpochHistory history) {
    return MetricsHistory.get().view(coreId, Instant.now(), history == null ? List.of() : activations(history));
  }

  /** Oldest first, each with the time since the one before. */
  static List<MetricsHistoryView.Activation> activations(MonitorViews.EpochHistory history) {
    var newestFirst = history.activations();
    var out = new ArrayList<MetricsHistoryView.Activation>();
    Instant previous = null;
    for (int i = newestFirst.size() - 1; i >= 0; i--) {
      var a = newestFirst.get(i);
      Instant at = a.at() == null ? null : Instant.parse(a.at());
      Double gap = previous == null || at == null ? null : Duration.between(previous, at).toMillis() / 1000.0;
      out.add(new MetricsHistoryView.Activation(a.epoch(), a.core(), a.previousCore(),
          Metrics.activationKind(a.reason()), a.reason(), a.at(), gap));
      previous = at == null ? previous : at;
    }
    return out;
  }
}
