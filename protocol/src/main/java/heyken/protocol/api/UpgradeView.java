package heyken.protocol.api;

import com.fasterxml.jackson.annotation.JsonProperty;
import heyken.protocol.CborSerializable;
import java.util.List;

/**
 * {@code GET :5021/api/upgrade}: the upgrade that runs (or the last one) with every step. {@code state}: {@code
 * running}, {@code committed} (both cores on the new version), {@code failed} (refused before any core was
 * restarted, or a rollback that needs an operator), {@code rolled_back} (both cores back on the old version).
 */
public record UpgradeView(
    String id,
    String state,
    String phase,
    String ref,
    @JsonProperty("jar_path") String jarPath,
    @JsonProperty("requested_by") String requestedBy,
    @JsonProperty("started_at") String startedAt,
    @JsonProperty("finished_at") String finishedAt,
    @JsonProperty("from_version") String fromVersion,
    @JsonProperty("to_version") String toVersion,
    @JsonProperty("old_jar") String oldJar,
    @JsonProperty("new_jar") String newJar,
    @JsonProperty("first_core") int firstCore,
    @JsonProperty("verification_window_s") long verificationWindowS,
    String reason,
    List<Step> steps) implements CborSerializable {

  /**
   * One step: {@code build}, {@code check}, {@code restart-standby}, {@code switch}, {@code verify}, {@code
   * restart-other}, and on a rollback {@code restore}. {@code state}: running, ok, failed.
   */
  public record Step(
      String name,
      String state,
      Integer core,
      @JsonProperty("started_at") String startedAt,
      @JsonProperty("finished_at") String finishedAt,
      String detail,
      String reason,
      @JsonProperty("output_tail") String outputTail) implements CborSerializable {}

  /** The whole answer: whether one runs, the current or last upgrade (null before the first), and how many ran. */
  public record Status(boolean running, UpgradeView upgrade, List<Summary> history) implements CborSerializable {}

  /** A finished upgrade in the history (newest first). */
  public record Summary(String id, String state, @JsonProperty("from_version") String fromVersion,
      @JsonProperty("to_version") String toVersion, @JsonProperty("requested_by") String requestedBy,
      @JsonProperty("started_at") String startedAt, @JsonProperty("finished_at") String finishedAt, String reason)
      implements CborSerializable {}

  /** {@code POST :5021/api/upgrade}: a git ref of Heyken's own repository, or a built jar. Exactly one. */
  public record Request(String ref, @JsonProperty("jar_path") String jarPath) {}

  /** 202 to the POST. */
  public record Accepted(String id, String state, @JsonProperty("status_url") String statusUrl)
      implements CborSerializable {}
}
