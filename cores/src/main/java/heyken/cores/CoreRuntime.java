package heyken.cores;

import com.mongodb.client.model.Filters;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigValueFactory;
import heyken.actors.cluster.MongoLease;
import heyken.actors.core.CoreNode;
import heyken.actors.logs.LogBuffer;
import heyken.actors.store.MongoStore;
import heyken.http.Auth;
import java.time.Duration;
import java.util.Date;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.regex.Pattern;
import org.apache.pekko.actor.Address;
import org.apache.pekko.actor.CoordinatedShutdown;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Join;
import org.apache.pekko.cluster.typed.JoinSeedNodes;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs one core for the life of the JVM. A planned switch terminates the ActorSystem (leave + singleton
 * hand-over) and starts a new one in the same process on the same port, seeding only the peer, so the core
 * comes back as standby. Any other end of the ActorSystem (downed by the other side, for instance) ends the
 * JVM with a non-zero code and the supervisor restarts it at once.
 */
public final class CoreRuntime {

  private static final Logger log = LoggerFactory.getLogger(CoreRuntime.class);
  private static final Pattern SINGLETON_LEASE = Pattern.compile("-singleton-");

  private final Config base;
  private final CoreNode node;
  private final String version;

  CoreRuntime(Config base, int coreId, String version) {
    this.base = base;
    this.node = new CoreNode(coreId);
    this.version = version;
  }

  /** Returns the process exit code. */
  int run(boolean restarted) {
    var problem = Auth.startupProblem(base);
    if (problem.isPresent()) {
      System.err.println("heyken core-" + node.coreId() + ": " + problem.get());
      return 2;
    }
    Auth.exposureWarning(base).ifPresent(log::warn);
    if (Auth.from(base).enabled() && base.getString("heyken.auth.api-token").isBlank()) {
      log.warn("no HEYKEN_API_TOKEN configured: every mutating request will be refused (run scripts/init.sh)");
    }
    LogBuffer.configure(base.getInt("heyken.logs.buffer-size"), base.getInt("heyken.logs.run-output.buffer-size"),
        node.coreId(), node::activeEpoch);
    boolean rejoin = restarted;
    while (true) {
      Config config = configFor(node.coreId());
      ActorSystem<Void> system;
      try {
        system = ActorSystem.create(Guardian.create(node, version), config.getString("heyken.cluster.system-name"),
            config);
      } catch (RuntimeException e) {
        if (causedByBind(e)) {
          int port = config.getInt("pekko.remote.artery.canonical.port");
          System.err.println("heyken core-" + node.coreId() + ": cluster port " + port + " is in use. Another core-"
              + node.coreId() + " may be running (scripts/status.sh shows it); stop it with scripts/stop.sh, or give "
              + "this one another port with HEYKEN_CORE" + node.coreId() + "_PORT");
          return 2;
        }
        throw e;
      }
      var switching = new AtomicBoolean();
      node.onSwitchAway(() -> {
        if (switching.compareAndSet(false, true)) {
          // let the 202 of the switch request leave before the ports close
          system.scheduler().scheduleOnce(Duration.ofMillis(50), system::terminate, system.executionContext());
        }
      });
      var restarting = new AtomicBoolean();
      node.onRestartForUpgrade(() -> {
        if (restarting.compareAndSet(false, true)) {
          // let the answer leave first; then leave the cluster gracefully and end the JVM for its supervisor
          system.scheduler().scheduleOnce(Duration.ofMillis(100), system::terminate, system.executionContext());
        }
      });
      join(system, rejoin);
      CompletableFuture.runAsync(() -> leaveWhenStoreLost(system), MongoStore.get(system).blockingExecutor());
      system.getWhenTerminated().toCompletableFuture().join();
      var reason = CoordinatedShutdown.get(system).getShutdownReason();
      if (restarting.get()) {
        log.info("core {} left the cluster to be restarted by its supervisor (upgrade): exit status {}",
            node.coreId(), CoreNode.RESTART_EXIT_CODE);
        return CoreNode.RESTART_EXIT_CODE;
      }
      if (switching.get()) {
        Duration pause = base.getDuration("heyken.core-manager.rejoin-pause");
        log.info("core {} left the cluster for the planned switch; rejoining as standby in {} ms", node.coreId(),
            pause.toMillis());
        // starting a whole ActorSystem competes for the CPU with the new active core's takeover (2 CPUs)
        sleepQuietly(pause);
        rejoin = true;
        continue;
      }
      if (reason.isPresent() && reason.get() == CoordinatedShutdown.jvmExitReason()) {
        return 0; // SIGTERM: a deliberate stop
      }
      System.err.println("heyken core-" + node.coreId() + ": the actor system ended (" + reason.map(Object::toString)
          .orElse("no reason given") + "); exiting so that the supervisor restarts this core as standby");
      return 1;
    }
  }

  private static void sleepQuietly(Duration d) {
    try {
      Thread.sleep(d.toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private static boolean causedByBind(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
      if (t instanceof java.net.BindException) {
        return true;
      }
    }
    return false;
  }

  private Config configFor(int id) {
    String host = base.getString("heyken.bind-host");
    return ConfigFactory.empty()
        .withValue("heyken.core.id", ConfigValueFactory.fromAnyRef(id))
        .withValue("pekko.remote.artery.canonical.hostname",
            ConfigValueFactory.fromAnyRef(base.getString("heyken.cluster.core-" + id + ".host")))
        .withValue("pekko.remote.artery.bind.hostname", ConfigValueFactory.fromAnyRef(host))
        .withValue("pekko.remote.artery.canonical.port",
            ConfigValueFactory.fromAnyRef(base.getInt("heyken.cluster.core-" + id + ".port")))
        .withValue("pekko.management.http.hostname", ConfigValueFactory.fromAnyRef(host))
        .withValue("pekko.management.http.port",
            ConfigValueFactory.fromAnyRef(base.getInt("heyken.management.core-" + id + ".port")))
        .withValue("pekko.cluster.roles", ConfigValueFactory.fromIterable(List.of("core", "core-" + id)))
        .withFallback(base);
  }

  private Address address(ActorSystem<?> system, int id) {
    return new Address("pekko", system.name(), base.getString("heyken.cluster.core-" + id + ".host"),
        base.getInt("heyken.cluster.core-" + id + ".port"));
  }

  /**
   * Core-1 on a cold start (no active core anywhere) is the first seed and may form the cluster. Everything
   * else seeds only the peer and may start a cluster itself only when nobody is active (see bootstrap).
   */
  private void join(ActorSystem<?> system, boolean rejoin) {
    var cluster = Cluster.get(system);
    var self = address(system, node.coreId());
    var peer = address(system, node.peerId());
    var store = MongoStore.get(system);
    // a restart joins at once (every ms counts in a crash failover); only a cold core-1 asks the store first
    boolean someoneActive = !rejoin && node.coreId() == 1 && activeCoreExists(store);
    // the cold core-1 forms the cluster only under the bootstrap lease: a core-2 that found no peer for
    // bootstrap-after (core-1 slow to start on a loaded machine) must not start a second cluster meanwhile
    if (!rejoin && node.coreId() == 1 && !someoneActive && mayBootstrap(store, self)) {
      log.info("core-1 cold start: seeds {} and {}", self, peer);
      cluster.manager().tell(new JoinSeedNodes(List.of(self, peer)));
      CompletableFuture.runAsync(() -> releaseBootstrapWhenActive(system, store, self), store.blockingExecutor());
      return;
    }
    log.info("core-{} joins its peer {} ({}{})", node.coreId(), peer, rejoin ? "restart" : "cold start",
        someoneActive ? ", a core is active" : "");
    cluster.manager().tell(new JoinSeedNodes(List.of(peer)));
    Duration after = base.getDuration("heyken.cluster.bootstrap-after");
    CompletableFuture.runAsync(() -> bootstrapIfAlone(system, store, self, after), store.blockingExecutor());
  }

  private void bootstrapIfAlone(ActorSystem<?> system, MongoStore store, Address self, Duration after) {
    var cluster = Cluster.get(system);
    long deadline = System.nanoTime() + after.toNanos();
    while (!system.whenTerminated().isCompleted()) {
      MemberStatus status = cluster.selfMember().status();
      if (status == MemberStatus.up() || status == MemberStatus.weaklyUp() || status == MemberStatus.leaving()
          || status == MemberStatus.exiting()) {
        return;
      }
      if (System.nanoTime() > deadline) {
        try {
          if (!activeCoreExists(store) && MongoLease.tryAcquireOnce(store.database(),
              base.getString("heyken.lease.collection"), "heyken-bootstrap", self.toString(),
            base.getDuration("heyken.cluster.cold-start-window"))) {
            log.warn("core-{} found no peer and no active core for {} s: starting the cluster itself",
                node.coreId(), after.toSeconds());
            cluster.manager().tell(new Join(self));
            releaseBootstrapWhenActive(system, store, self);
            return;
          }
        } catch (RuntimeException e) {
          log.warn("core-{} could not check the store before bootstrapping ({}); still waiting for the peer",
              node.coreId(), e.getMessage());
        }
        deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
      }
      try {
        Thread.sleep(250); // a watchdog on the blocking pool, not synchronization
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
    }
  }

  /**
   * Gives the bootstrap lease back once a core holds the CoreManager lease (from then on that lease keeps a second
   * cluster from forming), so that a restart of the whole installation soon after does not wait out the window.
   */
  private void releaseBootstrapWhenActive(ActorSystem<?> system, MongoStore store, Address self) {
    long deadline = System.nanoTime() + base.getDuration("heyken.cluster.cold-start-window").toNanos();
    while (!system.whenTerminated().isCompleted() && System.nanoTime() < deadline) {
      try {
        if (activeCoreExists(store)) {
          MongoLease.releaseOnce(store.database(), base.getString("heyken.lease.collection"), "heyken-bootstrap",
              self.toString());
          return;
        }
      } catch (RuntimeException e) {
        log.debug("bootstrap lease not released yet: {}", e.getMessage());
      }
      try {
        Thread.sleep(500); // a watchdog on the blocking pool, not synchronization
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
    }
  }

  /** Takes the bootstrap lease for the cold-start window; true also when the store cannot be asked (it decides later). */
  private boolean mayBootstrap(MongoStore store, Address self) {
    try {
      return MongoLease.tryAcquireOnce(store.database(), base.getString("heyken.lease.collection"), "heyken-bootstrap",
          self.toString(), base.getDuration("heyken.cluster.cold-start-window"));
    } catch (RuntimeException e) {
      log.warn("could not take the bootstrap lease ({}); core-1 seeds itself as on every cold start", e.getMessage());
      return true;
    }
  }

  /**
   * The singletons run on the oldest member and need their leases in the store. When this core, the oldest, loses a
   * singleton lease (its renewals did not get through: the store is away, or this JVM stalled), the singleton stops
   * and starts again here once the lease can be had, but the singleton proxies of the cluster never find the new
   * incarnation (Pekko's proxy identifies a singleton again only when the oldest member changes), and with the store
   * still away nobody could be active at all. So the core leaves: its peer becomes the oldest and takes over, and the
   * supervisor restarts this core as standby (partition tests: the active core cut from the store only, a lease lost
   * under load). While the peer is unreachable the split brain resolver decides instead; a core without a peer stays
   * (it takes the lease again when it can; its proxies then wait for the next membership change).
   */
  private void leaveWhenStoreLost(ActorSystem<?> system) {
    var cluster = Cluster.get(system);
    // singletons behind a ClusterSingletonProxy (CoreManager, the registry, ...); the sharding coordinators' regions
    // find a restarted coordinator by themselves. Every loss is heard, not only the last one: a core loses a dozen
    // leases at once, and when a sharding coordinator's came last this watchdog never saw the singletons' (the store-
    // only cut then left no active core for 50 s, bench/partition.sh)
    var singletonLoss = new java.util.concurrent.atomic.AtomicReference<MongoLease.Loss>();
    Runnable stopListening = MongoLease.onLoss(loss -> {
      if (loss.name().contains("/singletonManager")) {
        singletonLoss.set(loss);
      }
    });
    try {
      watchForStoreLoss(system, cluster, singletonLoss);
    } finally {
      stopListening.run();
    }
  }

  private void watchForStoreLoss(ActorSystem<?> system, Cluster cluster,
      java.util.concurrent.atomic.AtomicReference<MongoLease.Loss> singletonLoss) {
    while (!system.whenTerminated().isCompleted()) {
      try {
        Thread.sleep(500); // a watchdog on the blocking pool, not synchronization
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
      var loss = singletonLoss.get();
      if (loss == null) {
        continue;
      }
      var state = cluster.state();
      var self = cluster.selfMember();
      if (self.status() != MemberStatus.up()) {
        continue;
      }
      org.apache.pekko.cluster.Member peer = null;
      boolean oldest = true;
      for (var m : state.getMembers()) {
        if (!m.equals(self) && m.hasRole("core") && m.status() == MemberStatus.up()) {
          peer = m;
          oldest &= self.isOlderThan(m);
        }
      }
      // only with a peer that can take over: a lone core that leaves would only restart and wait for a peer
      boolean peerReachable = peer != null && !state.getUnreachable().contains(peer);
      if (oldest && peerReachable) {
        log.warn("core-{} lost the lease [{}] at {} ({}): leaving the cluster so that core-{} takes over; this core "
            + "restarts as standby. Check the network between this core and the store, and the machine's load",
            node.coreId(), loss.name(), loss.at(), loss.why(), node.peerId());
        cluster.manager().tell(new org.apache.pekko.cluster.typed.Leave(self.address()));
        return;
      }
    }
  }

  /** Whether any core holds an unexpired singleton lease, i.e. is (or was a moment ago) the active core. */
  private boolean activeCoreExists(MongoStore store) {
    try {
      Date now = MongoStore.serverTime(store.database());
      var leases = store.database().getCollection(base.getString("heyken.lease.collection"));
      return leases.countDocuments(Filters.and(
          Filters.regex("name", SINGLETON_LEASE), Filters.gt("expiresAt", now))) > 0;
    } catch (RuntimeException e) {
      log.warn("could not read the leases from the store ({}); assuming a core may be active", e.getMessage());
      return true;
    }
  }

}
