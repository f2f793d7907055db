package heyken.testkit.netns;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * Test hosts in network namespaces (scripts/partition_hosts.sh does the work): the store, core-1 and core-2 each
 * on its own address, every connection between them across a link the test can cut, the core-to-core link through
 * a delay proxy. The test process itself stays in the host's namespace and reaches the hosts only through the
 * gateway in the test namespace ({@link #forward}), so its requests cross the hosts' links like a client's.
 * Everything is removed by {@link #close()}, and by a JVM shutdown hook if the test never gets there.
 */
public final class TestHosts implements AutoCloseable {

  public static final List<String> HOSTS = List.of("store", "core1", "core2");

  private final Path script;
  private final String name;
  private final Map<String, String> facts;
  private final Map<String, InetSocketAddress> forwards = new ConcurrentHashMap<>();
  private final List<ServerSocket> listeners = new ArrayList<>();
  private final Thread cleanup;
  private volatile boolean closed;

  private TestHosts(Path script, String name, Map<String, String> facts) {
    this.script = script;
    this.name = name;
    this.facts = facts;
    this.cleanup = new Thread(this::down, "test-hosts-cleanup-" + name);
    Runtime.getRuntime().addShutdownHook(cleanup);
  }

  /**
   * Whether this machine can make test hosts: null when it can, else what is missing. Tests FAIL with that text
   * when CI=true or HEYKEN_REQUIRE_NETNS=true (scripts/test.sh sets it), and are skipped with it otherwise.
   */
  public static String unavailableReason() {
    if (!"root".equals(System.getProperty("user.name"))) {
      return "the partition tests need root (network namespaces, veth pairs, iptables inside them); running as "
          + System.getProperty("user.name");
    }
    for (String tool : new String[] {"ip", "iptables", "python3"}) {
      if (!onPath(tool)) {
        return tool + " is not installed: apt-get install " + (tool.equals("ip") ? "iproute2" : tool)
            + " (scripts/test.sh installs iproute2 and iptables when they are missing)";
      }
    }
    try {
      Process p = new ProcessBuilder("ip", "netns", "list").redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (!p.waitFor(10, TimeUnit.SECONDS) || p.exitValue() != 0) {
        return "network namespaces are not allowed here (ip netns list: " + out.trim() + ")";
      }
    } catch (IOException | InterruptedException e) {
      return "ip netns list failed: " + e;
    }
    return null;
  }

  /** Whether a missing capability must fail the test (CI) rather than skip it. */
  public static boolean required() {
    return "true".equalsIgnoreCase(System.getenv("CI")) || "true".equalsIgnoreCase(System.getenv("HEYKEN_REQUIRE_NETNS"));
  }

  private static boolean onPath(String tool) {
    for (String dir : System.getenv().getOrDefault("PATH", "/usr/sbin:/usr/bin:/sbin:/bin").split(":")) {
      if (Files.isExecutable(Path.of(dir, tool))) {
        return true;
      }
    }
    return Files.isExecutable(Path.of("/usr/sbin", tool)) || Files.isExecutable(Path.of("/sbin", tool));
  }

  /** Creates a set of hosts with a name unique to this run; {@code root} is the repository (for the script). */
  public static TestHosts up(Path root) throws IOException {
    Path script = root.resolve("scripts/partition_hosts.sh");
    String name = "hk" + Long.toString(ProcessHandle.current().pid() % 46656, 36)
        + Long.toString(System.nanoTime() % 1296, 36);
    name = name.replaceAll("[^a-z0-9]", "0");
    var out = run(script, name, List.of("up"));
    Map<String, String> facts = new LinkedHashMap<>();
    for (String line : out.split("\n")) {
      int eq = line.indexOf('=');
      if (eq > 0) {
        facts.put(line.substring(0, eq).trim(), line.substring(eq + 1).trim());
      }
    }
    if (!facts.containsKey("gateway")) {
      run(script, name, List.of("down"));
      throw new IOException("partition_hosts.sh up printed no gateway:\n" + out);
    }
    return new TestHosts(script, name, facts);
  }

  private static String run(Path script, String name, List<String> args) throws IOException {
    var command = new ArrayList<>(List.of("bash", script.toString(), "--name", name));
    command.addAll(args);
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    try {
      if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
        throw new IOException("partition_hosts.sh " + String.join(" ", args) + " failed:\n" + out);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted", e);
    }
    return out;
  }

  private void command(String... args) {
    try {
      run(script, name, List.of(args));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  public String name() {
    return name;
  }

  /** The namespace of a host (store, core1, core2, link, test). */
  public String namespace(String host) {
    return require(host + ".ns");
  }

  /** The address of a host on the test subnet. */
  public String address(String host) {
    return require(host + ".address");
  }

  private String require(String key) {
    String v = facts.get(key);
    if (v == null) {
      throw new IllegalArgumentException("no " + key + " among the test hosts' facts " + facts.keySet());
    }
    return v;
  }

  /** The command prefix that runs a program on a host. */
  public List<String> onHost(String host) {
    return List.of("ip", "netns", "exec", namespace(host));
  }

  /** A and B stop hearing each other. */
  public void cut(String a, String b) {
    command("cut", a, b);
  }

  /** B stops hearing A; A still hears B. */
  public void cutOneWay(String from, String to) {
    command("cut", from, to, "--one-way");
  }

  /** Every cut is removed. */
  public void heal() {
    command("heal");
  }

  /** Every core-to-core chunk is held this long, each way. */
  public void delay(int millis) {
    command("delay", String.valueOf(millis));
  }

  public String rules() {
    try {
      return run(script, name, List.of("rules"));
    } catch (IOException e) {
      return e.getMessage();
    }
  }

  // ---------------------------------------------------------------- reaching the hosts from the test process

  /** Whether something accepts connections at host:port, asked from the test host. */
  public boolean accepts(String host, int port) {
    try (SocketChannel gateway = openGateway(host, port)) {
      return gateway != null;
    } catch (IOException e) {
      return false;
    }
  }

  /** A channel to host:port through the gateway, or null when the gateway could not connect. */
  private SocketChannel openGateway(String host, int port) throws IOException {
    SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX);
    try {
      ch.connect(UnixDomainSocketAddress.of(require("gateway")));
      ch.write(ByteBuffer.wrap(("CONNECT " + address(host) + " " + port + "\n").getBytes(StandardCharsets.US_ASCII)));
      var line = new StringBuilder();
      ByteBuffer one = ByteBuffer.allocate(1);
      while (true) {
        one.clear();
        if (ch.read(one) <= 0) {
          ch.close();
          return null;
        }
        char c = (char) one.get(0);
        if (c == '\n') {
          break;
        }
        line.append(c);
      }
      if (!line.toString().equals("OK")) {
        ch.close();
        return null;
      }
      return ch;
    } catch (IOException | RuntimeException e) {
      ch.close();
      throw e;
    }
  }

  /**
   * A loopback address of the test process that relays each connection to host:port through the gateway. A target
   * that does not accept makes the relay close the connection at once, before any byte was delivered.
   */
  public InetSocketAddress forward(String host, int port) {
    return forwards.computeIfAbsent(host + ":" + port, k -> {
      try {
        ServerSocket listener = new ServerSocket(0, 100, InetAddress.getLoopbackAddress());
        synchronized (listeners) {
          listeners.add(listener);
        }
        Thread acceptor = new Thread(() -> accept(listener, host, port), "relay-" + host + "-" + port);
        acceptor.setDaemon(true);
        acceptor.start();
        return new InetSocketAddress(InetAddress.getLoopbackAddress(), listener.getLocalPort());
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    });
  }

  private void accept(ServerSocket listener, String host, int port) {
    while (!closed && !listener.isClosed()) {
      Socket client;
      try {
        client = listener.accept();
      } catch (IOException e) {
        return;
      }
      Thread t = new Thread(() -> relay(client, host, port), "relay-conn-" + host + "-" + port);
      t.setDaemon(true);
      t.start();
    }
  }

  private void relay(Socket client, String host, int port) {
    SocketChannel upstream;
    try {
      upstream = openGateway(host, port);
    } catch (IOException e) {
      upstream = null;
    }
    if (upstream == null) {
      try {
        client.setSoLinger(true, 0); // a reset: the caller sees the target refuse, as it would directly
        client.close();
      } catch (IOException ignored) {
        // gone already
      }
      return;
    }
    SocketChannel up = upstream;
    Thread back = new Thread(() -> {
      ByteBuffer buf = ByteBuffer.allocate(65536);
      try {
        var out = client.getOutputStream();
        while (up.read(buf) >= 0) {
          out.write(buf.array(), 0, buf.position());
          out.flush();
          buf.clear();
        }
        client.shutdownOutput();
      } catch (IOException ignored) {
        // either side went away
      } finally {
        closeQuietly(client);
        closeQuietly(up);
      }
    }, "relay-back");
    back.setDaemon(true);
    back.start();
    byte[] buf = new byte[65536];
    try {
      var in = client.getInputStream();
      int n;
      while ((n = in.read(buf)) >= 0) {
        ByteBuffer b = ByteBuffer.wrap(buf, 0, n);
        while (b.hasRemaining()) {
          up.write(b);
        }
      }
      up.shutdownOutput();
    } catch (IOException ignored) {
      closeQuietly(client);
      closeQuietly(up);
    }
  }

  private static void closeQuietly(AutoCloseable c) {
    try {
      c.close();
    } catch (Exception ignored) {
      // best effort
    }
  }

  // ---------------------------------------------------------------- teardown

  private synchronized void down() {
    if (closed) {
      return;
    }
    closed = true;
    synchronized (listeners) {
      listeners.forEach(TestHosts::closeQuietly);
    }
    try {
      run(script, name, List.of("down"));
    } catch (IOException e) {
      System.err.println("removing the test hosts " + name + " failed; remove them with: scripts/partition_hosts.sh "
          + "--name " + name + " down\n" + e.getMessage());
    }
  }

  @Override
  public void close() {
    down();
    try {
      Runtime.getRuntime().removeShutdownHook(cleanup);
    } catch (IllegalStateException shuttingDown) {
      // the hook is running or ran
    }
  }
}
