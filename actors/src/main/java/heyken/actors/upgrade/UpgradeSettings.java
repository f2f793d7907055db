package heyken.actors.upgrade;

import com.typesafe.config.Config;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * {@code heyken.upgrade.*}, read once, with what the upgrade needs from the rest of the configuration: the API token
 * (the window's bot check), this installation's monitor and inspection ports, each core's management URL, and how
 * long a POST /api/upgrade waits (preparing asks git and both cores). Directories resolved against
 * {@code heyken.data-dir}.
 */
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
    boolean botCheck,
    String apiToken,
    int monitorPort,
    int inspectionPortOffset,
    Map<Integer, String> managementUrls,
    Duration requestTimeout) {

  public UpgradeSettings {
    buildCommand = List.copyOf(buildCommand);
    managementUrls = Map.copyOf(managementUrls);
  }

  public static UpgradeSettings from(Config config) {
    var c = config.getConfig("heyken.upgrade");
    Path data = Path.of(config.getString("heyken.data-dir")).toAbsolutePath().normalize();
    return new UpgradeSettings(c.getString("repository"), data.resolve(c.getString("workspace-dir")),
        data.resolve(c.getString("jars-dir")), data.resolve(c.getString("run-dir")), c.getStringList("build-command"),
        c.getString("built-jar"), c.getDuration("build-timeout"), c.getDuration("check-timeout"),
        c.getInt("check-max-documents"), c.getDuration("ready-timeout"), c.getDuration("verification-window"),
        c.getDuration("check-interval"), c.getDuration("unhealthy-grace"), c.getDouble("max-error-rate"),
        c.getBoolean("smoke-test"), c.getBoolean("bot-check"), config.getString("heyken.auth.api-token"),
        config.getInt("heyken.http.monitor-port"), config.getInt("heyken.http.inspection-port-offset"),
        Map.of(1, managementUrl(config, 1), 2, managementUrl(config, 2)),
        config.getDuration("heyken.http.ask-timeout").plusSeconds(30));
  }

  private static String managementUrl(Config config, int core) {
    return "http://" + config.getString("heyken.cluster.core-" + core + ".host") + ":"
        + config.getInt("heyken.management.core-" + core + ".port");
  }

  /** This core's System Monitor on its inspection port (always bound, active or not). */
  public int inspectionMonitorPort(int core) {
    return monitorPort + inspectionPortOffset * core;
  }

  /** The file a core's supervisor reads the path of its jar from. */
  public Path jarFile(int core) {
    return runDir.resolve("core-" + core + ".jar");
  }

  public Path pidFile(int core) {
    return runDir.resolve("core-" + core + ".pid");
  }
}
