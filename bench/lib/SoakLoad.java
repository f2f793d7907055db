import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/**
 * bench/soak.sh's load (a single-file program on the core's jar; loopback only, bounded in time).
 *
 * <p>{@code logs RATE SECONDS}: log lines at RATE/s through the real ingest path (SLF4J -> the cores' Logback
 * appender -> the bounded LogBuffer -> the LogShipper's COPY batches -> PostgreSQL), configured from the same
 * application.conf and environment as the cores; prints offered, written and dropped lines.
 *
 * <p>{@code http MONITOR LOGGER REGISTRY TOKEN SECONDS STATUS_RPS [WARMUP_S]}: for WARMUP_S + SECONDS, an open load of
 * STATUS_RPS/s on GET MONITOR/api/status, latency counted from when each request was due (what wrk2 does; the
 * latency figures are those of the last SECONDS, the warm-up's are printed apart), 10 log queries/s on
 * GET LOGGER/api/logs with various filters, chat in 5 rooms (POST MONITOR/api/chat, each room waits for its answer),
 * and component registrations every 200 ms; afterwards checks that every acknowledged registration and chat answer
 * is there. Prints one line of key=value figures that soak.sh reads.
 */
public class SoakLoad {

  public static void main(String[] args) throws Exception {
    if (args[0].equals("logs")) {
      logs(Integer.parseInt(args[1]), Integer.parseInt(args[2]));
    } else {
      http(args[1], args[2], args[3], args[4], Integer.parseInt(args[5]), Integer.parseInt(args[6]),
          args.length > 7 ? Integer.parseInt(args[7]) : 0);
    }
  }

  // ---------------------------------------------------------------- log lines
  static void logs(int rate, int seconds) throws Exception {
    var config = com.typesafe.config.ConfigFactory.parseString("pekko.actor.provider = local")
        .withFallback(com.typesafe.config.ConfigFactory.load()).resolve();
    var settings = heyken.actors.logs.LogSettings.from(config);
    heyken.actors.logs.LogBuffer.configure(config.getInt("heyken.logs.buffer-size"), 3, () -> 0);
    var system = org.apache.pekko.actor.typed.ActorSystem.create(
        org.apache.pekko.actor.typed.javadsl.Behaviors.<Void>setup(ctx -> {
          heyken.actors.postgres.PostgresDatabase.get(ctx.getSystem()).startMigrating();
          ctx.spawn(heyken.actors.logs.LogShipper.create(), "log-shipper");
          return org.apache.pekko.actor.typed.javadsl.Behaviors.empty();
        }), "soak-logs", config);
    heyken.actors.postgres.PostgresDatabase.get(system).ready().toCompletableFuture().get(60, TimeUnit.SECONDS);
    var log = org.slf4j.LoggerFactory.getLogger("heyken.soak");
    var buffer = heyken.actors.logs.LogBuffer.get();
    long start = System.nanoTime();
    long offered = 0;
    long total = (long) rate * seconds;
    String[] components = {"sandbox", "bot", "registry", "access", "persistence"};
    while (offered < total) {
      long due = start + offered * 1_000_000_000L / rate;
      long now = System.nanoTime();
      if (due > now) {
        long sleep = due - now;
        Thread.sleep(sleep / 1_000_000, (int) (sleep % 1_000_000));
      }
      // in steps of 100 lines per due time: the producer is as steady as the buffer sees it
      for (int i = 0; i < 100 && offered < total; i++, offered++) {
        org.slf4j.MDC.put("component", components[(int) (offered % components.length)]);
        if (offered % 50 == 0) {
          log.warn("soak line {}: a warning of ordinary length, feature {} run {}", offered, offered % 20, offered);
        } else {
          log.info("soak line {}: an ordinary message of ordinary length from the soak benchmark", offered);
        }
      }
    }
    double took = (System.nanoTime() - start) / 1e9;
    long drainUntil = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (buffer.buffered() > 0 && System.nanoTime() < drainUntil) {
      Thread.sleep(100);
    }
    System.out.printf("logs offered=%d seconds=%.1f rate=%.0f written=%d dropped=%d buffered=%d%n", offered, took,
        offered / took, buffer.written(), buffer.dropped(), buffer.buffered());
    system.terminate();
    system.getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
  }

  // ---------------------------------------------------------------- HTTP
  static final HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2))
      .executor(Executors.newFixedThreadPool(4)).version(HttpClient.Version.HTTP_1_1).build();

  static void http(String monitor, String logger, String registry, String token, int measured, int statusRps,
      int warmupS) throws Exception {
    int seconds = warmupS + measured;
    long endAt = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
    List<Thread> threads = new ArrayList<>();
    // /api/status, open model
    long[] latencies = new long[statusRps * seconds + 10];
    // what the server took for each request once sent (the latency above also holds the wait for a free connection
    // and a late load generator): the two apart say whether a slow p99 is the server or the queue in front of it
    long[] service = new long[statusRps * seconds + 10];
    AtomicLong done = new AtomicLong();
    LongAdder statusFailed = new LongAdder();
    LongAdder statusFailedWarmup = new LongAdder();
    LongAdder statusFailedMeasured = new LongAdder();
    Map<String, LongAdder> statusFailures = new ConcurrentHashMap<>();
    AtomicLong statusSent = new AtomicLong();
    CountDownLatch statusDone = new CountDownLatch(1);
    // 64 connections take the requests in the order they are due; a request that waits for a free connection is
    // counted from when it was due (no coordinated omission), and memory stays bounded however slow the answers are
    int n = statusRps * seconds;
    AtomicLong next = new AtomicLong();
    long begin = System.nanoTime() + 100_000_000L;
    for (int c = 0; c < 64; c++) {
      threads.add(start("status-load-" + c, () -> {
        var connection = new StatusConnection(URI.create(monitor), "/api/status");
        long i;
        while ((i = next.getAndIncrement()) < n) {
          long due = begin + i * 1_000_000_000L / statusRps;
          sleepUntil(due);
          statusSent.incrementAndGet();
          long took;
          long sent = System.nanoTime();
          String failure = null;
          try {
            int code = connection.get();
            took = code == 200 ? System.nanoTime() - due : Long.MAX_VALUE;
            service[(int) i] = System.nanoTime() - sent;
            failure = code == 200 ? null : "http_" + code;
          } catch (java.net.SocketTimeoutException e) {
            took = Long.MAX_VALUE;
            failure = "no_answer_in_2s";
          } catch (IOException e) {
            took = Long.MAX_VALUE;
            failure = "connection";
          }
          if (took == Long.MAX_VALUE) {
            statusFailed.increment();
            // when and why: a stall of the cold start (JIT, first connections) or of the measured minutes
            (i < (long) statusRps * warmupS ? statusFailedWarmup : statusFailedMeasured).increment();
            statusFailures.computeIfAbsent(failure, k -> new LongAdder()).increment();
          }
          latencies[(int) i] = took;
          done.incrementAndGet();
        }
      }));
    }
    statusDone.countDown();
    // log queries, 10/s, various filters
    String[] filters = {"limit=10", "limit=10&level=WARN", "limit=50&component=sandbox", "limit=10&contains=soak%20line%201",
        "limit=10&since=-1m", "limit=20&feature=3", "limit=10&level=ERROR", "limit=10&core=1&component=access"};
    LongAdder queries = new LongAdder();
    LongAdder queriesFailed = new LongAdder();
    List<Long> queryMillis = java.util.Collections.synchronizedList(new ArrayList<>());
    threads.add(start("log-queries", () -> {
      long queryBegin = System.nanoTime();
      for (int i = 0; System.nanoTime() < endAt; i++) {
        sleepUntil(queryBegin + i * 100_000_000L);
        long t0 = System.nanoTime();
        try {
          var r = client.send(HttpRequest.newBuilder(URI.create(logger + "/api/logs?" + filters[i % filters.length]))
              .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.discarding());
          if (r.statusCode() != 200) {
            queriesFailed.increment();
            System.out.printf("query_failed at_s=%d filter=%s status=%d%n", (t0 - queryBegin) / 1_000_000_000L,
                filters[i % filters.length], r.statusCode());
          }
        } catch (Exception e) {
          queriesFailed.increment();
          System.out.printf("query_failed at_s=%d filter=%s error=%s%n", (t0 - queryBegin) / 1_000_000_000L,
              filters[i % filters.length], e.getClass().getSimpleName());
        }
        queryMillis.add((System.nanoTime() - t0) / 1_000_000);
        queries.increment();
      }
    }));
    // chat in 5 rooms: each waits for its answer; an answered message id must be in the room's history afterwards
    Map<String, List<String>> answered = new ConcurrentHashMap<>();
    LongAdder chatFailed = new LongAdder();
    String run = Long.toString(System.currentTimeMillis(), 36);
    String[] commands = {"whoami", "status", "help", "features", "services"};
    for (int room = 0; room < 5; room++) {
      String session = "soak-" + run + "-" + room;
      answered.put(session, java.util.Collections.synchronizedList(new ArrayList<>()));
      threads.add(start("chat-" + room, () -> {
        for (int i = 0; System.nanoTime() < endAt; i++) {
          String id = session + "-m" + i;
          String body = "{\"session\":\"" + session + "\",\"text\":\"" + commands[i % commands.length]
              + "\",\"message_id\":\"" + id + "\"}";
          try {
            var r = client.send(post(monitor + "/api/chat", token, body).timeout(Duration.ofSeconds(30)).build(),
                HttpResponse.BodyHandlers.ofString());
            if (r.statusCode() == 200) {
              answered.get(session).add(id);
            } else {
              chatFailed.increment();
            }
          } catch (Exception e) {
            chatFailed.increment();
          }
          sleepUntil(System.nanoTime() + 200_000_000L);
        }
      }));
    }
    // registrations every 200 ms
    List<String> registered = java.util.Collections.synchronizedList(new ArrayList<>());
    LongAdder registerFailed = new LongAdder();
    threads.add(start("registrations", () -> {
      for (int i = 0; System.nanoTime() < endAt; i++) {
        String name = "soak-" + run + "-" + i;
        String body = "{\"name\":\"" + name + "\",\"url\":\"http://127.0.0.1:9/\",\"version\":\"1\"}";
        try {
          var r = client.send(post(registry + "/api/components", token, body).timeout(Duration.ofSeconds(10)).build(),
              HttpResponse.BodyHandlers.discarding());
          if (r.statusCode() / 100 == 2) {
            registered.add(name);
          } else {
            registerFailed.increment();
          }
        } catch (Exception e) {
          registerFailed.increment();
        }
        sleepUntil(System.nanoTime() + 200_000_000L);
      }
    }));
    for (Thread t : threads) {
      t.join(TimeUnit.SECONDS.toMillis(seconds + 60));
    }
    statusDone.await(20, TimeUnit.SECONDS);

    // afterwards: is every acknowledged write there?
    long registrationsLost = 0;
    for (String name : registered) {
      var r = client.send(HttpRequest.newBuilder(URI.create(registry + "/api/components/" + name))
          .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.discarding());
      if (r.statusCode() != 200) {
        registrationsLost++;
      }
    }
    // a chat answer is acknowledged once it came back; the room must remember it: sending the same message id again
    // must be answered as a duplicate (each room remembers its last 500 answered ids: the last 100 are checked)
    long chatLost = 0;
    long chatAnswered = 0;
    for (var e : answered.entrySet()) {
      List<String> ids = new ArrayList<>(e.getValue());
      chatAnswered += ids.size();
      for (int i = 0; i < ids.size(); i++) {
        if (i < ids.size() - 100) {
          continue;
        }
        String id = ids.get(i);
        int m = Integer.parseInt(id.substring(id.lastIndexOf("-m") + 2));
        String body = "{\"session\":\"" + e.getKey() + "\",\"text\":\"" + commands[m % commands.length]
            + "\",\"message_id\":\"" + id + "\"}";
        var r = client.send(post(monitor + "/api/chat", token, body).timeout(Duration.ofSeconds(30)).build(),
            HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() != 200 || !r.body().replace(" ", "").contains("\"duplicate\":true")) {
          chatLost++;
        }
      }
    }
    int got = (int) Math.min(done.get(), latencies.length);
    int warm = Math.min(got, statusRps * warmupS);
    // the target's figures: the measured seconds after the warm-up (JIT compilers, connection pools and caches
    // filling, in the cores and in both load generators); the warm-up's and the whole run's are printed beside them
    long[] sorted = Arrays.copyOfRange(latencies, warm, got);
    Arrays.sort(sorted);
    long[] served = Arrays.copyOfRange(service, warm, got);
    Arrays.sort(served);
    long[] warmup = Arrays.copyOf(latencies, warm);
    Arrays.sort(warmup);
    long[] whole = Arrays.copyOf(latencies, got);
    Arrays.sort(whole);
    // the p99 of every 10 s window, in order (the warm-up's first): one stall or a steady tail
    var windows = new StringBuilder();
    int per = statusRps * 10;
    for (int w = 0; w * per < got; w++) {
      long[] window = Arrays.copyOfRange(latencies, w * per, Math.min(got, (w + 1) * per));
      Arrays.sort(window);
      windows.append(w == 0 ? "" : ",").append(String.format("%.0f", ms(window, 0.99)));
    }
    List<Long> q = new ArrayList<>(queryMillis);
    java.util.Collections.sort(q);
    System.out.printf("http status_service_p50_ms=%.2f status_service_p99_ms=%.2f status_p99_per_10s_ms=%s "
            + "status_warmup_p99_ms=%.2f status_warmup_max_ms=%s status_whole_p99_ms=%.2f warmup_s=%d "
            + "status_failed_warmup=%d status_failed_measured=%d status_failed_why=%s%n",
        ms(served, 0.50), ms(served, 0.99), windows, ms(warmup, 0.99), max(warmup), ms(whole, 0.99), warmupS,
        statusFailedWarmup.sum(), statusFailedMeasured.sum(), statusFailures.isEmpty() ? "none"
            : new java.util.TreeMap<>(statusFailures).toString().replace(" ", "").replaceAll("[{}]", ""));
    System.out.printf("http status_sent=%d status_failed=%d status_p50_ms=%.2f status_p99_ms=%.2f status_max_ms=%s "
            + "queries=%d queries_failed=%d query_p50_ms=%d query_p99_ms=%d chat_answered=%d chat_failed=%d "
            + "chat_lost=%d registrations=%d registrations_failed=%d registrations_lost=%d%n",
        statusSent.get(), statusFailed.sum() + (statusSent.get() - got), ms(sorted, 0.50), ms(sorted, 0.99),
        max(sorted), queries.sum(), queriesFailed.sum(), q.isEmpty() ? 0 : q.get(q.size() / 2),
        q.isEmpty() ? 0 : q.get(Math.min(q.size() - 1, (int) (q.size() * 0.99))), chatAnswered, chatFailed.sum(),
        chatLost, registered.size(), registerFailed.sum(), registrationsLost);
    System.exit(0);
  }

  static String max(long[] sorted) {
    if (sorted.length == 0) {
      return "none";
    }
    long top = sorted[sorted.length - 1];
    return top == Long.MAX_VALUE ? "failed" : String.format("%.2f", top / 1e6);
  }

  static double ms(long[] sorted, double q) {
    if (sorted.length == 0) {
      return Double.NaN;
    }
    long v = sorted[Math.min(sorted.length - 1, (int) Math.ceil(q * sorted.length) - 1)];
    return v == Long.MAX_VALUE ? Double.POSITIVE_INFINITY : v / 1e6;
  }

  static HttpRequest.Builder post(String url, String token, String json) {
    return HttpRequest.newBuilder(URI.create(url)).header("Authorization", "Bearer " + token)
        .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(json));
  }

  static void sleepUntil(long due) {
    long wait;
    while ((wait = due - System.nanoTime()) > 0) {
      try {
        Thread.sleep(wait / 1_000_000, (int) (wait % 1_000_000));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
    }
  }

  static Thread start(String name, Runnable body) {
    Thread t = new Thread(body, name);
    t.start();
    return t;
  }

  /**
   * One keep-alive HTTP/1.1 connection that GETs one path, blocking, on the thread that uses it (what wrk does per
   * connection). The JDK's HttpClient hands each exchange between the caller, its selector thread and its executor:
   * on a busy 2-CPU machine those hand-offs are milliseconds of scheduling that the figures would count as the
   * server's. Reads the whole answer (Content-Length or chunked); reconnects after a failure or a close.
   */
  static final class StatusConnection {
    private final InetSocketAddress address;
    private final byte[] request;
    private Socket socket;
    private InputStream in;
    private OutputStream out;

    StatusConnection(URI base, String path) {
      this.address = new InetSocketAddress(base.getHost(), base.getPort());
      this.request = ("GET " + path + " HTTP/1.1\r\nHost: " + base.getHost() + ":" + base.getPort()
          + "\r\nAccept: application/json\r\n\r\n").getBytes(StandardCharsets.US_ASCII);
    }

    /** The answer's status code; an IOException when there is no whole answer within 2 s. */
    int get() throws IOException {
      try {
        if (socket == null) {
          socket = new Socket();
          socket.setTcpNoDelay(true);
          socket.connect(address, 2000);
          socket.setSoTimeout(2000);
          in = new BufferedInputStream(socket.getInputStream(), 16 * 1024);
          out = socket.getOutputStream();
        }
        out.write(request);
        out.flush();
        String status = line();
        if (!status.startsWith("HTTP/1.1 ") || status.length() < 12) {
          throw new IOException("not an HTTP answer: " + status);
        }
        int code = Integer.parseInt(status.substring(9, 12));
        long length = -1;
        boolean chunked = false;
        boolean close = false;
        for (String h; !(h = line()).isEmpty(); ) {
          String lower = h.toLowerCase(java.util.Locale.ROOT);
          if (lower.startsWith("content-length:")) {
            length = Long.parseLong(lower.substring(15).trim());
          } else if (lower.startsWith("transfer-encoding:") && lower.contains("chunked")) {
            chunked = true;
          } else if (lower.startsWith("connection:") && lower.contains("close")) {
            close = true;
          }
        }
        if (chunked) {
          for (long size; (size = Long.parseLong(line().split(";")[0].trim(), 16)) > 0; ) {
            skip(size);
            line();
          }
          while (!line().isEmpty()) {
            // trailers
          }
        } else if (length >= 0) {
          skip(length);
        } else {
          throw new IOException("an answer without a length");
        }
        if (close) {
          close();
        }
        return code;
      } catch (IOException | RuntimeException e) {
        close();
        throw e instanceof IOException io ? io : new IOException(e);
      }
    }

    private String line() throws IOException {
      var b = new StringBuilder();
      for (int c; (c = in.read()) != '\n'; ) {
        if (c < 0) {
          throw new IOException("connection closed");
        }
        if (c != '\r') {
          b.append((char) c);
        }
      }
      return b.toString();
    }

    private void skip(long n) throws IOException {
      while (n > 0) {
        long k = in.skip(n);
        if (k <= 0) {
          if (in.read() < 0) {
            throw new IOException("connection closed");
          }
          k = 1;
        }
        n -= k;
      }
    }

    private void close() {
      try {
        if (socket != null) {
          socket.close();
        }
      } catch (IOException ignored) {
        // already gone
      }
      socket = null;
    }
  }
}
