package heyken.actors.upgrade;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import heyken.actors.core.CoreApi;
import heyken.actors.core.CoreManager;
import heyken.actors.core.CoreNode;
import heyken.actors.core.EpochFence;
import heyken.actors.feature.FeatureService;
import heyken.actors.metrics.Metrics;
import heyken.actors.store.MongoStore;
import heyken.protocol.api.SystemStatus;
import heyken.protocol.api.feature.CreateFeatureRequest;
import heyken.protocol.api.feature.FeatureRef;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.actor.typed.receptionist.Receptionist;
import org.apache.pekko.cluster.typed.Cluster;
import org.bson.Document;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

/**
 * The side effects of an upgrade on this machine: git and Maven in a workspace under {@code data/upgrade/<id>/}, the
 * new jar's own {@code version --json} and {@code check-journal} commands, the jar files the supervisors read
 * ({@code data/run/core-N.jar}), restarts of the standby, the planned switch, and the checks of the verification
 * window. Everything blocking runs on the blocking dispatcher; every result is confirmed in the epoch fence before
 * the singleton records it.
 */
public final class UpgradeRuntime implements Upgrade.Steps {

  private static final Logger log = LoggerFactory.getLogger(UpgradeRuntime.class);
  /** The build's output goes to the log store only, tagged with the upgrade's id as {@code run}. */
  public static final String OUTPUT_LOGGER = "heyken.upgrade.output";
  private static final Logger output = LoggerFactory.getLogger(OUTPUT_LOGGER);
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Duration ASK = Duration.ofSeconds(3);

  private final ActorSystem<?> system;
  private final CoreNode node;
  private final UpgradeSettings settings;
  private final MongoStore store;
  private final EpochFence fence;
  private final ActorRef<CoreManager.Command> coreManager;
  private final Supplier<CompletionStage<SystemStatus>> status;
  private final java.util.function.BiConsumer<String, String> news;
  private final FeatureService features;
  private final Executor blocking;
  private final String token;
  private final int monitorPort;
  private final Map<Integer, String> managementUrls = new TreeMap<>();
  private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
      .connectTimeout(Duration.ofSeconds(2)).build();

  /**
   * {@code status}: GET /api/status as the active core assembles it; {@code news}: (text, key) → a line for
   * heyken-system.
   */
  public UpgradeRuntime(ActorSystem<?> system, CoreNode node, ActorRef<CoreManager.Command> coreManager,
      Supplier<CompletionStage<SystemStatus>> status, FeatureService features,
      java.util.function.BiConsumer<String, String> news) {
    this.system = system;
    this.node = node;
    var config = system.settings().config();
    this.settings = UpgradeSettings.from(config);
    this.store = MongoStore.get(system);
    this.fence = new EpochFence(store.database());
    this.coreManager = coreManager;
    this.status = status;
    this.news = news;
    this.features = features;
    this.blocking = store.blockingExecutor();
    this.token = settings.apiToken();
    this.monitorPort = settings.inspectionMonitorPort(node.coreId());
    this.managementUrls.putAll(settings.managementUrls());
  }

  @Override
  public boolean acting() {
    return node.isActive();
  }

  @Override
  public Duration verificationWindow() {
    return settings.verificationWindow();
  }

  @Override
  public void announce(String text, String key) {
    news.accept(text, key);
  }

  @Override
  public CompletionStage<String> checkFence() {
    long epoch = node.activeEpoch();
    return CompletableFuture.supplyAsync(() -> fenceProblem(epoch), blocking);
  }

  private String fenceProblem(long epoch) {
    if (epoch == 0) {
      return "core " + node.coreId() + " is not the active core";
    }
    try {
      fence.check(epoch);
      return null;
    } catch (EpochFence.StaleEpochException e) {
      return e.getMessage();
    } catch (RuntimeException e) {
      return "the store could not confirm this core's epoch (" + e.getMessage() + ")";
    }
  }

  /** Runs {@code step} on the blocking dispatcher; its result counts only while this core's epoch is the newest. */
  private CompletionStage<Upgrade.StepResult> fenced(Supplier<Upgrade.StepResult> step) {
    long epoch = node.activeEpoch();
    return CompletableFuture.supplyAsync(() -> {
      Upgrade.StepResult r;
      try {
        r = step.get();
      } catch (RuntimeException e) {
        log.warn("upgrade step failed unexpectedly: {}", e.toString());
        r = Upgrade.StepResult.failed(e.getClass().getSimpleName() + ": " + e.getMessage());
      }
      String problem = fenceProblem(epoch);
      return problem == null || r.pending() ? r : Upgrade.StepResult.fencedOut(problem);
    }, blocking);
  }

  // ---------------------------------------------------------------- prepare

  @Override
  public CompletionStage<Upgrade.Preparation> prepare(String upgradeId, String ref, String jarPath) {
    return CompletableFuture.supplyAsync(() -> {
      if (ref != null) {
        Path repo = repository();
        var resolved = exec(List.of("git", "-C", repo.toString(), "rev-parse", "--verify", "--quiet",
            ref + "^{commit}"), null, Duration.ofSeconds(30), line -> {});
        if (resolved.exit() != 0) {
          throw new Upgrade.Refused(Upgrade.Refusal.unknownRef(ref, repo.toString()));
        }
      } else if (!Files.isRegularFile(Path.of(jarPath))) {
        throw new Upgrade.Refused(Upgrade.Refusal.unknownJar(jarPath));
      }
      Path running = BuildVersion.runningJar();
      if (running == null) {
        throw new Upgrade.Refused(Upgrade.Refusal.of(Upgrade.Refusal.Kind.NOT_A_JAR));
      }
      var mine = BuildVersion.current();
      int peer = node.peerId();
      // a core that joined a moment ago is listed by the receptionist only after its next gossip, and /ready
      // (cluster membership and sharding) follows a little later: it gets 12 s (the HTTP request waits)
      long deadline = System.nanoTime() + Duration.ofSeconds(12).toNanos();
      var other = versions().get(peer);
      boolean peerReady = other != null && ready(peer);
      while (!peerReady && System.nanoTime() < deadline) {
        pause(1000);
        other = versions().get(peer);
        peerReady = other != null && ready(peer);
      }
      if (other == null || !peerReady) {
        throw new Upgrade.Refused(Upgrade.Refusal.standbyNotUp(peer,
            other == null ? null : String.valueOf(managementUrls.get(peer))));
      }
      if (!other.version().equals(mine)) {
        throw new Upgrade.Refused(Upgrade.Refusal.versionsDiffer(node.coreId(), mine.label(), peer,
            other.version().label()));
      }
      String problem = fenceProblem(node.activeEpoch());
      if (problem != null) {
        throw new Upgrade.Refused(Upgrade.Refusal.because(Upgrade.Refusal.Kind.FENCED, problem));
      }
      Path kept = keep(running, mine);
      List<String> baseline = new ArrayList<>();
      try {
        for (var c : status.get().toCompletableFuture().get(5, TimeUnit.SECONDS).components()) {
          if (SystemStatus.ComponentStatus.UP.equals(c.status())) {
            baseline.add(c.name());
          }
        }
      } catch (Exception e) {
        log.warn("upgrade {}: the status could not be read for the baseline ({}); components are not compared",
            upgradeId, e.toString());
      }
      return new Upgrade.Preparation(kept.toString(), mine, peer, node.coreId(), baseline);
    }, blocking);
  }

  /** A copy of the running jar under data/jars, so that a rebuild of cores/target never takes the rollback's jar. */
  private Path keep(Path running, BuildVersion version) {
    try {
      Files.createDirectories(settings.jarsDir());
      Path kept = settings.jarsDir().resolve(jarName(version));
      if (running.normalize().equals(kept.normalize()) || Files.isRegularFile(kept)) {
        return kept;
      }
      Path tmp = kept.resolveSibling(kept.getFileName() + ".tmp");
      Files.copy(running, tmp, StandardCopyOption.REPLACE_EXISTING);
      Files.move(tmp, kept, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
      return kept;
    } catch (IOException e) {
      throw new Upgrade.Refused(Upgrade.Refusal.at(Upgrade.Refusal.Kind.JAR_NOT_KEPT, settings.jarsDir().toString(),
          e.getMessage()));
    }
  }

  private static String jarName(BuildVersion v) {
    String rev = v.revision().length() > 12 ? v.revision().substring(0, 12) : v.revision();
    return "heyken-core-" + rev + (v.dirty() ? "-dirty" : "") + "-" + v.buildTime().replaceAll("[^0-9]", "") + ".jar";
  }

  private Path repository() {
    Path start = Path.of(settings.repository().isBlank() ? "." : settings.repository()).toAbsolutePath().normalize();
    var top = exec(List.of("git", "-C", start.toString(), "rev-parse", "--show-toplevel"), null,
        Duration.ofSeconds(30), line -> {});
    if (top.exit() != 0) {
      throw new Upgrade.Refused(Upgrade.Refusal.at(Upgrade.Refusal.Kind.NO_REPOSITORY, start.toString(), null));
    }
    return Path.of(top.tail().strip());
  }

  // ---------------------------------------------------------------- build

  @Override
  public CompletionStage<Upgrade.StepResult> build(Upgrade.Run run) {
    return fenced(() -> {
      Path ws = settings.workspaceDir().resolve(run.id());
      if (run.jarPath() != null) {
        return adopt(run, Path.of(run.jarPath()), "jar_path given, no build");
      }
      Path repo;
      try {
        repo = repository();
      } catch (Upgrade.Refused r) {
        return Upgrade.StepResult.failed(r.getMessage()); // the refusal's detail, as the API says it
      }
      var sha = exec(List.of("git", "-C", repo.toString(), "rev-parse", "--verify", "--quiet", run.ref() + "^{commit}"),
          null, Duration.ofSeconds(30), line -> {});
      if (sha.exit() != 0) {
        return Upgrade.StepResult.failed("no commit '" + run.ref() + "' in " + repo);
      }
      String commit = sha.tail().strip();
      Path src = ws.resolve("src");
      try {
        deleteTree(src);
        Files.createDirectories(ws);
      } catch (IOException e) {
        return Upgrade.StepResult.failed("the workspace " + ws + " could not be prepared: " + e.getMessage());
      }
      Path buildLog = ws.resolve("build.log");
      Consumer<String> sink = line -> logOutput(run.id(), line, buildLog);
      var clone = exec(List.of("git", "clone", "--quiet", "--no-checkout", repo.toString(), src.toString()), ws,
          Duration.ofMinutes(5), sink);
      if (clone.exit() != 0) {
        return Upgrade.StepResult.failed("git clone of " + repo + " failed (exit " + clone.exit() + ")", clone.tail());
      }
      var checkout = exec(List.of("git", "-C", src.toString(), "checkout", "--quiet", "--detach", commit), ws,
          Duration.ofMinutes(2), sink);
      if (checkout.exit() != 0) {
        return Upgrade.StepResult.failed("git checkout " + commit + " failed", checkout.tail());
      }
      long t0 = System.nanoTime();
      var build = exec(settings.buildCommand(), src, settings.buildTimeout(), sink);
      long seconds = Duration.ofNanos(System.nanoTime() - t0).toSeconds();
      if (build.exit() != 0) {
        return Upgrade.StepResult.failed((build.exit() == 124 ? "the build timed out after "
            + settings.buildTimeout().toSeconds() + " s" : "the build or its unit tests failed (exit " + build.exit()
            + ")") + "; the whole output: GET :5020/api/logs?run=" + run.id() + " or " + buildLog, build.tail());
      }
      Path built = src.resolve(settings.builtJar());
      if (!Files.isRegularFile(built)) {
        return Upgrade.StepResult.failed("the build succeeded but made no " + settings.builtJar(), build.tail());
      }
      var adopted = adopt(run, built, "built " + commit.substring(0, 12) + " in " + seconds + " s ("
          + String.join(" ", settings.buildCommand()) + ")");
      return adopted.ok() ? new Upgrade.StepResult(true, false, false, adopted.detail(), null, build.tail(),
          adopted.newJar(), adopted.newVersion()) : adopted;
    });
  }

  /** Reads the jar's version with its own {@code version --json} (so a jar that does not start fails here). */
  private Upgrade.StepResult adopt(Upgrade.Run run, Path jar, String how) {
    var v = exec(List.of(javaBin(), "-jar", jar.toString(), "version", "--json"), null, Duration.ofSeconds(60),
        line -> {});
    if (v.exit() != 0) {
      return Upgrade.StepResult.failed("the jar " + jar + " does not start (`version --json` exit " + v.exit() + ")",
          v.tail());
    }
    JsonNode json;
    try {
      json = lastJson(v.tail());
    } catch (IOException e) {
      return Upgrade.StepResult.failed("the jar " + jar + " printed no version (is it a Heyken core jar?)", v.tail());
    }
    var version = new BuildVersion(json.path("revision").asText("unknown"), json.path("dirty").asBoolean(),
        json.path("build_time").asText("unknown"), json.path("pekko_version").asText("unknown"));
    if (version.equals(run.oldVersion())) {
      return Upgrade.StepResult.failed("the new jar is the version that runs (" + version.label() + "): nothing to "
          + "upgrade");
    }
    try {
      Files.createDirectories(settings.jarsDir());
      Path target = settings.jarsDir().resolve(jarName(version));
      if (!Files.isRegularFile(target)) {
        Path tmp = target.resolveSibling(target.getFileName() + ".tmp");
        Files.copy(jar, tmp, StandardCopyOption.REPLACE_EXISTING);
        Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
      }
      return Upgrade.StepResult.built(how + "; version " + version.label() + " kept as " + target, null,
          target.toString(), version);
    } catch (IOException e) {
      return Upgrade.StepResult.failed("the new jar could not be copied to " + settings.jarsDir() + ": "
          + e.getMessage());
    }
  }

  private static JsonNode lastJson(String text) throws IOException {
    var lines = text.strip().split("\n");
    for (int i = lines.length - 1; i >= 0; i--) {
      if (lines[i].startsWith("{")) {
        return JSON.readTree(lines[i]);
      }
    }
    throw new IOException("no JSON line");
  }

  private void logOutput(String upgradeId, String line, Path file) {
    MDC.put("run", upgradeId);
    MDC.put("component", "upgrade");
    try {
      output.info(line);
    } finally {
      MDC.remove("run");
      MDC.remove("component");
    }
    try {
      Files.writeString(file, line + "\n", StandardCharsets.UTF_8, java.nio.file.StandardOpenOption.CREATE,
          java.nio.file.StandardOpenOption.APPEND);
    } catch (IOException e) {
      // the log store has the line; the file is a convenience
    }
  }

  // ---------------------------------------------------------------- check

  @Override
  public CompletionStage<Upgrade.StepResult> check(Upgrade.Run run) {
    return fenced(() -> {
      var v = exec(List.of(javaBin(), "-jar", run.newJar(), "version", "--json"), null, Duration.ofSeconds(60),
          line -> {});
      JsonNode json;
      try {
        json = v.exit() == 0 ? lastJson(v.tail()) : null;
      } catch (IOException e) {
        json = null;
      }
      if (json == null) {
        return Upgrade.StepResult.failed("the new jar does not print its version", v.tail());
      }
      String problem = ProtocolCompatibility.problem(org.apache.pekko.Version.current(),
          json.path("pekko_version").asText(""), ProtocolCompatibility.bindings(system.settings().config()),
          JSON.convertValue(json.path("serialization_bindings"), Map.class));
      if (problem != null) {
        return Upgrade.StepResult.failed(problem, json.toString());
      }
      String scratch = "heyken_upgrade_" + run.id().replaceAll("[^A-Za-z0-9]", "_");
      long copied;
      try {
        copied = copyJournal(store.database(), scratch);
      } catch (RuntimeException e) {
        return Upgrade.StepResult.failed("the journal could not be copied to the scratch database " + scratch + ": "
            + e.getMessage());
      }
      try {
        String uri = scratchUri(scratch);
        Path dir = settings.workspaceDir().resolve(run.id());
        Files.createDirectories(dir);
        var old = replay(run.oldJar(), uri, dir.resolve("check-old.json"));
        var neu = replay(run.newJar(), uri, dir.resolve("check-new.json"));
        if (old.problem() != null) {
          return Upgrade.StepResult.failed("the running version's own journal check failed: " + old.problem(),
              old.tail());
        }
        if (neu.problem() != null) {
          return Upgrade.StepResult.failed("the new version cannot read the journal: " + neu.problem(), neu.tail());
        }
        String diff = JournalDigest.compare(old.json(), neu.json());
        if (diff != null) {
          return Upgrade.StepResult.failed("the new version recovers the journal differently: " + diff);
        }
        return Upgrade.StepResult.ok("pekko " + json.path("pekko_version").asText() + " and the serializer bindings "
            + "match; " + neu.json().path("persistence_ids").asInt() + " persistence ids ("
            + neu.json().path("events").asLong() + " events, " + copied + " documents copied) recover to the same "
            + "digests with both jars");
      } catch (IOException e) {
        return Upgrade.StepResult.failed("the journal check could not run: " + e.getMessage());
      } finally {
        try {
          store.client().getDatabase(scratch).drop();
        } catch (RuntimeException e) {
          log.warn("upgrade {}: the scratch database {} was not dropped ({}); drop it by hand", run.id(), scratch,
              e.getMessage());
        }
      }
    });
  }

  private String scratchUri(String database) {
    String uri = store.uri();
    int q = uri.indexOf('?');
    String base = q < 0 ? uri : uri.substring(0, q);
    String query = q < 0 ? "" : uri.substring(q);
    int slash = base.indexOf('/', base.indexOf("//") + 2);
    return (slash < 0 ? base : base.substring(0, slash)) + "/" + database + query;
  }

  /** Copies the journal's and snapshots' collections (at most check-max-documents each) into {@code scratch}. */
  private long copyJournal(com.mongodb.client.MongoDatabase from, String scratch) {
    var to = store.client().getDatabase(scratch);
    to.drop();
    long copied = 0;
    for (String name : from.listCollectionNames()) {
      if (!name.contains("persistence") || name.contains("realtime")) {
        continue;
      }
      var target = to.getCollection(name);
      var batch = new ArrayList<Document>();
      for (Document d : from.getCollection(name).find().limit(settings.checkMaxDocuments())) {
        batch.add(d);
        if (batch.size() == 500) {
          target.insertMany(batch);
          copied += batch.size();
          batch.clear();
        }
      }
      if (!batch.isEmpty()) {
        target.insertMany(batch);
        copied += batch.size();
      }
    }
    return copied;
  }

  private record Replay(JsonNode json, String problem, String tail) {}

  private Replay replay(String jar, String uri, Path out) throws IOException {
    Files.deleteIfExists(out);
    var r = exec(List.of(javaBin(), "-Xmx384m", "-jar", jar, "check-journal", "--mongo-uri", uri, "--out",
        out.toString()), null, settings.checkTimeout(), line -> {});
    if (!Files.isRegularFile(out)) {
      return new Replay(null, "check-journal of " + jar + " wrote no result (exit " + r.exit() + ")", r.tail());
    }
    JsonNode json = JSON.readTree(out.toFile());
    var failures = json.path("failures");
    if (failures.size() > 0) {
      return new Replay(json, failures.size() + " persistence id(s) did not recover, e.g. " + failures.get(0), r.tail());
    }
    return new Replay(json, r.exit() == 0 ? null : "check-journal exited " + r.exit(), r.tail());
  }

  // ---------------------------------------------------------------- restarts

  @Override
  public CompletionStage<Upgrade.StepResult> restart(Upgrade.Run run, int core, String jar, BuildVersion version) {
    return fenced(() -> restartOn(run, core, jar, version));
  }

  private Upgrade.StepResult restartOn(Upgrade.Run run, int core, String jar, BuildVersion version) {
    if (core == node.coreId()) {
      return Upgrade.StepResult.failed("core " + core + " is the active core: it is restarted only as standby");
    }
    long t0 = System.nanoTime();
    try {
      writeJarFile(core, jar);
    } catch (IOException e) {
      return Upgrade.StepResult.failed("could not write " + settings.jarFile(core) + ": " + e.getMessage());
    }
    var running = versions().get(core);
    if (running != null && running.version().equals(version) && ready(core)) {
      return Upgrade.StepResult.ok("core " + core + " already runs " + version.label());
    }
    String how = requestRestart(run, core, running);
    long deadline = System.nanoTime() + settings.readyTimeout().toNanos();
    while (System.nanoTime() < deadline) {
      if (!node.isActive()) {
        return Upgrade.StepResult.fencedOut("core " + node.coreId() + " stopped being active while core " + core
            + " restarted");
      }
      var now = versions().get(core);
      if (now != null && now.version().equals(version) && ready(core)) {
        return Upgrade.StepResult.ok("core " + core + " runs " + version.label() + ", Up and ready after "
            + Duration.ofNanos(System.nanoTime() - t0).toSeconds() + " s (" + how + ")");
      }
      pause(500);
    }
    return Upgrade.StepResult.failed("core " + core + " did not become Up and ready on " + version.label() + " within "
        + settings.readyTimeout().toSeconds() + " s (" + how + "); see data/logs/core-" + core + ".log");
  }

  private void writeJarFile(int core, String jar) throws IOException {
    Files.createDirectories(settings.runDir());
    Path file = settings.jarFile(core);
    Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
    Files.writeString(tmp, jar + "\n");
    Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
  }

  /**
   * A core in the cluster leaves gracefully and exits for its supervisor; one that is not (a jar that never joins)
   * is killed by the pid its supervisor wrote, and the supervisor starts the jar named in its file.
   */
  private String requestRestart(Upgrade.Run run, int core, CoreProcess.RunningVersion running) {
    var ref = processOf(core);
    if (ref != null) {
      try {
        CoreProcess.Restarting r = AskPattern.<CoreProcess.Command, CoreProcess.Restarting>ask(ref,
            reply -> new CoreProcess.Restart(run.id(), reply), ASK, system.scheduler()).toCompletableFuture()
            .get(ASK.toMillis() + 500, TimeUnit.MILLISECONDS);
        if (r.ok()) {
          return "restarted gracefully";
        }
        log.warn("upgrade {}: core {} refused the restart: {}", run.id(), core, r.detail());
      } catch (Exception e) {
        log.info("upgrade {}: core {} did not answer the restart request ({}); killing it by its pid", run.id(), core,
            e.toString());
      }
    }
    try {
      long pid = Long.parseLong(Files.readString(settings.pidFile(core)).strip());
      if (pid == node.pid()) {
        return "not restarted: the pid file names this JVM";
      }
      var handle = ProcessHandle.of(pid);
      if (handle.isPresent()) {
        handle.get().destroyForcibly();
        return "killed pid " + pid + " (not in the cluster), its supervisor restarts it";
      }
      return "its JVM (pid " + pid + ") was not running; its supervisor restarts it";
    } catch (IOException | NumberFormatException e) {
      return "no pid file " + settings.pidFile(core) + ": waiting for its supervisor";
    }
  }

  private ActorRef<CoreProcess.Command> processOf(int core) {
    var found = discover().get(core);
    return found == null ? null : found.ref();
  }

  private record Found(ActorRef<CoreProcess.Command> ref, CoreProcess.RunningVersion version) {}

  /**
   * Every core process the receptionist lists and that answers (not on an unreachable member), by the core id it
   * says it is; the newest incarnation wins.
   */
  private Map<Integer, Found> discover() {
    var out = new TreeMap<Integer, Found>();
    try {
      Receptionist.Listing listing = AskPattern.<Receptionist.Command, Receptionist.Listing>ask(system.receptionist(),
          r -> Receptionist.find(CoreProcess.KEY, r), ASK, system.scheduler()).toCompletableFuture()
          .get(ASK.toMillis() + 500, TimeUnit.MILLISECONDS);
      var unreachable = Cluster.get(system).state().getUnreachable();
      for (var ref : listing.getServiceInstances(CoreProcess.KEY)) {
        var address = ref.path().address();
        if (unreachable.stream().anyMatch(m -> m.address().equals(address))) {
          continue;
        }
        try {
          var v = AskPattern.<CoreProcess.Command, CoreProcess.RunningVersion>ask(ref, CoreProcess.GetVersion::new,
              ASK, system.scheduler()).toCompletableFuture().get(ASK.toMillis() + 500, TimeUnit.MILLISECONDS);
          out.merge(v.coreId(), new Found(ref, v),
              (a, b) -> a.version().startedAtMillis() >= b.version().startedAtMillis() ? a : b);
        } catch (Exception e) {
          log.info("the core process {} did not say its version: {}", ref.path(), e.toString());
        }
      }
    } catch (Exception e) {
      log.info("the receptionist did not list the core processes: {}", e.toString());
    }
    return out;
  }

  /** What each core that answers says it runs. */
  private Map<Integer, CoreProcess.RunningVersion> versions() {
    var out = new TreeMap<Integer, CoreProcess.RunningVersion>();
    discover().forEach((core, found) -> out.put(core, found.version()));
    return out;
  }

  /** The core's management {@code /ready} answers 200 (it is Up in the cluster); a loaded core gets a second try. */
  private boolean ready(int core) {
    for (int attempt = 0; attempt < 2; attempt++) {
      try {
        var r = http.send(HttpRequest.newBuilder(URI.create(managementUrls.get(core) + "/ready"))
            .timeout(Duration.ofSeconds(5)).GET().build(), HttpResponse.BodyHandlers.discarding());
        if (r.statusCode() == 200) {
          return true;
        }
      } catch (IOException e) {
        log.debug("core {} /ready: {}", core, e.toString());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return false;
      }
    }
    return false;
  }

  // ---------------------------------------------------------------- switch

  @Override
  public CompletionStage<Upgrade.StepResult> switchTo(Upgrade.Run run, int core) {
    return fenced(() -> switchNow(core));
  }

  private Upgrade.StepResult switchNow(int core) {
    if (core == node.coreId()) {
      return Upgrade.StepResult.ok("core " + core + " is active (epoch " + node.activeEpoch() + ")");
    }
    try {
      CoreManager.SwitchOutcome o = AskPattern.<CoreManager.Command, CoreManager.SwitchOutcome>ask(coreManager,
          reply -> new CoreManager.RequestSwitch(core, reply), ASK, system.scheduler()).toCompletableFuture()
          .get(ASK.toMillis() + 500, TimeUnit.MILLISECONDS);
      var refused = CoreApi.problem(o);
      if (refused != null) {
        return Upgrade.StepResult.failed("the planned switch to core " + core + " was refused: "
            + refused.detail());
      }
      return Upgrade.StepResult.pending("hand-over to core " + core + " under way (epoch " + o.accepted().epoch()
          + ")");
    } catch (Exception e) {
      return Upgrade.StepResult.pending("the switch request got no answer yet (" + e.getMessage() + ")");
    }
  }

  // ---------------------------------------------------------------- verification window

  @Override
  public CompletionStage<Upgrade.StepResult> verify(Upgrade.Run run, Instant windowStart, Instant windowEnd) {
    return fenced(() -> watch(run, windowStart, windowEnd));
  }

  private Upgrade.StepResult watch(Upgrade.Run run, Instant windowStart, Instant windowEnd) {
    if (!BuildVersion.current().equals(run.newVersion())) {
      return Upgrade.StepResult.failed("the upgraded core " + run.firstCore() + " was lost in the verification window: "
          + "core " + node.coreId() + " is active again on " + BuildVersion.current().label());
    }
    var checks = new ArrayList<String>();
    long errorsAtStart = serverErrors();
    long requestsAtStart = requests();
    if (settings.botCheck()) {
      String bot = botAnswers(run);
      if (bot != null) {
        return Upgrade.StepResult.failed(bot);
      }
      checks.add("bot answered");
    }
    if (settings.smokeTest()) {
      String smoke = new SmokeTest(features, run.id()).run();
      if (smoke != null) {
        return Upgrade.StepResult.failed(smoke);
      }
      checks.add("smoke create/test/deploy/invoke ok");
    }
    Instant unhealthySince = null;
    String lastProblem = null;
    int rounds = 0;
    while (Instant.now().isBefore(windowEnd)) {
      if (!node.isActive()) {
        return Upgrade.StepResult.fencedOut("core " + node.coreId() + " is no longer active");
      }
      rounds++;
      String problem = healthProblem(run);
      if (problem == null) {
        unhealthySince = null;
      } else {
        lastProblem = problem;
        unhealthySince = unhealthySince == null ? Instant.now() : unhealthySince;
        if (Duration.between(unhealthySince, Instant.now()).compareTo(settings.unhealthyGrace()) > 0) {
          return Upgrade.StepResult.failed("not healthy for " + settings.unhealthyGrace().toSeconds() + " s in the "
              + "verification window: " + problem);
        }
      }
      long total = requests() - requestsAtStart;
      long errors = serverErrors() - errorsAtStart;
      if (total >= 20 && (double) errors / total > settings.maxErrorRate()) {
        return Upgrade.StepResult.failed(errors + " of " + total + " requests to the documented APIs answered 5xx "
            + "on the new version (more than " + Math.round(settings.maxErrorRate() * 100) + " %)");
      }
      pause(Math.min(settings.checkInterval().toMillis(),
          Math.max(10, Duration.between(Instant.now(), windowEnd).toMillis())));
    }
    long total = requests() - requestsAtStart;
    long errors = serverErrors() - errorsAtStart;
    checks.add(rounds + " health checks" + (lastProblem == null ? "" : " (last passing after: " + lastProblem + ")"));
    checks.add(total + " API requests, " + errors + " answered 5xx");
    return Upgrade.StepResult.ok("the window of " + Duration.between(windowStart, windowEnd).toSeconds() + " s passed: "
        + String.join(", ", checks));
  }

  private static long requests() {
    return Metrics.HTTP_REQUESTS.sum(labels -> true);
  }

  private static long serverErrors() {
    return Metrics.HTTP_REQUESTS.sum(labels -> labels.size() == 4 && labels.get(3).startsWith("5"));
  }

  private String healthProblem(Upgrade.Run run) {
    SystemStatus s;
    try {
      s = status.get().toCompletableFuture().get(5, TimeUnit.SECONDS);
    } catch (Exception e) {
      return "the status did not answer (" + e.getMessage() + ")";
    }
    if (!s.healthy()) {
      return "the cluster is not healthy (active core " + s.activeCore() + ", cores " + s.cores().stream()
          .map(c -> c.id() + ":" + c.status()).toList() + ")";
    }
    for (var c : s.components()) {
      if (run.baseline().contains(c.name()) && !SystemStatus.ComponentStatus.UP.equals(c.status())) {
        return "component " + c.name() + " was up before the upgrade and is " + c.status() + ": " + c.detail();
      }
    }
    return null;
  }

  /** The bot answers in the web console ({@code POST /api/chat} on this core's monitor port). */
  private String botAnswers(Upgrade.Run run) {
    String body = "{\"session\":\"upgrade-" + run.id() + "\",\"text\":\"status\",\"message_id\":\"upgrade-"
        + run.id() + "-" + System.nanoTime() + "\"}";
    try {
      var b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + monitorPort + "/api/chat"))
          .timeout(Duration.ofSeconds(20)).header("Content-Type", "application/json")
          .POST(HttpRequest.BodyPublishers.ofString(body));
      if (!token.isBlank()) {
        b.header("Authorization", "Bearer " + token);
      }
      var r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
      if (r.statusCode() != 200) {
        return "the bot did not answer in the web console: POST /api/chat answered " + r.statusCode() + " " + r.body();
      }
      var answer = JSON.readTree(r.body()).path("answer").asText("");
      return answer.isBlank() ? "the bot answered the web console with an empty text" : null;
    } catch (IOException e) {
      return "the bot did not answer in the web console: " + e.getMessage();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return "interrupted";
    }
  }

  // ---------------------------------------------------------------- rollback

  @Override
  public CompletionStage<Upgrade.StepResult> restore(Upgrade.Run run) {
    return fenced(() -> restoreNow(run));
  }

  private Upgrade.StepResult restoreNow(Upgrade.Run run) {
    int me = node.coreId();
    int other = node.peerId();
    var old = run.oldVersion();
    var actions = new ArrayList<String>();
    try {
      if (BuildVersion.current().equals(old)) {
        writeJarFile(me, run.oldJar());
      }
    } catch (IOException e) {
      return Upgrade.StepResult.failed("could not write " + settings.jarFile(me) + ": " + e.getMessage());
    }
    var otherNow = versions().get(other);
    if (otherNow == null || !otherNow.version().equals(old) || !ready(other)) {
      var r = restartOn(run, other, run.oldJar(), old);
      if (!r.ok()) {
        return r;
      }
      actions.add(r.detail());
    }
    if (!BuildVersion.current().equals(old)) {
      // this core runs the new version: hand back to the old one, whose singleton finishes the restore
      return switchNow(other);
    }
    actions.add("core " + me + " runs " + old.label() + " and is active");
    return Upgrade.StepResult.ok(String.join("; ", actions));
  }

  // ---------------------------------------------------------------- processes

  record ExecResult(int exit, String tail) {}

  /** Runs a command, each output line to {@code sink}; exit 124 on timeout (the process is killed). */
  static ExecResult exec(List<String> command, Path dir, Duration timeout, Consumer<String> sink) {
    var tail = new ArrayDeque<String>();
    try {
      var pb = new ProcessBuilder(command).redirectErrorStream(true);
      if (dir != null) {
        pb.directory(dir.toFile());
      }
      Process p = pb.start();
      p.getOutputStream().close();
      var reader = CompletableFuture.runAsync(() -> {
        try (var in = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
          String line;
          while ((line = in.readLine()) != null) {
            sink.accept(line);
            synchronized (tail) {
              tail.addLast(line);
              if (tail.size() > 60) {
                tail.removeFirst();
              }
            }
          }
        } catch (IOException e) {
          // the process ended
        }
      });
      boolean done = p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
      if (!done) {
        p.descendants().forEach(ProcessHandle::destroyForcibly);
        p.destroyForcibly();
        p.waitFor(10, TimeUnit.SECONDS);
      }
      reader.get(10, TimeUnit.SECONDS);
      synchronized (tail) {
        return new ExecResult(done ? p.exitValue() : 124, String.join("\n", tail));
      }
    } catch (IOException e) {
      return new ExecResult(127, command.get(0) + " could not be started: " + e.getMessage());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return new ExecResult(130, "interrupted");
    } catch (Exception e) {
      synchronized (tail) {
        return new ExecResult(1, String.join("\n", tail) + "\n" + e);
      }
    }
  }

  private static String javaBin() {
    return Path.of(System.getProperty("java.home"), "bin", "java").toString();
  }

  private static void pause(long millis) {
    try {
      Thread.sleep(millis); // a watchdog on the blocking pool, not synchronization
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private static void deleteTree(Path dir) throws IOException {
    if (!Files.exists(dir)) {
      return;
    }
    try (var walk = Files.walk(dir)) {
      for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
        Files.delete(p);
      }
    }
  }
}
