package heyken.cores;

import com.typesafe.config.Config;
import heyken.protocol.api.ComponentRegistration;
import java.time.Duration;
import java.util.List;

/**
 * What the {@link Guardian} wires one core with, read once from application.conf: where the HTTP APIs listen, how
 * the documented ports are bound and drained, the CoreManager's heartbeat, the limits the routes apply, and the
 * components this core registers for itself; how long an HTTP route waits for an actor's answer, and the Mongo
 * collection of the run logs the log import reads.
 */
record CoreSettings(String host, int registryPort, int sandboxPort, int loggerPort, int monitorPort,
    int inspectionOffset, Duration rebindInterval, Duration drainDeadline, Duration heartbeatInterval,
    String logsCollection, int maxQueryLimit, int monitorMaxFeatures, int managementPort1, int managementPort2,
    Duration askTimeout, String runLogCollection) {

  static CoreSettings from(Config config) {
    var http = config.getConfig("heyken.http");
    return new CoreSettings(config.getString("heyken.bind-host"), http.getInt("registry-port"),
        http.getInt("sandbox-port"), http.getInt("logger-port"), http.getInt("monitor-port"),
        http.getInt("inspection-port-offset"), http.getDuration("rebind-interval"), http.getDuration("drain-deadline"),
        config.getDuration("heyken.core-manager.heartbeat-interval"), config.getString("heyken.logs.collection"),
        config.getInt("heyken.logs.max-query-limit"), config.getInt("heyken.monitor.max-features"),
        config.getInt("heyken.management.core-1.port"), config.getInt("heyken.management.core-2.port"),
        http.getDuration("ask-timeout"), config.getString("heyken.logs.run-log-collection"));
  }

  /** The core itself (its System Monitor inspection port, its management /ready) and the store it uses. */
  List<ComponentRegistration> registrations(int coreId, String version, String storeUri) {
    int monitor = monitorPort + inspectionOffset * coreId;
    int management = coreId == 1 ? managementPort1 : managementPort2;
    return List.of(
        new ComponentRegistration("core-" + coreId, "http://" + host + ":" + monitor,
            "http://" + host + ":" + management + "/ready", version),
        new ComponentRegistration("store", storeUri, storeUri.replaceFirst("/[^/]*$", ""), null));
  }
}
