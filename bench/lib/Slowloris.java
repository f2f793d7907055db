import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * bench/slowloris.sh's attack and probes (a single-file program, JDK only; loopback only, bounded in time).
 *
 * <p>{@code HOST PORT CONNECTIONS INTERVAL_S SECONDS PROBE...}: keeps CONNECTIONS connections to HOST:PORT that each
 * send an unfinished request head, one more header line every INTERVAL_S seconds (a connection the server closes is
 * opened again a second later, so the attack holds its size), for SECONDS. Meanwhile every 100 ms a new connection
 * asks {@code GET /api/status} on HOST:PORT (3 s to answer), and every 500 ms each PROBE (a {@code port/path}: an
 * inspection port, a management port's /ready) is asked the same way. Prints key=value lines that slowloris.sh reads.
 */
public class Slowloris {

  static final int TIMEOUT_MS = 3000;

  public static void main(String[] args) throws Exception {
    String host = args[0];
    int port = Integer.parseInt(args[1]);
    int connections = Integer.parseInt(args[2]);
    long intervalMs = Long.parseLong(args[3]) * 1000;
    long seconds = Long.parseLong(args[4]);
    List<String> probes = List.of(args).subList(5, args.length);

    long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
    var attack = new Attack(host, port, connections, intervalMs, end);
    var attacker = new Thread(attack::run, "attack");
    attacker.start();
    // the attack is in place (every connection opened once) before the probes count
    while (attack.opened.get() < connections && System.nanoTime() < end) {
      Thread.sleep(50);
    }
    System.out.println("attack connections_opened=" + attack.opened.get() + " open_now=" + attack.open.get());

    var status = new Probe(host, port, "/api/status");
    var others = new ArrayList<Probe>();
    for (String p : probes) {
      int slash = p.indexOf('/');
      others.add(new Probe(host, Integer.parseInt(p.substring(0, slash)), p.substring(slash)));
    }
    long tick = 0;
    while (System.nanoTime() < end) {
      long due = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(100);
      status.once();
      if (tick++ % 5 == 0) {
        others.forEach(Probe::once);
      }
      long wait = due - System.nanoTime();
      if (wait > 0) {
        TimeUnit.NANOSECONDS.sleep(wait);
      }
    }
    attacker.join();
    System.out.println("attack connections=" + connections + " interval_s=" + intervalMs / 1000 + " seconds="
        + seconds + " opened=" + attack.opened.get() + " closed_by_server=" + attack.closedByServer.get()
        + " open_min=" + attack.openMin + " open_max=" + attack.openMax + " connect_failed="
        + attack.connectFailed.get());
    System.out.println(status.figures("status"));
    for (var p : others) {
      System.out.println(p.figures("probe port=" + p.port + " path=" + p.path));
    }
  }

  /** Connections that each trickle a request head, reopened when the server closes them. */
  static final class Attack {
    final String host;
    final int port;
    final int size;
    final long intervalMs;
    final long end;
    final AtomicInteger opened = new AtomicInteger();
    final AtomicInteger open = new AtomicInteger();
    final AtomicLong closedByServer = new AtomicLong();
    final AtomicLong connectFailed = new AtomicLong();
    final ConcurrentLinkedQueue<Socket> sockets = new ConcurrentLinkedQueue<>();
    final ExecutorService connectors = Executors.newFixedThreadPool(16);
    volatile int openMin = Integer.MAX_VALUE;
    volatile int openMax;

    Attack(String host, int port, int size, long intervalMs, long end) {
      this.host = host;
      this.port = port;
      this.size = size;
      this.intervalMs = intervalMs;
      this.end = end;
    }

    void run() {
      for (int i = 0; i < size; i++) {
        connectors.execute(this::openOne);
      }
      int line = 0;
      try {
        while (System.nanoTime() < end) {
          Thread.sleep(intervalMs);
          line++;
          int now = open.get();
          if (opened.get() >= size) {
            openMin = Math.min(openMin, now);
            openMax = Math.max(openMax, now);
          }
          for (var socket : List.copyOf(sockets)) {
            try {
              if (closed(socket) || !write(socket, "X-Line-" + line + ": a\r\n")) {
                lost(socket);
              }
            } catch (IOException e) {
              lost(socket);
            }
          }
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      } finally {
        connectors.shutdownNow();
        sockets.forEach(s -> {
          try {
            s.close();
          } catch (IOException ignored) {
            // closing anyway
          }
        });
      }
    }

    /** The server closed it (end of stream, a reset, or an answer such as 408): waits 1 ms for a byte. */
    private static boolean closed(Socket socket) throws IOException {
      socket.setSoTimeout(1);
      try {
        return socket.getInputStream().read() != -2;
      } catch (java.net.SocketTimeoutException stillOpen) {
        return false;
      }
    }

    private static boolean write(Socket socket, String text) {
      try {
        socket.getOutputStream().write(text.getBytes(StandardCharsets.US_ASCII));
        socket.getOutputStream().flush();
        return true;
      } catch (IOException e) {
        return false;
      }
    }

    private void lost(Socket socket) {
      if (sockets.remove(socket)) {
        open.decrementAndGet();
        closedByServer.incrementAndGet();
        try {
          socket.close();
        } catch (IOException ignored) {
          // gone already
        }
        if (System.nanoTime() < end) {
          connectors.execute(() -> {
            try {
              Thread.sleep(1000);
            } catch (InterruptedException e) {
              return;
            }
            openOne();
          });
        }
      }
    }

    private void openOne() {
      if (System.nanoTime() >= end) {
        return;
      }
      var socket = new Socket();
      try {
        socket.connect(new InetSocketAddress(host, port), TIMEOUT_MS);
        if (!write(socket, "GET /api/status HTTP/1.1\r\nHost: " + host + "\r\n")) {
          throw new IOException("closed at once");
        }
        sockets.add(socket);
        open.incrementAndGet();
      } catch (IOException e) {
        connectFailed.incrementAndGet();
        try {
          socket.close();
        } catch (IOException ignored) {
          // never opened
        }
      } finally {
        opened.incrementAndGet();
      }
    }
  }

  /** One GET on a new connection at a time; latencies of the answered ones, and how many failed. */
  static final class Probe {
    final String host;
    final int port;
    final String path;
    final List<Long> micros = Collections.synchronizedList(new ArrayList<>());
    int failed;
    String lastFailure = "";

    Probe(String host, int port, String path) {
      this.host = host;
      this.port = port;
      this.path = path;
    }

    void once() {
      long start = System.nanoTime();
      try (var socket = new Socket()) {
        socket.connect(new InetSocketAddress(host, port), TIMEOUT_MS);
        socket.setSoTimeout(TIMEOUT_MS);
        socket.getOutputStream().write(("GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n\r\n")
            .getBytes(StandardCharsets.US_ASCII));
        String statusLine = firstLine(socket.getInputStream());
        socket.getInputStream().readAllBytes();
        long took = (System.nanoTime() - start) / 1000;
        if (!statusLine.startsWith("HTTP/1.1 200") || took > TIMEOUT_MS * 1000L) {
          failed++;
          lastFailure = statusLine;
        } else {
          micros.add(took);
        }
      } catch (IOException e) {
        failed++;
        lastFailure = e.toString();
      }
    }

    private static String firstLine(InputStream in) throws IOException {
      var line = new StringBuilder();
      for (int c = in.read(); c >= 0 && c != '\n'; c = in.read()) {
        if (c != '\r') {
          line.append((char) c);
        }
      }
      return line.toString();
    }

    String figures(String prefix) {
      var sorted = new ArrayList<>(micros);
      Collections.sort(sorted);
      return prefix + " answered=" + sorted.size() + " failed=" + failed + " p50_ms=" + ms(sorted, 0.50) + " p99_ms="
          + ms(sorted, 0.99) + " max_ms=" + ms(sorted, 1.0)
          + (failed > 0 ? " last_failure=" + lastFailure.replace(' ', '_') : "");
    }

    private static String ms(List<Long> sorted, double q) {
      if (sorted.isEmpty()) {
        return "-";
      }
      int i = Math.min(sorted.size() - 1, (int) Math.ceil(q * sorted.size()) - 1);
      return String.format("%.1f", sorted.get(Math.max(0, i)) / 1000.0);
    }
  }
}
