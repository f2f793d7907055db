package heyken.actors.monitor;

import com.typesafe.config.Config;
import java.time.Duration;
import java.util.Map;

/**
 * Where both cores are (cluster, management and inspection addresses, as GET /api/status names them) and how stale
 * a status may be: {@code maxAge} for an answer given as it is, {@code maxAge + staleWhileRevalidate} for one given
 * while a new look at the cluster is under way ({@link RecentAnswer}). The monitor port and the inspection offset
 * come from heyken.monitor, which takes them from heyken.http in application.conf.
 */
public record StatusSettings(Map<Integer, String> hosts, Map<Integer, Integer> clusterPorts,
    Map<Integer, Integer> managementPorts, int monitorPort, int inspectionOffset, Duration maxAge,
    Duration staleWhileRevalidate) {

  public static StatusSettings from(Config config) {
    String host = config.getString("heyken.bind-host");
    var hosts = new java.util.HashMap<Integer, String>();
    var clusterPorts = new java.util.HashMap<Integer, Integer>();
    var managementPorts = new java.util.HashMap<Integer, Integer>();
    for (int id = 1; id <= 2; id++) {
      clusterPorts.put(id, config.getInt("heyken.cluster.core-" + id + ".port"));
      managementPorts.put(id, config.getInt("heyken.management.core-" + id + ".port"));
      String coreHost = "heyken.cluster.core-" + id + ".host";
      hosts.put(id, config.hasPath(coreHost) ? config.getString(coreHost) : host);
    }
    var monitor = config.getConfig("heyken.monitor");
    return new StatusSettings(Map.copyOf(hosts), Map.copyOf(clusterPorts), Map.copyOf(managementPorts),
        monitor.getInt("monitor-port"), monitor.getInt("inspection-port-offset"), monitor.getDuration("status-max-age"),
        monitor.getDuration("status-stale-while-revalidate"));
  }
}
