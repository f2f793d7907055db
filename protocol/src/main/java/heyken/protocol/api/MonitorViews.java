package heyken.protocol.api;

import com.fasterxml.jackson.annotation.JsonProperty;
import heyken.protocol.api.feature.FeatureView;
import java.util.List;

/**
 * What the System Monitor's live updates ({@code GET :5021/api/events}) send besides the status: the epoch history,
 * the cluster's members, the features with their last runs and deployments, and new log lines.
 */
public final class MonitorViews {

  private MonitorViews() {}

  /** The first event of every connection: which core answers, and when the browser should reconnect. */
  public record Hello(@JsonProperty("served_by") int servedBy, @JsonProperty("reconnect_ms") long reconnectMs) {}

  /** One activation of a core, from the CoreManager's journal. */
  public record Activation(
      long epoch, int core, @JsonProperty("previous_core") Integer previousCore, String reason, String at) {}

  /** The latest activations, newest first. */
  public record EpochHistory(List<Activation> activations) {}

  /** A member of the Pekko cluster as the serving core sees it. */
  public record Member(String address, String status, boolean reachable, List<String> roles, boolean leader) {}

  public record Members(@JsonProperty("served_by") int servedBy, List<Member> members) {}

  /** A feature with its deployed revision and its latest test run. */
  public record FeatureSummary(
      @JsonProperty("feature_id") String featureId,
      String name,
      String status,
      String command,
      @JsonProperty("head_revision") String headRevision,
      @JsonProperty("deployed_revision") String deployedRevision,
      @JsonProperty("deployed_at") String deployedAt,
      @JsonProperty("last_run") FeatureView.RunSummary lastRun) {}

  /** The newest features ({@code total} counts all of them). */
  public record Features(List<FeatureSummary> features, int total) {}

  /** New log lines, oldest first. */
  public record LogTail(List<LogLine> lines) {}
}
