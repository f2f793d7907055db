package heyken.http;

import heyken.actors.feature.FeatureService;
import heyken.actors.logs.LogQuery;
import heyken.actors.logs.LogStore;
import heyken.actors.monitor.EpochHistory;
import heyken.actors.monitor.StatusService;
import heyken.protocol.api.LogLine;
import heyken.protocol.api.MonitorViews;
import heyken.protocol.api.SystemStatus;
import heyken.protocol.api.feature.FeatureListing;
import heyken.protocol.api.feature.FeatureView;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.cluster.Member;
import org.apache.pekko.cluster.typed.Cluster;

/** The dashboard's live updates as the cluster answers them: status, members, journal, features, log store. */
public final class MonitorSources implements MonitorEvents.Sources {

  private static final int HISTORY = 20;

  private final ActorSystem<?> system;
  private final int coreId;
  private final StatusService status;
  private final EpochHistory history;
  private final FeatureService features;
  private final LogStore logs;
  private final int maxFeatures;
  private final int maxQueryLimit;

  public MonitorSources(ActorSystem<?> system, int coreId, StatusService status, EpochHistory history,
      FeatureService features, LogStore logs, int maxFeatures, int maxQueryLimit) {
    this.system = system;
    this.coreId = coreId;
    this.status = status;
    this.history = history;
    this.features = features;
    this.logs = logs;
    this.maxFeatures = maxFeatures;
    this.maxQueryLimit = maxQueryLimit;
  }

  @Override
  public int servedBy() {
    return coreId;
  }

  @Override
  public CompletionStage<SystemStatus> status() {
    return status.status();
  }

  @Override
  public MonitorViews.Members members() {
    var state = Cluster.get(system).state();
    var unreachable = new HashSet<Member>();
    state.getUnreachable().forEach(unreachable::add);
    var leader = state.getLeader();
    var members = new ArrayList<MonitorViews.Member>();
    for (Member m : state.getMembers()) {
      var roles = m.getRoles().stream().filter(r -> !r.startsWith("dc-")).sorted().toList();
      members.add(new MonitorViews.Member(m.address().toString(), m.status().toString().toLowerCase(Locale.ROOT),
          !unreachable.contains(m), roles, m.address().equals(leader)));
    }
    members.sort(Comparator.comparing(MonitorViews.Member::address));
    return new MonitorViews.Members(coreId, members);
  }

  @Override
  public CompletionStage<MonitorViews.EpochHistory> history() {
    return history.recent(HISTORY);
  }

  @Override
  public CompletionStage<MonitorViews.Features> features() {
    return features.list().thenCompose(listing -> {
      var items = new ArrayList<>(listing.features());
      items.sort(Comparator.comparing((FeatureListing.Item i) -> numeric(i.featureId())).reversed());
      var shown = items.subList(0, Math.min(maxFeatures, items.size()));
      var views = new ArrayList<CompletableFuture<FeatureView>>();
      for (var item : shown) {
        views.add(features.get(item.featureId()).toCompletableFuture()
            .handle((outcome, error) -> error == null && outcome.value() != null ? outcome.value() : null));
      }
      return CompletableFuture.allOf(views.toArray(CompletableFuture[]::new)).thenApply(v -> {
        var summaries = new ArrayList<MonitorViews.FeatureSummary>();
        for (int i = 0; i < shown.size(); i++) {
          summaries.add(summary(shown.get(i), views.get(i).join()));
        }
        return new MonitorViews.Features(summaries, items.size());
      });
    });
  }

  private static MonitorViews.FeatureSummary summary(FeatureListing.Item item, FeatureView view) {
    FeatureView.RunSummary last = null;
    String deployedAt = null;
    if (view != null) {
      if (view.runs() != null) {
        for (var run : view.runs()) {
          if (last == null || compare(run.startedAt(), last.startedAt()) > 0) {
            last = run;
          }
        }
      }
      deployedAt = view.deployment() == null ? null : view.deployment().deployedAt();
    }
    return new MonitorViews.FeatureSummary(item.featureId(), item.name(), item.status(), item.command(),
        item.headRevision(), item.deployedRevision(), deployedAt, last);
  }

  private static int compare(String a, String b) {
    if (a == null || b == null) {
      return a == null ? (b == null ? 0 : -1) : 1;
    }
    return Instant.parse(a).compareTo(Instant.parse(b));
  }

  private static long numeric(String id) {
    try {
      return Long.parseLong(id);
    } catch (NumberFormatException e) {
      return -1;
    }
  }

  @Override
  public CompletionStage<List<LogLine>> logs(String level, Instant since, int limit) {
    var params = new HashMap<String, String>();
    params.put("limit", Integer.toString(limit));
    params.put("level", level);
    if (since != null) {
      params.put("since", since.toString());
    }
    var parsed = LogQuery.parse(params, maxQueryLimit, Instant.now());
    if (parsed.problem() != null) {
      return CompletableFuture.failedFuture(new IllegalArgumentException(parsed.problem().detail()));
    }
    return logs.find(parsed.query()).thenApply(page -> page.logs());
  }
}
