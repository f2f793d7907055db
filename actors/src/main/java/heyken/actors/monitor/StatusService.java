package heyken.actors.monitor;

import heyken.actors.cluster.LeaseRenewals;
import heyken.actors.core.CoreManager;
import heyken.actors.core.CoreNode;
import heyken.actors.logs.LogBuffer;
import heyken.protocol.api.SystemStatus;
import heyken.protocol.api.SystemStatus.ComponentStatus;
import heyken.protocol.api.SystemStatus.CoreStatus;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.actor.typed.receptionist.Receptionist;
import org.apache.pekko.cluster.Member;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.typed.Cluster;

/**
 * Assembles {@code GET :5021/api/status} from what the cluster, each core and the CoreManager say. Every
 * question has a short deadline: a core that does not answer is shown as such, never waited for.
 */
public final class StatusService {

  private static final Duration ASK = Duration.ofMillis(1500);
  // a core's own facts (pid, uptime, epoch) come back in milliseconds on a healthy cluster; a core that does not
  // answer this fast is shown without them rather than holding up the whole status
  private static final Duration ASK_CORE_INFO = Duration.ofMillis(500);

  private final ActorSystem<?> system;
  private final CoreNode node;
  private final ActorRef<CoreManager.Command> coreManager;
  private final ComponentProbes probes;
  private final Map<Integer, Integer> clusterPorts;
  private final Map<Integer, Integer> managementPorts;
  private final Map<Integer, String> hosts;
  private final int monitorPort;
  private final int inspectionOffset;
  // requests close together share one look at the cluster (asks to the CoreManager and both cores)
  private final RecentAnswer<SystemStatus> recent;
  private final ReachabilityLog reachability;
  private volatile java.util.function.Supplier<CompletionStage<heyken.protocol.api.UpgradeView.Status>> upgrade;

  public StatusService(
      ActorSystem<?> system, CoreNode node, ActorRef<CoreManager.Command> coreManager, ComponentProbes probes,
      StatusSettings settings) {
    this.system = system;
    this.node = node;
    this.coreManager = coreManager;
    this.probes = probes;
    this.hosts = settings.hosts();
    this.clusterPorts = settings.clusterPorts();
    this.managementPorts = settings.managementPorts();
    this.monitorPort = settings.monitorPort();
    this.inspectionOffset = settings.inspectionOffset();
    this.recent = new RecentAnswer<>(this::fresh, settings.maxAge(), settings.staleWhileRevalidate());
    this.reachability = ReachabilityLog.start(system);
  }

  /** How the upgrade in progress is asked (set once by the wiring: the upgrade singleton's view). */
  public void useUpgrade(java.util.function.Supplier<CompletionStage<heyken.protocol.api.UpgradeView.Status>> upgrade) {
    this.upgrade = upgrade;
  }

  /** The running upgrade as a summary (its current step as the reason), or null: none runs, or no answer in time. */
  private CompletableFuture<heyken.protocol.api.UpgradeView.Summary> upgradeInProgress() {
    var ask = upgrade;
    if (ask == null) {
      return CompletableFuture.completedFuture(null);
    }
    return ask.get().toCompletableFuture().orTimeout(ASK_CORE_INFO.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS)
        .handle((s, e) -> {
          if (e != null || s == null || !s.running() || s.upgrade() == null) {
            return null;
          }
          var u = s.upgrade();
          var step = u.steps().isEmpty() ? null : u.steps().get(u.steps().size() - 1);
          return new heyken.protocol.api.UpgradeView.Summary(u.id(), u.state(), u.fromVersion(), u.toVersion(),
              u.requestedBy(), u.startedAt(), null, step == null ? "starting" : "step " + step.name() + " "
              + step.state());
        });
  }

  public CompletionStage<CoreManager.ActiveCore> active() {
    return AskPattern.ask(coreManager, CoreManager.GetActive::new, ASK, system.scheduler());
  }

  /**
   * The status: at most {@code heyken.monitor.status-max-age} old, or up to {@code status-stale-while-revalidate}
   * older while a new look is under way (see {@link RecentAnswer}).
   */
  public CompletionStage<SystemStatus> status() {
    return recent.get();
  }

  private CompletableFuture<SystemStatus> fresh() {
    var active = active().toCompletableFuture().handle((a, e) -> e == null ? a : null);
    var infos = coreInfos();
    var components = probes.probe();
    var upgrade = upgradeInProgress();
    return CompletableFuture.allOf(active, infos, components, upgrade).thenApply(v ->
        assemble(active.join(), infos.join(), components.join(), upgrade.join()));
  }

  private CompletableFuture<Map<Integer, CoreInfo.Info>> coreInfos() {
    CompletionStage<Receptionist.Listing> listing =
        AskPattern.ask(system.receptionist(), r -> Receptionist.find(CoreInfo.KEY, r), ASK, system.scheduler());
    return listing.toCompletableFuture().thenCompose(l -> {
      var asks = new ArrayList<CompletableFuture<CoreInfo.Info>>();
      for (var ref : l.getServiceInstances(CoreInfo.KEY)) {
        if (!answers(ref)) {
          continue;
        }
        asks.add(AskPattern.<CoreInfo.Command, CoreInfo.Info>ask(ref, CoreInfo.GetInfo::new, ASK_CORE_INFO,
                system.scheduler())
            .toCompletableFuture().handle((info, e) -> e == null ? info : null));
      }
      return CompletableFuture.allOf(asks.toArray(CompletableFuture[]::new)).thenApply(x -> {
        var byCore = new HashMap<Integer, CoreInfo.Info>();
        asks.forEach(a -> {
          var info = a.join();
          if (info != null) {
            byCore.merge(info.coreId(), info, (p, q) -> p.startedAtMillis() > q.startedAtMillis() ? p : q);
          }
        });
        return (Map<Integer, CoreInfo.Info>) byCore;
      });
    }).exceptionally(e -> Map.of());
  }

  /**
   * Whether a core's info actor can answer: this core's own, or one on a member that is up. A core that is leaving
   * (a planned switch) or gone is not asked, so that the status never waits out an ask timeout during a hand-over.
   */
  private boolean answers(ActorRef<CoreInfo.Command> ref) {
    var address = ref.path().address();
    if (address.hasLocalScope()) {
      return true;
    }
    var state = Cluster.get(system).state();
    for (Member m : state.getUnreachable()) {
      if (m.address().equals(address)) {
        return false;
      }
    }
    for (Member m : state.getMembers()) {
      if (m.address().equals(address)) {
        return m.status() == MemberStatus.up() || m.status() == MemberStatus.weaklyUp();
      }
    }
    return false;
  }

  private SystemStatus assemble(CoreManager.ActiveCore active, Map<Integer, CoreInfo.Info> infos,
      List<ComponentStatus> components, heyken.protocol.api.UpgradeView.Summary upgrade) {
    var cluster = Cluster.get(system).state();
    var cores = new ArrayList<CoreStatus>();
    var peerTrouble = new StringBuilder();
    long now = System.currentTimeMillis();
    boolean knownActive = active != null && !active.fenced() && active.core() != null;
    int activeCount = 0;
    long refused = node.fencedWritesRefused();
    long dropped = LogBuffer.get().dropped();
    long written = LogBuffer.get().written();
    long buffered = LogBuffer.get().buffered();
    for (int id = 1; id <= 2; id++) {
      Member member = null;
      for (Member m : cluster.getMembers()) {
        if (m.hasRole("core-" + id) && (member == null || m.isOlderThan(member) == false)) {
          member = m;
        }
      }
      String status = member == null ? "absent" : memberStatus(member);
      Member unreachableMember = null;
      for (Member m : cluster.getUnreachable()) {
        if (m.hasRole("core-" + id)) {
          status = "unreachable";
          unreachableMember = m;
        }
      }
      var info = infos.get(id);
      boolean isActive = knownActive && info != null && info.activeEpoch() == active.epoch()
          && active.core() == id && "up".equals(status);
      if (isActive) {
        activeCount++;
      }
      if (info != null && info.coreId() != node.coreId()) {
        refused += info.fencedWritesRefused();
        dropped += info.logLinesDropped();
        written += info.logLinesWritten();
        buffered += info.logLinesBuffered();
      }
      var clusterAddress = member != null ? member.address()
          : new org.apache.pekko.actor.Address("pekko", system.name(), hosts.get(id), clusterPorts.get(id));
      String address = clusterAddress.toString();
      Instant since = reachability.unreachableSince(clusterAddress);
      String linkReason = linkReason(id, status, since);
      if (unreachableMember != null || !"up".equals(status)) {
        peerTrouble.append(linkReason == null ? "" : linkReason + "; ");
      }
      cores.add(new CoreStatus(
          id, address, status, isActive,
          info == null ? null : info.pid(),
          info == null ? null : Math.max(0, (now - info.startedAtMillis()) / 1000),
          "http://" + hosts.get(id) + ":" + managementPorts.get(id),
          "http://" + hosts.get(id) + ":" + (monitorPort + inspectionOffset * id),
          member == null ? null : unreachableMember == null,
          unreachableMember != null && since != null ? since.toString() : null,
          linkReason,
          info == null ? null : info.version()));
    }
    // the lease as the active core renews it; this core's own figures when the active core did not answer
    var activeInfo = activeCore(knownActive ? active.core() : null, infos);
    SystemStatus.LeaseStatus lease = activeInfo != null && activeInfo.lease() != null ? activeInfo.lease()
        : LeaseRenewals.get().snapshot();
    var problems = problems(components, cores, activeCount);
    Integer activeCore = knownActive ? active.core() : null;
    return new SystemStatus(
        activeCore,
        active == null ? 0 : active.epoch(),
        active == null || active.since() == null ? null : active.since().toString(),
        active == null ? null : active.reason(),
        node.coreId(),
        cores,
        components,
        dropped,
        refused,
        problems.isEmpty(),
        new SystemStatus.LogCounts(written, dropped, buffered),
        lease,
        thisCore(activeCore, components, peerTrouble.toString()),
        upgrade,
        problems);
  }

  /** Which link a core is cut off by, in words; null while it is up and reachable. */
  private String linkReason(int id, String status, Instant since) {
    int self = node.coreId();
    String when = since == null ? "" : " since " + since;
    if ("unreachable".equals(status)) {
      return id == self
          ? "core " + (3 - self) + " does not hear core " + self + ": the cluster link from core " + self
              + " to core " + (3 - self) + " is down" + when
          : "core " + self + " does not hear core " + id + ": the cluster link between them is down" + when;
    }
    if ("absent".equals(status) && id != self) {
      return since == null ? "core " + id + " is not a member of core " + self + "'s cluster"
          : "core " + id + " is not a member of core " + self + "'s cluster: unreachable" + when
              + ", then removed by the split brain resolver";
    }
    return null;
  }

  /** The answering core as it sees itself: acting or not, and why not. */
  private SystemStatus.ThisCore thisCore(Integer activeCore, List<ComponentStatus> components, String peerTrouble) {
    if (node.isActive()) {
      return new SystemStatus.ThisCore(node.coreId(), true, node.activeEpoch(),
          "active under epoch " + node.activeEpoch());
    }
    var why = new ArrayList<String>();
    why.add(activeCore != null && activeCore != node.coreId() ? "standby: core " + activeCore + " is active"
        : "not active");
    var failing = heyken.actors.cluster.MongoLease.renewalsFailingSince();
    var loss = heyken.actors.cluster.MongoLease.lastLoss();
    if (loss != null) {
      why.add("lease lost at " + loss.at() + ": " + loss.why());
    } else if (failing != null) {
      why.add("store unreachable since " + failing);
    }
    components.stream().filter(c -> c.name().equals("store") && !c.status().equals(ComponentStatus.UP))
        .findFirst().ifPresent(c -> why.add("store " + c.status() + ": " + c.detail()));
    if (!peerTrouble.isEmpty()) {
      why.add(peerTrouble.substring(0, peerTrouble.length() - 2));
    }
    String stepDown = node.stepDownReason();
    if (stepDown != null) {
      why.add(stepDown);
    }
    return new SystemStatus.ThisCore(node.coreId(), false, 0, String.join("; ", why));
  }

  private static CoreInfo.Info activeCore(Integer core, Map<Integer, CoreInfo.Info> infos) {
    return core == null ? null : infos.get(core);
  }

  /**
   * Why the installation is not healthy, each with what to do: the store, both cores up with exactly one active, and
   * a sandbox that can run jobs (without one nothing can be tested, deployed or invoked).
   */
  static List<String> problems(List<ComponentStatus> components, List<CoreStatus> cores, int activeCount) {
    var problems = new ArrayList<String>();
    var store = component(components, "store");
    if (store == null || !ComponentStatus.UP.equals(store.status())) {
      problems.add(store == null ? "the store was not checked" : "store is " + store.status() + ": " + store.detail());
    }
    for (var core : cores) {
      if (!"up".equals(core.status())) {
        problems.add("core-" + core.id() + " is " + core.status() + ": see data/logs/core-" + core.id()
            + ".log; ./scripts/run_heyken.sh starts what is missing");
      }
    }
    if (activeCount != 1) {
      problems.add(activeCount + " active cores, expected exactly one (a failover or switch may be under way)");
    }
    var sandbox = component(components, "sandbox");
    if (sandbox != null && !ComponentStatus.UP.equals(sandbox.status())) {
      problems.add("no sandbox can run jobs (" + sandbox.detail() + "): ./scripts/run_heyken.sh installs "
          + "bubblewrap and starts the Docker engine (scripts/docker-engine.sh), then restart Heyken");
    }
    return problems;
  }

  private static ComponentStatus component(List<ComponentStatus> components, String name) {
    return components.stream().filter(c -> c.name().equals(name)).findFirst().orElse(null);
  }

  private static String memberStatus(Member m) {
    MemberStatus s = m.status();
    if (s == MemberStatus.up()) {
      return "up";
    }
    if (s == MemberStatus.joining() || s == MemberStatus.weaklyUp()) {
      return "joining";
    }
    if (s == MemberStatus.leaving() || s == MemberStatus.exiting()) {
      return "leaving";
    }
    if (s == MemberStatus.down()) {
      return "down";
    }
    return "absent";
  }

}
