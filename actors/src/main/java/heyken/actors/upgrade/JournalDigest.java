package heyken.actors.upgrade;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MapperFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * The digest of what one build recovers from a journal: per persistence id the number of events and a SHA-256 over
 * each recovered event (and the latest snapshot) written as canonical JSON, and the digest of the state the entity
 * recovers to. Fields that are null are left out, so a
 * new version that adds an optional field recovers old events to the same digest; a renamed field, a lost class or
 * a changed value does not. {@code check-journal} writes it, the upgrade's check step compares two of them.
 */
public final class JournalDigest {

  private static final ObjectMapper CANONICAL = JsonMapper.builder()
      .findAndAddModules()
      .serializationInclusion(JsonInclude.Include.NON_NULL)
      .enable(MapperFeature.SORT_PROPERTIES_ALPHABETICALLY)
      .enable(SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS)
      .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS)
      .disable(SerializationFeature.FAIL_ON_EMPTY_BEANS)
      .build();

  private final MessageDigest sha;
  private long count;

  public JournalDigest() {
    try {
      sha = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Adds one recovered object: Heyken's own classes as canonical JSON, Pekko's internal ones by class and text. */
  public void add(Object recovered) {
    count++;
    sha.update(canonical(recovered).getBytes(StandardCharsets.UTF_8));
    sha.update((byte) '\n');
  }

  public static String canonical(Object recovered) {
    if (recovered == null) {
      return "null";
    }
    String cls = recovered.getClass().getName();
    if (cls.startsWith("heyken.")) {
      try {
        return cls + " " + CANONICAL.writeValueAsString(recovered);
      } catch (Exception e) {
        return cls + " " + recovered;
      }
    }
    return cls + " " + recovered;
  }

  public long count() {
    return count;
  }

  public String hex() {
    try {
      return HexFormat.of().formatHex(((MessageDigest) sha.clone()).digest());
    } catch (CloneNotSupportedException e) {
      throw new IllegalStateException(e);
    }
  }

  /**
   * Null when {@code neu} recovered every persistence id of {@code old} to the same events and snapshot, else what
   * differs (the first few ids).
   */
  public static String compare(JsonNode old, JsonNode neu) {
    var differences = new StringBuilder();
    int n = 0;
    var fields = old.path("digests").fields();
    while (fields.hasNext()) {
      var e = fields.next();
      JsonNode mine = neu.path("digests").path(e.getKey());
      String what = null;
      if (mine.isMissingNode()) {
        what = "not recovered";
      } else if (mine.path("events").asLong() != e.getValue().path("events").asLong()) {
        what = mine.path("events").asLong() + " events instead of " + e.getValue().path("events").asLong();
      } else if (!mine.path("digest").asText().equals(e.getValue().path("digest").asText())) {
        what = "its events recover to other values";
      } else if (!mine.path("snapshot").asText("").equals(e.getValue().path("snapshot").asText(""))) {
        what = "its snapshot recovers to another state";
      } else if (mine.has("state") && e.getValue().has("state")
          && !mine.path("state").asText().equals(e.getValue().path("state").asText())) {
        // both jars recovered the entity (a running version without state recovery only compares the digests)
        what = "it recovers to another state (snapshot and events folded by the entity's own code)";
      }
      if (what != null) {
        n++;
        if (n <= 3) {
          differences.append(differences.length() == 0 ? "" : "; ").append(e.getKey()).append(": ").append(what);
        }
      }
    }
    return n == 0 ? null : n + " persistence id(s) differ: " + differences;
  }
}
