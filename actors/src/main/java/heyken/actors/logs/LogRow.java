package heyken.actors.logs;

import java.time.Instant;
import java.util.Map;

/**
 * One log line on its way to the log store (a row of {@code log_lines}). The core chooses {@code id} itself
 * ({@link LogBuffer#nextId}): a batch whose commit went unanswered can then be looked up before it is sent again.
 * {@code tsMicros} is microseconds since the epoch (the column's precision).
 */
public record LogRow(
    long id,
    long tsMicros,
    String level,
    Integer core,
    Long epoch,
    String component,
    String logger,
    String thread,
    String message,
    String exception,
    Map<String, String> mdc,
    String feature,
    String run,
    String job,
    String room,
    String stream) {

  public Instant time() {
    return Instant.ofEpochSecond(Math.floorDiv(tsMicros, 1_000_000L), Math.floorMod(tsMicros, 1_000_000L) * 1000L);
  }

  public static long micros(Instant t) {
    return Math.addExact(Math.multiplyExact(t.getEpochSecond(), 1_000_000L), t.getNano() / 1000);
  }

  /** TRACE 0, DEBUG 1, INFO 2, WARN 3, ERROR 4 (column level_num); unknown names count as INFO. */
  public static int levelNum(String level) {
    if (level == null) {
      return 2;
    }
    return switch (level) {
      case "TRACE" -> 0;
      case "DEBUG" -> 1;
      case "WARN", "WARNING" -> 3;
      case "ERROR" -> 4;
      default -> 2;
    };
  }
}
