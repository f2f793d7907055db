package heyken.testkit.postgres;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A real PostgreSQL server for tests: Debian's binaries ({@code /usr/lib/postgresql/N/bin}, or {@code pg_config
 * --bindir}, or {@code HEYKEN_POSTGRES_BIN}) run in a temporary data directory on a free loopback port, as the
 * unprivileged system user {@code heyken-pg} when the JVM runs as root (PostgreSQL refuses root). {@link #shared()}
 * is initialised once per JVM and gives each test class its own database ({@link #createDatabase}); a test that
 * kills the server starts its own with {@link #start()}. Stopped and deleted on {@link #close()} and at JVM exit.
 * Missing binaries are an error naming {@code scripts/postgres.sh --install}, never a skipped test.
 */
public final class PostgresServer implements AutoCloseable {

  public static final String SUPERUSER = "heyken";
  public static final String SYSTEM_USER = "heyken-pg";
  private static final Duration START_TIMEOUT = Duration.ofSeconds(60);
  private static PostgresServer shared;
  private static final AtomicInteger DATABASES = new AtomicInteger();

  private final Path bin;
  private final Path dir;
  private final Path data;
  private final int port;
  private final String password;
  private final boolean asRoot;
  private volatile Process process;
  private volatile boolean closed;

  private PostgresServer(Path bin, Path dir, int port, String password, boolean asRoot) {
    this.bin = bin;
    this.dir = dir;
    this.data = dir.resolve("data");
    this.port = port;
    this.password = password;
    this.asRoot = asRoot;
  }

  /** The server of this JVM (started on first use, stopped at exit): give each test class its own database. */
  public static synchronized PostgresServer shared() {
    if (shared == null || shared.closed) {
      shared = start();
    }
    return shared;
  }

  /** A server of its own (for tests that kill or stop it); close it when done. */
  public static PostgresServer start() {
    Path bin = binaries();
    try {
      boolean root = "0".equals(run(List.of("id", "-u")).trim());
      Path dir = Files.createTempDirectory("heyken-pg-");
      String password = "pw" + Long.toHexString(Double.doubleToLongBits(Math.random())) + Long.toHexString(System.nanoTime());
      var server = new PostgresServer(bin, dir, freePort(), password, root);
      Runtime.getRuntime().addShutdownHook(new Thread(server::close, "heyken-pg-test-stop"));
      server.init();
      server.startProcess();
      return server;
    } catch (IOException e) {
      throw new IllegalStateException("could not start a test PostgreSQL: " + e.getMessage(), e);
    }
  }

  /** Where the server's programs are, or an error telling how to install them. */
  public static Path binaries() {
    var candidates = new ArrayList<Path>();
    String env = System.getenv("HEYKEN_POSTGRES_BIN");
    if (env != null && !env.isBlank()) {
      candidates.add(Path.of(env));
    }
    Path debian = Path.of("/usr/lib/postgresql");
    if (Files.isDirectory(debian)) {
      try (var versions = Files.list(debian)) {
        versions.sorted(Comparator.comparing((Path p) -> versionOf(p.getFileName().toString())).reversed())
            .forEach(p -> candidates.add(p.resolve("bin")));
      } catch (IOException ignored) {
        // fall through to pg_config
      }
    }
    try {
      candidates.add(Path.of(run(List.of("pg_config", "--bindir")).trim()));
    } catch (IOException | RuntimeException ignored) {
      // no pg_config
    }
    for (Path p : candidates) {
      if (Files.isExecutable(p.resolve("initdb")) && Files.isExecutable(p.resolve("postgres"))) {
        return p;
      }
    }
    throw new IllegalStateException("PostgreSQL server binaries (initdb, postgres) not found in /usr/lib/postgresql/*/bin "
        + "or pg_config --bindir: install them with scripts/postgres.sh --install (Debian's postgresql package), "
        + "or point HEYKEN_POSTGRES_BIN at their directory");
  }

  private static int versionOf(String name) {
    try {
      return Integer.parseInt(name);
    } catch (NumberFormatException e) {
      return -1;
    }
  }

  private void init() throws IOException {
    if (asRoot) {
      ensureSystemUser();
    }
    Path pwfile = dir.resolve("pwfile");
    Files.writeString(pwfile, password + "\n");
    if (asRoot) {
      run(List.of("chown", "-R", SYSTEM_USER + ":" + SYSTEM_USER, dir.toString()));
    }
    run(command(bin.resolve("initdb").toString(), "-D", data.toString(), "-U", SUPERUSER, "-A", "scram-sha-256",
        "--auth-local=trust", "--pwfile=" + pwfile, "-E", "UTF8", "--no-locale", "-N"));
    Files.deleteIfExists(pwfile);
    // tests: no fsync (a killed server still keeps every commit: the OS has the WAL), synchronous commits kept
    String conf = String.join("\n",
        "listen_addresses = '127.0.0.1'",
        "port = " + port,
        "unix_socket_directories = '" + dir + "'",
        "max_connections = 200",
        "shared_buffers = 64MB",
        "fsync = off",
        "full_page_writes = off",
        "synchronous_commit = on",
        "logging_collector = off",
        "log_min_messages = warning",
        "");
    Files.writeString(data.resolve("postgresql.conf"), conf, StandardCharsets.UTF_8,
        java.nio.file.StandardOpenOption.APPEND);
  }

  /** Creates the system user PostgreSQL runs as when the tests run as root (two JVMs may race: both are fine). */
  static void ensureSystemUser() throws IOException {
    try {
      run(List.of("id", "-u", SYSTEM_USER));
    } catch (IOException e) {
      try {
        run(List.of("useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", SYSTEM_USER));
      } catch (IOException raced) {
        run(List.of("id", "-u", SYSTEM_USER)); // created by someone else meanwhile, else this fails with why
      }
    }
  }

  private List<String> command(String... args) {
    var cmd = new ArrayList<String>();
    if (asRoot) {
      cmd.addAll(List.of("setpriv", "--reuid=" + SYSTEM_USER, "--regid=" + SYSTEM_USER, "--clear-groups", "--"));
    }
    cmd.addAll(List.of(args));
    return cmd;
  }

  private synchronized void startProcess() throws IOException {
    long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
    IOException last = null;
    while (System.nanoTime() < deadline) {
      var pb = new ProcessBuilder(command(bin.resolve("postgres").toString(), "-D", data.toString()));
      pb.redirectErrorStream(true);
      pb.redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve("postgres.log").toFile()));
      process = pb.start();
      try {
        awaitAccepting(process, deadline);
        return;
      } catch (IOException e) {
        // after a kill -9 the old backends may still hold the shared memory for a moment: try again
        last = e;
        process.destroyForcibly();
        sleep(200);
      }
    }
    throw new IOException("PostgreSQL did not start within " + START_TIMEOUT.toSeconds() + " s: " + logTail(), last);
  }

  private void awaitAccepting(Process p, long deadline) throws IOException {
    SQLException last = null;
    while (System.nanoTime() < deadline) {
      if (!p.isAlive()) {
        throw new IOException("postgres exited with status " + p.exitValue() + ": " + logTail());
      }
      try (Connection c = connect("postgres")) {
        return;
      } catch (SQLException e) {
        last = e;
        sleep(50);
      }
    }
    throw new IOException("PostgreSQL does not accept connections on port " + port, last);
  }

  /** The last lines of the server's log (for failure messages). */
  public String logTail() {
    try {
      var lines = Files.readAllLines(dir.resolve("postgres.log"));
      return String.join("\n", lines.subList(Math.max(0, lines.size() - 15), lines.size()));
    } catch (IOException e) {
      return "(no log)";
    }
  }

  public String host() {
    return "127.0.0.1";
  }

  public int port() {
    return port;
  }

  public String user() {
    return SUPERUSER;
  }

  public String password() {
    return password;
  }

  public String jdbcUrl(String database) {
    return "jdbc:postgresql://" + host() + ":" + port + "/" + database;
  }

  public Connection connect(String database) throws SQLException {
    var props = new java.util.Properties();
    props.setProperty("user", SUPERUSER);
    props.setProperty("password", password);
    props.setProperty("connectTimeout", "2");
    return DriverManager.getConnection(jdbcUrl(database), props);
  }

  /** A new, empty database (named from {@code prefix}, unique in this server). */
  public String createDatabase(String prefix) {
    String name = (prefix.toLowerCase().replaceAll("[^a-z0-9_]", "_") + "_" + DATABASES.incrementAndGet());
    if (name.length() > 60) {
      name = name.substring(name.length() - 60);
    }
    if (!Character.isLetter(name.charAt(0))) {
      name = "d" + name.substring(1);
    }
    try (Connection c = connect("postgres"); var s = c.createStatement()) {
      s.execute("CREATE DATABASE " + name);
      return name;
    } catch (SQLException e) {
      throw new IllegalStateException("could not create database " + name + ": " + e.getMessage(), e);
    }
  }

  /** The environment a core needs to use {@code database} of this server. */
  public Map<String, String> environment(String database) {
    var env = new LinkedHashMap<String, String>();
    env.put("HEYKEN_POSTGRES_HOST", host());
    env.put("HEYKEN_POSTGRES_PORT", String.valueOf(port));
    env.put("HEYKEN_POSTGRES_DATABASE", database);
    env.put("HEYKEN_POSTGRES_USER", SUPERUSER);
    env.put("HEYKEN_POSTGRES_PASSWORD", password);
    env.put("HEYKEN_POSTGRES_QUERY_PASSWORD", "query-" + password);
    return env;
  }

  /** The postmaster's process id (setpriv execs postgres: the same process). */
  public long pid() {
    return process.pid();
  }

  public boolean isRunning() {
    return process != null && process.isAlive();
  }

  /** SIGKILL to the postmaster, as a crash: its backends end when they notice. */
  public void kill9() {
    Process p = process;
    p.destroyForcibly();
    try {
      p.waitFor(10, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** Starts the server again on the same data and port (after {@link #kill9()} or {@link #stop()}). */
  public void restart() {
    try {
      startProcess();
    } catch (IOException e) {
      throw new IllegalStateException(e.getMessage(), e);
    }
  }

  /** Fast shutdown (SIGINT: open sessions are ended), the data kept for {@link #restart()}. */
  public void stop() {
    Process p = process;
    if (p == null || !p.isAlive()) {
      return;
    }
    try {
      new ProcessBuilder("kill", "-INT", String.valueOf(p.pid())).start().waitFor();
      if (!p.waitFor(20, TimeUnit.SECONDS)) {
        p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      }
    } catch (IOException e) {
      p.destroyForcibly();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      p.destroyForcibly();
    }
  }

  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    stop();
    heyken.testkit.TempDirs.delete(dir);
  }

  private static int freePort() throws IOException {
    try (var s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }

  private static String run(List<String> cmd) throws IOException {
    var pb = new ProcessBuilder(cmd).redirectErrorStream(true);
    Process p = pb.start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    try {
      if (!p.waitFor(120, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        throw new IOException(String.join(" ", cmd) + " did not finish within 120 s");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted", e);
    }
    if (p.exitValue() != 0) {
      throw new IOException(String.join(" ", cmd) + " failed (status " + p.exitValue() + "): " + out.trim());
    }
    return out;
  }

  private static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
