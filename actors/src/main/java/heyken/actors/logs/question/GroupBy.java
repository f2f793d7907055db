package heyken.actors.logs.question;

import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import org.bson.Document;

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

  /** The {@code _id} expression of the {@code $group} stage: a field path or a UTC time bucket, never user text. */
  Object key() {
    return switch (this) {
      case LEVEL -> "$level";
      case COMPONENT -> "$component";
      case CORE -> "$core";
      case FEATURE -> "$mdc.feature";
      case HOUR -> new Document("$dateToString", new Document("format", "%Y-%m-%dT%H:00:00Z").append("date", "$ts"));
      case DAY -> new Document("$dateToString", new Document("format", "%Y-%m-%d").append("date", "$ts"));
    };
  }

  /** Time buckets read best in time order; the others biggest first. */
  boolean chronological() {
    return this == HOUR || this == DAY;
  }
}
