package heyken.testkit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import heyken.testkit.netns.TestHosts;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Predicate;

/**
 * A whole Heyken installation for tests: the store and both cores as separate JVMs from the real fat jar,
 * on ports of their own, with a supervisor that restarts a crashed core at once with {@code --rejoin}
 * (as scripts/lib/supervise.sh does). Kill, freeze and thaw them for real.
 *
 * <p>On {@link TestHosts} the store and each core run in their own network namespace with their own address,
 * configured as on separate machines (HEYKEN_CORE1_HOST, HEYKEN_CORE2_HOST, HEYKEN_MONGO_URI, HEYKEN_BIND_HOST),
 * on the default ports; this class's HTTP calls then go through the test host's gateway, a documented port to
 * whichever core binds it.
 *
 * <p>{@link #close} stops every process and deletes the installation's directory (the one given to the constructor):
 * give it a fresh {@code Files.createTempDirectory("heyken-...")}, and {@code HEYKEN_KEEP_TEST_DIRS=true} keeps it.
 */
public final class HeykenProcesses implements AutoCloseable {

  public static final ObjectMapper JSON = new ObjectMapper();

  private final Path jar;
  private final Path dir;
  private final Map<String, String> env = new HashMap<>();
  private final Map<String, Integer> ports = new HashMap<>();
  private final Map<Integer, Process> cores = new ConcurrentHashMap<>();
  private final Map<Integer, Integer> restarts = new ConcurrentHashMap<>();
  private final List<Long> allPids = new ArrayList<>();
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
  private volatile boolean closing;
  private Process store;
  private final String token = "test-token-" + Long.toHexString(System.nanoTime());
  private final TestHosts hosts;
  private final Map<String, Map<String, String>> hostEnv = new HashMap<>();
  // the core that answered on a documented port last: asked first next time
  private volatile int documentedHolder = 1;

  private final heyken.testkit.postgres.PostgresServer postgres;
  private final String postgresDatabase;

  /** An installation whose log store is a fresh database on this JVM's shared test PostgreSQL. */
  public HeykenProcesses(Path jar, Path dir) throws IOException {
    this(jar, dir, heyken.testkit.postgres.PostgresServer.shared(), null);
  }

  /** An installation whose log store is a fresh database on {@code postgres} (a server of its own to kill). */
  public HeykenProcesses(Path jar, Path dir, heyken.testkit.postgres.PostgresServer postgres) throws IOException {
    this(jar, dir, postgres, null);
  }

  /**
   * On test hosts ({@code hosts} non-null): every process in its own namespace, on the default ports. The shared test
   * PostgreSQL listens on the host's loopback, which the namespaces do not reach: there the cores' log lines are
   * dropped and counted, as with any absent log store.
   */
  public HeykenProcesses(Path jar, Path dir, TestHosts hosts) throws IOException {
    this(jar, dir, heyken.testkit.postgres.PostgresServer.shared(), hosts);
  }

  private HeykenProcesses(Path jar, Path dir, heyken.testkit.postgres.PostgresServer postgres, TestHosts hosts)
      throws IOException {
    this.jar = jar;
    this.dir = dir;
    this.hosts = hosts;
    this.postgres = postgres;
    this.postgresDatabase = postgres.createDatabase("heyken_it");
    Files.createDirectories(dir.resolve("logs"));
    // a block of free ports: the documented ones and their inspection offsets must all be free
    int base = hosts == null ? freeBase() : 0;
    ports.put("store", base);
    ports.put("core1", base + 1);
    ports.put("core2", base + 2);
    ports.put("mgmt1", base + 3);
    ports.put("mgmt2", base + 4);
    ports.put("registry", base + 10);
    ports.put("sandbox", base + 11);
    ports.put("logger", base + 12);
    ports.put("monitor", base + 13);
    env.put("HEYKEN_DATA_DIR", dir.toString());
    env.put("HEYKEN_API_TOKEN", token);
    env.put("HEYKEN_STORE_PORT", String.valueOf(ports.get("store")));
    env.put("HEYKEN_CORE1_PORT", String.valueOf(ports.get("core1")));
    env.put("HEYKEN_CORE2_PORT", String.valueOf(ports.get("core2")));
    env.put("HEYKEN_CORE1_MANAGEMENT_PORT", String.valueOf(ports.get("mgmt1")));
    env.put("HEYKEN_CORE2_MANAGEMENT_PORT", String.valueOf(ports.get("mgmt2")));
    env.put("HEYKEN_REGISTRY_PORT", String.valueOf(ports.get("registry")));
    env.put("HEYKEN_SANDBOX_PORT", String.valueOf(ports.get("sandbox")));
    env.put("HEYKEN_LOGGER_PORT", String.valueOf(ports.get("logger")));
    env.put("HEYKEN_MONITOR_PORT", String.valueOf(ports.get("monitor")));
    env.put("HEYKEN_INSPECTION_PORT_OFFSET", "100");
    if (postgres != null) {
      env.putAll(postgres.environment(postgresDatabase));
    }
    env.put("DOCKER_HOST", "unix://" + dir.resolve("no-docker.sock"));
    env.put("OLLAMA_URL", "http://127.0.0.1:" + (base + 50));
    if (hosts != null) {
      onHosts();
    }
  }

  /** The default ports, and the settings a user gives cores on two machines. */
  private void onHosts() {
    ports.putAll(Map.of("store", 27017, "core1", 2551, "core2", 2552, "mgmt1", 7626, "mgmt2", 7627,
        "registry", 5002, "sandbox", 5010, "logger", 5020, "monitor", 5021));
    ports.forEach((name, port) -> {
      String key = switch (name) {
        case "store" -> "HEYKEN_STORE_PORT";
        case "core1" -> "HEYKEN_CORE1_PORT";
        case "core2" -> "HEYKEN_CORE2_PORT";
        case "mgmt1" -> "HEYKEN_CORE1_MANAGEMENT_PORT";
        case "mgmt2" -> "HEYKEN_CORE2_MANAGEMENT_PORT";
        default -> "HEYKEN_" + name.toUpperCase() + "_PORT";
      };
      env.put(key, String.valueOf(port));
    });
    env.put("HEYKEN_CORE1_HOST", "core1");
    env.put("HEYKEN_CORE2_HOST", "core2");
    env.put("HEYKEN_MONGO_URI", "mongodb://store:27017/heyken");
    env.put("OLLAMA_URL", "http://127.0.0.1:11434"); // the core's own loopback: nothing listens there
    hostEnv.put("store", Map.of("HEYKEN_BIND_HOST", hosts.address("store"), "HEYKEN_STORE_HOST", hosts.address("store")));
    hostEnv.put("core-1", Map.of("HEYKEN_BIND_HOST", hosts.address("core1")));
    hostEnv.put("core-2", Map.of("HEYKEN_BIND_HOST", hosts.address("core2")));
  }

  public TestHosts hosts() {
    return hosts;
  }

  /** Sets an environment variable of the processes started from now on (e.g. the sandbox backend). */
  public HeykenProcesses withEnv(String name, String value) {
    env.put(name, value);
    return this;
  }

  /**
   * Sets an environment variable of core {@code id} only, for every start and supervised restart of it from now on
   * (e.g. its own way to the store, through a proxy of the test).
   */
  public HeykenProcesses withCoreEnv(int id, String name, String value) {
    var own = new HashMap<>(hostEnv.getOrDefault("core-" + id, Map.of()));
    own.put(name, value);
    hostEnv.put("core-" + id, own);
    return this;
  }

  /** Several runs on one machine must not collide: find a base where the whole block is free. */
  private static int freeBase() throws IOException {
    for (int attempt = 0; attempt < 50; attempt++) {
      int base = 20000 + (int) (Math.random() * 300) * 100;
      boolean free = true;
      for (int offset : new int[] {0, 1, 2, 3, 4, 10, 11, 12, 13, 110, 111, 112, 113, 210, 211, 212, 213}) {
        try (var socket = new ServerSocket(base + offset, 1, java.net.InetAddress.getLoopbackAddress())) {
          socket.setReuseAddress(true);
        } catch (IOException e) {
          free = false;
          break;
        }
      }
      if (free) {
        return base;
      }
    }
    throw new IOException("no free block of ports found");
  }

  public String token() {
    return token;
  }

  public int port(String name) {
    return ports.get(name);
  }

  /** The port on which core {@code id} always serves an API (documented port + 100 × id). */
  public int inspectionPort(String api, int id) {
    return ports.get(api) + 100 * id;
  }

  public String mongoUri() {
    if (hosts != null) {
      var store = hosts.forward("store", ports.get("store"));
      return "mongodb://127.0.0.1:" + store.getPort() + "/heyken?directConnection=true&serverSelectionTimeoutMS=5000";
    }
    return "mongodb://127.0.0.1:" + ports.get("store") + "/heyken";
  }

  /** The PostgreSQL server of this installation's log store. */
  public heyken.testkit.postgres.PostgresServer postgres() {
    return postgres;
  }

  /** The database of this installation's log store on {@link #postgres()}. */
  public String postgresDatabase() {
    return postgresDatabase;
  }

  public Path dir() {
    return dir;
  }

  public Path log(String name) {
    return dir.resolve("logs").resolve(name + ".log");
  }

  private Process launch(String logName, List<String> args) throws IOException {
    return launch(logName, args, jar);
  }

  /**
   * The jar a core starts from: the path in {@code <dir>/run/core-N.jar} when it names a file (an upgrade writes it,
   * as scripts/lib/supervise.sh reads it), else the harness's jar.
   */
  public Path jarOf(int coreId) {
    Path f = dir.resolve("run").resolve("core-" + coreId + ".jar");
    try {
      if (Files.isRegularFile(f)) {
        Path named = Path.of(Files.readString(f).strip());
        if (Files.isRegularFile(named)) {
          return named;
        }
      }
    } catch (IOException e) {
      // the harness's jar
    }
    return jar;
  }

  private Process launch(String logName, List<String> args, Path jarToRun) throws IOException {
    var command = new ArrayList<String>();
    if (hosts != null) {
      command.addAll(hosts.onHost(logName.equals("store") ? "store" : logName.replace("-", "")));
    }
    command.addAll(List.of(javaBin(), "-Xms64m", "-Xmx512m", "-XX:+ExitOnOutOfMemoryError",
        "-XX:TieredStopAtLevel=1", "-jar", jarToRun.toString()));
    command.addAll(args);
    var pb = new ProcessBuilder(command).redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.appendTo(log(logName).toFile()));
    pb.environment().putAll(env);
    pb.environment().putAll(hostEnv.getOrDefault(logName, Map.of()));
    Process p = pb.start();
    synchronized (allPids) {
      allPids.add(p.pid());
    }
    return p;
  }

  private static String javaBin() {
    return Path.of(System.getProperty("java.home"), "bin", "java").toString();
  }

  public void startStore() throws IOException {
    store = launch("store", List.of("store"));
    await("store listening", Duration.ofSeconds(30), () -> {
      if (hosts != null) {
        return hosts.accepts("store", ports.get("store"));
      }
      try (var s = new java.net.Socket("127.0.0.1", ports.get("store"))) {
        return true;
      } catch (IOException e) {
        return false;
      }
    });
  }

  /** Starts core {@code id} under supervision: a crash is followed at once by a restart with --rejoin. */
  public void startCore(int id) throws IOException {
    startCore(id, false);
  }

  private void startCore(int id, boolean rejoin) throws IOException {
    var args = new ArrayList<>(List.of("core", "--id", String.valueOf(id)));
    if (rejoin) {
      args.add("--rejoin");
    }
    Process p = launch("core-" + id, args, jarOf(id));
    cores.put(id, p);
    // the pid file, as the supervisor writes it (an upgrade kills a core that never joined by it)
    Files.createDirectories(dir.resolve("run"));
    Files.writeString(dir.resolve("run").resolve("core-" + id + ".pid"), p.pid() + "\n");
    p.onExit().thenRun(() -> {
      if (!closing && cores.get(id) == p) {
        restarts.merge(id, 1, Integer::sum);
        try {
          startCore(id, true);
        } catch (IOException e) {
          throw new java.io.UncheckedIOException(e);
        }
      }
    });
  }

  public long pid(int coreId) {
    return cores.get(coreId).pid();
  }

  public int restarts(int coreId) {
    return restarts.getOrDefault(coreId, 0);
  }

  public void kill9(int coreId) {
    cores.get(coreId).destroyForcibly(); // SIGKILL on Linux
  }

  public void signal(int coreId, String signal) throws IOException, InterruptedException {
    new ProcessBuilder("kill", "-" + signal, String.valueOf(pid(coreId))).inheritIO().start().waitFor();
  }

  // ---------------------------------------------------------------- HTTP

  public record Response(int status, JsonNode body, String raw) {}

  /** A GET with the installation's token, as the CLI and the scripts send it (a room's history needs it). */
  public Response get(int port, String path) {
    return sendTo(port, path, b -> withToken(b).GET());
  }

  private HttpRequest.Builder withToken(HttpRequest.Builder b) {
    return token == null || token.isEmpty() ? b : b.header("Authorization", "Bearer " + token);
  }

  public Response post(int port, String path, String json, String bearer) {
    return sendTo(port, path, b -> {
      b.header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(json));
      if (bearer != null) {
        b.header("Authorization", "Bearer " + bearer);
      }
      return b;
    });
  }

  /** GET from core {@code id}'s host (test hosts only: both cores use the same port numbers). */
  public Response getFrom(int id, int port, String path) {
    var target = hosts.forward("core" + id, port);
    return send(withToken(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + target.getPort() + path))).GET());
  }

  private Response sendTo(int port, String path,
      java.util.function.UnaryOperator<HttpRequest.Builder> request) {
    if (hosts == null) {
      return send(request.apply(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))));
    }
    // a documented port is bound by the active core only: the other core's host refuses (nothing delivered)
    List<Integer> candidates = List.of(documentedHolder, 3 - documentedHolder);
    for (int id = 1; id <= 2; id++) {
      if (port == ports.get("mgmt" + id)) {
        candidates = List.of(id);
      }
      for (String api : List.of("registry", "sandbox", "logger", "monitor")) {
        if (port == ports.get(api) + 100 * id) {
          candidates = List.of(id);
        }
      }
    }
    Response last = null;
    for (int id : candidates) {
      if (candidates.size() > 1 && !hosts.accepts("core" + id, port)) {
        last = new Response(-1, null, "core " + id + " does not accept on " + port);
        continue;
      }
      var target = hosts.forward("core" + id, port);
      last = send(request.apply(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + target.getPort() + path))));
      if (last.status() != -1) {
        if (candidates.size() > 1) {
          documentedHolder = id;
        }
        return last;
      }
    }
    return last;
  }

  public Response send(HttpRequest.Builder request) {
    return send(request, Duration.ofSeconds(5));
  }

  /** {@link #send(HttpRequest.Builder)} with another timeout (a request the cores answer slowly, e.g. an upgrade). */
  public Response send(HttpRequest.Builder request, Duration timeout) {
    try {
      var r = http.send(request.timeout(timeout).build(), HttpResponse.BodyHandlers.ofString());
      JsonNode body = null;
      try {
        body = r.body().isEmpty() ? null : JSON.readTree(r.body());
      } catch (IOException notJson) {
        // left null: the caller asserts on raw
      }
      return new Response(r.statusCode(), body, r.body());
    } catch (IOException e) {
      return new Response(-1, null, e.toString());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return new Response(-1, null, e.toString());
    }
  }

  /** {@code /api/status} from the documented monitor port (the active core), or null. */
  public JsonNode status() {
    var r = get(ports.get("monitor"), "/api/status");
    return r.status() == 200 ? r.body() : null;
  }

  /** {@code /api/status} as core {@code id} answers it on its inspection port, or null. */
  public JsonNode statusFrom(int id) {
    var r = get(inspectionPort("monitor", id), "/api/status");
    return r.status() == 200 ? r.body() : null;
  }

  public static JsonNode core(JsonNode status, int id) {
    for (JsonNode c : status.get("cores")) {
      if (c.get("id").asInt() == id) {
        return c;
      }
    }
    throw new AssertionError("no core " + id + " in " + status);
  }

  /** Waits for the documented monitor port to report a status the predicate accepts; returns it. */
  public JsonNode awaitStatus(String what, Duration timeout, Predicate<JsonNode> accept) {
    return awaitStatus(what, timeout, accept, this::status);
  }

  /** The same, asking core {@code id} on its inspection port (answers whether it is active or not). */
  public JsonNode awaitStatusFrom(int id, String what, Duration timeout, Predicate<JsonNode> accept) {
    return awaitStatus(what, timeout, accept, () -> statusFrom(id));
  }

  private JsonNode awaitStatus(String what, Duration timeout, Predicate<JsonNode> accept,
      java.util.function.Supplier<JsonNode> source) {
    JsonNode[] last = new JsonNode[1];
    try {
      await(what, timeout, () -> {
        JsonNode s = source.get();
        if (s != null) {
          last[0] = s;
        }
        return s != null && accept.test(s);
      });
    } catch (AssertionError e) {
      throw new AssertionError(e.getMessage() + "; last status: " + last[0], e.getCause());
    }
    return last[0];
  }

  // ---------------------------------------------------------------- the integration tests' common setup

  /** The fat jar the integration tests start ({@code -Dheyken.jar}, default {@code target/heyken-core.jar}). */
  public static Path itJar() {
    Path jar = Path.of(System.getProperty("heyken.jar", "target/heyken-core.jar"));
    if (!Files.exists(jar)) {
      throw new IllegalStateException("the fat jar is built before the integration tests: " + jar);
    }
    return jar;
  }

  /** The Rocket.Chat server and the accounts the cores provision on it (the stand-in's admin, as the ITs use it). */
  public HeykenProcesses withRocketChat(String url) {
    return withEnv("ROCKETCHAT_URL", url)
        .withEnv("ROCKETCHAT_ADMIN_USERNAME", "admin")
        .withEnv("ROCKETCHAT_ADMIN_PASSWORD", "admin-password")
        .withEnv("ROCKETCHAT_BOT_PASSWORD", "bot-password-1")
        .withEnv("ROCKETCHAT_HUMAN_PASSWORD", "user-password-1");
  }

  /** Starts the store and both cores, and waits until {@code /api/status} says both are up (healthy). */
  public JsonNode startBothCores(String what, Duration timeout) throws IOException {
    startStore();
    startCore(1);
    startCore(2);
    return awaitStatus(what, timeout, s -> s.path("healthy").asBoolean());
  }

  /** Closes each that is not null, in order, all of them even when one fails (an {@code @AfterAll}). */
  public static void closeAll(AutoCloseable... resources) {
    RuntimeException failed = null;
    for (var resource : resources) {
      if (resource == null) {
        continue;
      }
      try {
        resource.close();
      } catch (Exception e) {
        if (failed == null) {
          failed = new IllegalStateException("closing " + resource + " failed", e);
        } else {
          failed.addSuppressed(e);
        }
      }
    }
    if (failed != null) {
      throw failed;
    }
  }

  public interface Condition {
    boolean holds() throws Exception;
  }

  /** Polls every 100 ms until the condition holds; fails with {@code what} at the deadline. */
  public static void await(String what, Duration timeout, Condition condition) {
    long deadline = System.nanoTime() + timeout.toNanos();
    Throwable last = null;
    while (System.nanoTime() < deadline) {
      try {
        if (condition.holds()) {
          return;
        }
      } catch (Exception | AssertionError e) {
        last = e;
      }
      try {
        Thread.sleep(100);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError("interrupted while waiting for " + what);
      }
    }
    throw new AssertionError("timed out after " + timeout.toSeconds() + " s waiting for " + what, last);
  }

  /** The last lines of a process log, for failure messages. */
  public String tail(String name, int lines) {
    try {
      var all = Files.readAllLines(log(name));
      return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
    } catch (IOException e) {
      return "(no log: " + e + ")";
    }
  }

  @Override
  public void close() {
    closing = true;
    for (var p : cores.values()) {
      // a frozen core would ignore SIGTERM forever
      try {
        new ProcessBuilder("kill", "-CONT", String.valueOf(p.pid())).start().waitFor();
      } catch (IOException | InterruptedException ignored) {
        // best effort
      }
      p.destroy();
    }
    for (var p : cores.values()) {
      try {
        if (!p.waitFor(15, java.util.concurrent.TimeUnit.SECONDS)) {
          p.destroyForcibly().waitFor();
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    if (store != null) {
      store.destroy();
      try {
        if (!store.waitFor(10, java.util.concurrent.TimeUnit.SECONDS)) {
          store.destroyForcibly().waitFor();
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    synchronized (allPids) {
      for (long pid : allPids) {
        ProcessHandle.of(pid).ifPresent(p -> {
          p.destroyForcibly();
          try {
            p.onExit().get(10, java.util.concurrent.TimeUnit.SECONDS);
          } catch (Exception stillThere) {
            // reported by the leftover check of scripts/test.sh if it keeps files open
          }
        });
      }
    }
    // nothing writes into it any more: the installation's directory goes (HEYKEN_KEEP_TEST_DIRS=true keeps it)
    TempDirs.delete(dir);
  }
}
