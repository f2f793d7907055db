package heyken.actors.upgrade;

import com.typesafe.config.Config;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/** {@code heyken.upgrade.*}, read once. Directories resolved against {@code heyken.data-dir}. */
public record UpgradeSettings(
    String repository,
    Path workspaceDir,
    Path jarsDir,
    Path runDir,
    List<String> buildCommand,
    String builtJar,
    Duration buildTimeout,
    Duration checkTimeout,
    int checkMaxDocuments,
    Duration readyTimeout,
    Duration verificationWindow,
    Duration checkInterval,
    Duration unhealthyGrace,
    double maxErrorRate,
    boolean smokeTest,
    boolean botCheck) {

  public static UpgradeSettings from(Config config) {
    var c = config.getConfig("heyken.upgrade");
    Path data = Path.of(config.getString("heyken.data-dir")).toAbsolutePath().normalize();
    return new UpgradeSettings(c.getString("repository"), data.resolve(c.getString("workspace-dir")),
        data.resolve(c.getString("jars-dir")), data.resolve(c.getString("run-dir")), c.getStringList("build-command"),
        c.getString("built-jar"), c.getDuration("build-timeout"), c.getDuration("check-timeout"),
        c.getInt("check-max-documents"), c.getDuration("ready-timeout"), c.getDuration("verification-window"),
        c.getDuration("check-interval"), c.getDuration("unhealthy-grace"), c.getDouble("max-error-rate"),
        c.getBoolean("smoke-test"), c.getBoolean("bot-check"));
  }

  /** The file a core's supervisor reads the path of its jar from. */
  public Path jarFile(int core) {
    return runDir.resolve("core-" + core + ".jar");
  }

  public Path pidFile(int core) {
    return runDir.resolve("core-" + core + ".pid");
  }
}
