package heyken.cores;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import heyken.actors.core.CoreNode;
import java.time.Duration;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Join;

/**
 * A start-up rehearsal for the JVM's class-data sharing archive: a throw-away core on ephemeral ports with an
 * unreachable store loads the classes a real start loads, then stops. Crash failover waits for the restarted
 * core's JVM to start, so every second of start-up saved here is a second of failover saved.
 */
final class CdsTraining {

  private CdsTraining() {}

  static int run(Config base) {
    Config config = ConfigFactory.parseString("""
        heyken.mongo.uri = "mongodb://127.0.0.1:1/heyken"
        heyken.mongo.operation-timeout = 300ms
        heyken.postgres { url = "", host = "127.0.0.1", port = 1, connect-timeout = 300ms }
        heyken.http { registry-port = 0, sandbox-port = 0, logger-port = 0, monitor-port = 0, inspection-port-offset = 0 }
        pekko.remote.artery.canonical.port = 0
        pekko.management.http.port = 0
        pekko.cluster.roles = ["core", "core-1"]
        pekko.loglevel = WARNING
        pekko.coordinated-shutdown.run-by-jvm-shutdown-hook = off
        """).withFallback(base).resolve();
    var system = ActorSystem.create(Guardian.create(new CoreNode(1), "cds-training"), "heyken-cds", config);
    Cluster.get(system).manager().tell(new Join(Cluster.get(system).selfMember().address()));
    try {
      Thread.sleep(Duration.ofSeconds(5).toMillis()); // long enough to start everything a core starts
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    // no orderly shutdown: nothing here is worth keeping, and the archive is written as the JVM exits
    return 0;
  }
}
