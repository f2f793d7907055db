package heyken.actors.upgrade;

import com.fasterxml.jackson.annotation.JsonProperty;
import heyken.protocol.CborSerializable;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import java.util.Properties;

/**
 * Which build of Heyken a JVM runs: the git revision and build time that Maven wrote into the jar
 * ({@code heyken-version.properties}, see cores/pom.xml). Two jars are the same version when both are equal.
 */
public record BuildVersion(String revision, boolean dirty, @JsonProperty("build_time") String buildTime,
    @JsonProperty("pekko_version") String pekkoVersion) implements CborSerializable {

  public static final String RESOURCE = "heyken-version.properties";
  private static final BuildVersion CURRENT = load();

  /** The version of the code running in this JVM; revision "unknown" when the jar carries no version file. */
  public static BuildVersion current() {
    return CURRENT;
  }

  public static BuildVersion of(Properties p) {
    return new BuildVersion(p.getProperty("revision", "unknown"), Boolean.parseBoolean(p.getProperty("dirty")),
        p.getProperty("build_time", "unknown"), p.getProperty("pekko_version", "unknown"));
  }

  private static BuildVersion load() {
    var p = new Properties();
    try (InputStream in = BuildVersion.class.getClassLoader().getResourceAsStream(RESOURCE)) {
      if (in != null) {
        p.load(in);
      }
    } catch (IOException e) {
      // a jar without the file is a development build: shown as "unknown"
    }
    return of(p);
  }

  /** Short, human form: {@code 1a2b3c4d5e6f+dirty 2026-12-06T20:05:27Z}. */
  public String label() {
    String rev = revision.length() > 12 ? revision.substring(0, 12) : revision;
    return rev + (dirty ? "+dirty" : "") + " " + buildTime;
  }

  /** The jar this JVM was started from (null when it runs from classes, as in unit tests). */
  public static Path runningJar() {
    try {
      var location = BuildVersion.class.getProtectionDomain().getCodeSource().getLocation();
      Path p = Path.of(location.toURI());
      return p.toString().endsWith(".jar") ? p.toAbsolutePath() : null;
    } catch (Exception e) {
      return null;
    }
  }
}
