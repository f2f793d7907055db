package heyken.actors.upgrade;

import com.typesafe.config.Config;
import java.util.Map;
import java.util.TreeMap;

/**
 * Whether two builds can be in one cluster during a rolling upgrade, by Pekko's rolling-update rules: the same Pekko
 * major and minor version (patch releases are compatible, minor ones are not promised to be) and the same
 * serializer for every bound class ({@code pekko.actor.serialization-bindings}: a class bound to another serializer
 * can neither be read from the journal nor understood by the other core).
 */
public final class ProtocolCompatibility {

  private ProtocolCompatibility() {}

  /** The bindings of a configuration: class name → serializer name. */
  public static Map<String, String> bindings(Config config) {
    var out = new TreeMap<String, String>();
    var b = config.getConfig("pekko.actor.serialization-bindings");
    for (var e : b.root().entrySet()) {
      out.put(e.getKey(), String.valueOf(e.getValue().unwrapped()));
    }
    return out;
  }

  /** Null when compatible, else why not (the upgrade's reason). */
  public static String problem(String runningPekko, String newPekko, Map<String, String> running,
      Map<?, ?> offered) {
    if (!majorMinor(runningPekko).equals(majorMinor(newPekko))) {
      return "the new jar runs Pekko " + newPekko + ", this one " + runningPekko + ": a rolling upgrade needs the same "
          + "Pekko major and minor version (Pekko's rolling-update rules); stop both cores and start the new version";
    }
    var theirs = new TreeMap<String, String>();
    offered.forEach((k, v) -> theirs.put(String.valueOf(k), String.valueOf(v)));
    var changed = new StringBuilder();
    for (var e : running.entrySet()) {
      String other = theirs.get(e.getKey());
      if (!e.getValue().equals(other)) {
        changed.append(changed.length() == 0 ? "" : ", ").append(e.getKey()).append(": ").append(e.getValue())
            .append(" -> ").append(other == null ? "(unbound)" : other);
      }
    }
    if (changed.length() > 0) {
      return "incompatible serializer bindings (pekko.actor.serialization-bindings): " + changed + "; the new version "
          + "could not read the journal the running one wrote, nor talk to it";
    }
    return null;
  }

  private static String majorMinor(String version) {
    String[] parts = version.split("\\.");
    return parts.length >= 2 ? parts[0] + "." + parts[1] : version;
  }
}
