package heyken.actors.logs.question;

import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/** What a counting question groups the matching lines by, and the stored field (or bucket) each key comes from. */
enum GroupBy {
  LEVEL("level"),
  COMPONENT("component"),
  CORE("core"),
  FEATURE("feature"),
  HOUR("hour"),
  DAY("day");

  private final String wire;

  GroupBy(String wire) {
    this.wire = wire;
  }

  String wire() {
    return wire;
  }

  static List<String> wireNames() {
    return Arrays.stream(values()).map(GroupBy::wire).toList();
  }

  static Optional<GroupBy> fromWire(String value) {
    String v = value.trim().toLowerCase(Locale.ROOT);
    return Arrays.stream(values()).filter(g -> g.wire.equals(v)).findFirst();
  }

  /** The SQL expression the lines are grouped by: a column or a UTC time bucket, fixed text, never user text. */
  String key() {
    return switch (this) {
      case LEVEL -> "level";
      case COMPONENT -> "component";
      case CORE -> "core";
      case FEATURE -> "feature";
      case HOUR -> "to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:00:00\"Z\"')";
      case DAY -> "to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD')";
    };
  }

  /** Time buckets read best in time order; the others biggest first. */
  boolean chronological() {
    return this == HOUR || this == DAY;
  }
}
