package heyken.actors.chat;

import org.apache.pekko.actor.typed.ActorSystem;

/**
 * The sentences heyken-system shows for deployments and test runs, published where those are decided (the feature
 * entity, after its event is persisted). Keys make a repeated announcement of the same event a no-op.
 */
public final class SystemNews {

  private SystemNews() {}

  /** A revision went live (deploy or rollback) under an epoch. */
  public static void deployed(ActorSystem<?> system, String featureId, String name, String what, String revision,
      String command, int core, long epoch, String by, java.time.Instant at) {
    ChatNews.get(system).publish(ChatNews.SYSTEM, "Feature #" + featureId + " '" + name + "' " + what + ": revision "
        + shortRev(revision) + " on core " + core + " (epoch " + epoch + ") by " + by
        + (command == null ? "" : ". Try !" + command), what + ":" + featureId + ":" + revision + ":" + at.toEpochMilli());
  }

  /** A test run ended other than passed. */
  public static void runFailed(ActorSystem<?> system, String featureId, String name, String runId, String revision,
      String status, String detail) {
    ChatNews.get(system).publish(ChatNews.SYSTEM, "Test run " + runId + " of feature #" + featureId + " '" + name
        + "' (revision " + shortRev(revision) + ") " + status + (detail == null || detail.isBlank() ? "" : ": "
        + detail) + ". Log: GET :5010/api/features/" + featureId + "/runs/" + runId + "/log", "run:" + runId);
  }

  private static String shortRev(String revision) {
    return revision == null ? "-" : revision.substring(0, Math.min(8, revision.length()));
  }
}
