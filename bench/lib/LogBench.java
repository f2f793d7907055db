// Log store benchmark, run by bench/logs.sh as a single-file program on the core's jar:
//   java -cp cores/target/heyken-core.jar bench/lib/LogBench.java JDBC_URL LOGGER_URL MONITOR_URL [options]
// (--fill-only: only the bulk fill up to --total, for bench/startup.sh)
// (user and password in HEYKEN_POSTGRES_USER / HEYKEN_POSTGRES_PASSWORD)
// Prints one "figure: value" line per measurement (the script prints them as they come). Not a test.
import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import com.typesafe.config.ConfigFactory;
import heyken.actors.logs.LogBuffer;
import heyken.actors.logs.LogShipper;
import heyken.actors.logs.MongoLogAppender;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

public class LogBench {

  static String loggerUrl;
  static String monitorUrl;
  static final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  static String jdbcUrl;

  public static void main(String[] args) throws Exception {
    jdbcUrl = args[0];
    loggerUrl = args[1];
    monitorUrl = args[2];
    long ingest = 200_000;
    boolean fillOnly = false;
    long total = 10_000_000;
    int rps = 1000;
    int seconds = 10;
    for (int i = 3; i < args.length; i += 2) {
      switch (args[i]) {
        case "--ingest" -> ingest = Long.parseLong(args[i + 1]);
        case "--total" -> total = Long.parseLong(args[i + 1]);
        case "--rps" -> rps = Integer.parseInt(args[i + 1]);
        case "--seconds" -> seconds = Integer.parseInt(args[i + 1]);
        case "--fill-only" -> {
          fillOnly = true;
          i--;
        }
        default -> throw new IllegalArgumentException("unknown option " + args[i]);
      }
    }
    var config = ConfigFactory.parseString("""
        heyken.postgres.url = "%s"
        pekko.actor.provider = local
        pekko.loglevel = WARNING
        """.formatted(jdbcUrl)).withFallback(ConfigFactory.load()).resolve();
    System.out.println("stored lines before: " + count());
    if (fillOnly) { // bench/startup.sh: only the bulk fill up to --total
      long t0 = System.nanoTime();
      fill(config, Math.max(0, total - count()));
      System.out.printf("log fill (server-side INSERT ... SELECT generate_series): %d lines stored, %.0f s%n", count(),
          (System.nanoTime() - t0) / 1e9);
      return;
    }
    ingestInto(config, ingest);
    long stored = count();
    System.out.println("stored lines: " + stored);
    latencies("with " + round(stored) + " lines");
    if (total > stored) {
      long filled = total - stored;
      long t0 = System.nanoTime();
      fill(config, filled);
      double s = (System.nanoTime() - t0) / 1e9;
      System.out.printf("bulk fill (server-side INSERT ... SELECT generate_series, the secondary indexes dropped and "
          + "built again afterwards; not the appender): %d lines in %.1f s = %.0f lines/s%n", filled, s, filled / s);
      stored = count();
      System.out.println("stored lines: " + stored);
      latencies("with " + round(stored) + " lines");
      ingestInto(config, ingest);
      latencies("with " + round(count()) + " lines, after that ingest");
    }
    paced(monitorUrl + "/api/status", rps, seconds);
    paced(loggerUrl + "/api/logs?limit=10", Math.max(1, rps / 10), seconds);
  }

  static java.sql.Connection connect() throws java.sql.SQLException {
    return java.sql.DriverManager.getConnection(jdbcUrl, System.getenv("HEYKEN_POSTGRES_USER"),
        System.getenv("HEYKEN_POSTGRES_PASSWORD"));
  }

  static long count() throws Exception {
    try (var c = connect(); var rs = c.createStatement().executeQuery("SELECT count(*) FROM log_lines")) {
      rs.next();
      return rs.getLong(1);
    }
  }

  /** One ActorSystem with a LogShipper writing to the installation's heyken-pg, for one ingest run. */
  static void ingestInto(com.typesafe.config.Config config, long lines) throws Exception {
    var system = ActorSystem.create(Behaviors.empty(), "log-bench", config);
    try {
      heyken.actors.postgres.PostgresDatabase.get(system).ready().toCompletableFuture().get(60, TimeUnit.SECONDS);
      ingest(system, config.getInt("heyken.logs.buffer-size"), lines, "heyken-pg");
    } finally {
      system.terminate();
      system.getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }
  }

  static String round(long n) {
    return n >= 1_000_000 ? String.format("%.1fM", n / 1e6) : String.format("%dk", n / 1000);
  }

  /** Lines through the real path: SLF4J -> MongoLogAppender -> LogBuffer -> LogShipper (batches) -> store. */
  static void ingest(ActorSystem<?> system, int capacity, long lines, String into) throws Exception {
    LogBuffer.configure(capacity, 9, () -> 0L);
    var context = (LoggerContext) LoggerFactory.getILoggerFactory();
    var appender = new MongoLogAppender();
    appender.setContext(context);
    appender.start();
    var logger = context.getLogger("heyken.bench.ingest");
    logger.setLevel(Level.INFO);
    logger.setAdditive(false); // into the store only, not the console
    logger.addAppender(appender);
    system.systemActorOf(LogShipper.create(), "log-shipper", org.apache.pekko.actor.typed.Props.empty());
    var log = LoggerFactory.getLogger("heyken.bench.ingest");
    long written0 = LogBuffer.get().written();
    long dropped0 = LogBuffer.get().dropped();
    long waits = 0;
    long t0 = System.nanoTime();
    for (long i = 0; i < lines; i++) {
      // the producer never outruns the buffer here: this measures what the store takes, not how fast we drop
      while (LogBuffer.get().size() > capacity - 1000) {
        waits++;
        Thread.onSpinWait();
      }
      if (i % 100 == 0) {
        MDC.put("feature", String.valueOf(i % 37));
        MDC.put("run", "bench-run-" + (i / 1000));
      }
      if (i % 100 == 1) {
        MDC.clear();
      }
      if (i % 50 == 0) {
        log.warn("bench line {} with a warning about something", i);
      } else if (i % 211 == 0) {
        log.error("bench line {} failed: {}", i, "simulated failure");
      } else {
        log.info("bench line {} of the ingest benchmark, an ordinary message of ordinary length", i);
      }
    }
    double produced = (System.nanoTime() - t0) / 1e9;
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(600);
    while (LogBuffer.get().written() - written0 < lines - (LogBuffer.get().dropped() - dropped0)) {
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException("the shipper did not write the lines within 600 s");
      }
      Thread.sleep(5);
    }
    double s = (System.nanoTime() - t0) / 1e9;
    long written = LogBuffer.get().written() - written0;
    System.out.printf("ingest into %s (appender -> buffer -> shipper batches of %d): %d lines written in %.2f s = "
            + "%.0f lines/s (logging calls took %.2f s, dropped %d)%n", into,
        system.settings().config().getInt("heyken.logs.batch-size"), written, s, written / s, produced,
        LogBuffer.get().dropped() - dropped0);
    logger.detachAppender(appender);
  }

  /**
   * Fills the table to the asked size, spread over the last week (as a retention of days keeps them): the secondary
   * indexes are dropped, the rows generated by the server, the indexes built again (what a restore does).
   */
  static void fill(com.typesafe.config.Config config, long lines) throws Exception {
    try (var c = connect(); var st = c.createStatement()) {
      var defs = new ArrayList<String>();
      try (var rs = st.executeQuery("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'log_lines' "
          + "AND indexname <> 'log_lines_pkey'")) {
        while (rs.next()) {
          defs.add(rs.getString(2));
        }
      }
      long now = System.currentTimeMillis();
      for (int d = 0; d <= 8; d++) {
        var day = java.time.LocalDate.now(java.time.ZoneOffset.UTC).minusDays(d);
        st.execute("CREATE TABLE IF NOT EXISTS log_lines_" + day.toString().replace("-", "") + " PARTITION OF "
            + "log_lines FOR VALUES FROM ('" + day + " 00:00+00') TO ('" + day.plusDays(1) + " 00:00+00')");
      }
      // the search index builder's lock for the time of the fill: else the active core
      // builds the trigram indexes of the empty day partitions at once and the fill maintains them row by row
      st.execute("SELECT pg_advisory_lock(" + heyken.actors.logs.LogSearchIndex.BUILD_LOCK + ")");
      for (String def : defs) {
        st.execute("DROP INDEX IF EXISTS " + def.replaceFirst("^CREATE (UNIQUE )?INDEX (\\S+) .*$", "$2"));
      }
      // the per-partition trigram indexes too (LogSearchIndex builds them again afterwards)
      var trigram = new ArrayList<String>();
      try (var rs = st.executeQuery("SELECT indexname FROM pg_indexes WHERE indexname LIKE 'log\\_lines\\_%\\_trgm%'")) {
        while (rs.next()) {
          trigram.add(rs.getString(1));
        }
      }
      for (String name : trigram) {
        st.execute("DROP INDEX IF EXISTS " + name);
      }
      long step = 500_000;
      for (long from = 0; from < lines; from += step) {
        long to = Math.min(lines, from + step);
        // the newest an hour ago, the oldest a week ago; 1 in 50 a WARN, 1 in 500 an ERROR, 1 in 3 of a feature
        st.execute("INSERT INTO log_lines (ts, level, level_num, core, epoch, component, logger, thread, message, "
            + "feature, run) SELECT to_timestamp(" + (now - 3_600_000L) + " / 1000.0) - (g::double precision / "
            + lines + " * interval '7 days'), CASE WHEN g % 500 = 0 THEN 'ERROR' WHEN g % 50 = 0 THEN 'WARN' "
            + "ELSE 'INFO' END, CASE WHEN g % 500 = 0 THEN 4 WHEN g % 50 = 0 THEN 3 ELSE 2 END, 1 + g % 2, 1, "
            + "CASE WHEN g % 3 = 0 THEN 'sandbox' ELSE 'core' END, 'heyken.bench.fill', 'bench', 'filler line ' || g "
            + "|| ' of the log benchmark, request ' || md5(g::text), CASE WHEN g % 3 = 0 THEN (g % 37)::text END, "
            + "CASE WHEN g % 3 = 0 THEN 'fill-run-' || (g / 1000) END FROM generate_series(" + from + ", "
            + (to - 1) + ") g");
      }
      for (String def : defs) {
        st.execute(def);
      }
      st.execute("ANALYZE log_lines");
      st.execute("SELECT pg_advisory_unlock(" + heyken.actors.logs.LogSearchIndex.BUILD_LOCK + ")");
    }
    // the trigram indexes of contains=, as the active core's maintenance builds them (a closed day whole, the open
    // day in closed ranges), all at once here instead of one day per pass
    long t0 = System.nanoTime();
    var settings = heyken.actors.logs.LogSettings.from(config).searchIndex();
    var names = new ArrayList<String>();
    try (var c = connect()) {
      // (the active core's own pass may hold the builder's lock meanwhile: then this waits for it)
      var today = java.time.LocalDate.now(java.time.ZoneOffset.UTC);
      while (heyken.actors.logs.LogSearchIndex.segments(c).stream()
          .anyMatch(seg -> !seg.indexed() && seg.day().isBefore(today))) {
        var built = heyken.actors.logs.LogSearchIndex.maintain(c, java.time.Instant.now(), settings);
        names.addAll(built.names());
        if (built.names().isEmpty()) {
          Thread.sleep(1000);
        }
      }
    }
    System.out.printf("search indexes built after the fill (what the active core does one day per pass): %s in %.1f s%n",
        names, (System.nanoTime() - t0) / 1e9);
  }

  static void latencies(String label) throws Exception {
    for (String q : List.of("/api/logs?limit=10", "/api/logs?limit=10&level=ERROR", "/api/logs?limit=10&feature=7",
        "/api/logs?limit=10&contains=failed",
        "/api/logs?limit=10&contains=request%20ab12",
        // a phrase of common words in every filled line but not in the newest (the ingest's): past the window
        "/api/logs?limit=10&contains=log%20benchmark%2C%20request")) {
      int n = q.equals("/api/logs?limit=10") ? 20 : 5;
      var ms = new ArrayList<Double>();
      var failures = new java.util.TreeMap<String, Integer>();
      for (int i = 0; i < n; i++) {
        long t0 = System.nanoTime();
        try {
          var r = http.send(HttpRequest.newBuilder(URI.create(loggerUrl + q)).timeout(Duration.ofSeconds(60)).build(),
              HttpResponse.BodyHandlers.ofString());
          if (r.statusCode() == 200) {
            ms.add((System.nanoTime() - t0) / 1e6);
          } else {
            failures.merge(String.valueOf(r.statusCode()), 1, Integer::sum);
          }
        } catch (java.io.IOException e) {
          // the port moved (the store was too slow for the lease: a failover) or the core is busy
          failures.merge(e.getClass().getSimpleName(), 1, Integer::sum);
          Thread.sleep(1000);
        }
      }
      ms.sort(null);
      if (ms.isEmpty()) {
        System.out.printf("GET %s %s: no answer (%s)%n", q, label, failures);
        continue;
      }
      int k = ms.size();
      System.out.printf("GET %s %s: median %.1f ms, p90 %.1f ms, max %.1f ms (%d answered one at a time%s)%n",
          q, label, ms.get(k / 2), ms.get((int) Math.floor(k * 0.9)), ms.get(k - 1), k,
          failures.isEmpty() ? "" : ", failed: " + failures);
    }
  }

  /**
   * An open-model load: requests sent at a fixed rate whatever the answers do, latency measured from when each
   * request was due (no coordinated omission). What wrk -R (wrk2) would measure.
   */
  static final int CONNECTIONS = 48;

  static void paced(String url, int rps, int seconds) throws Exception {
    int total = rps * seconds;
    var latencies = new ConcurrentLinkedQueue<Double>();
    var errors = new AtomicInteger();
    var pending = new ArrayList<CompletableFuture<?>>(total);
    var request = HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(10)).build();
    long start = System.nanoTime();
    long interval = 1_000_000_000L / rps;
    var connections = new java.util.concurrent.Semaphore(CONNECTIONS);
    for (int i = 0; i < total; i++) {
      long due = start + i * interval;
      long wait = due - System.nanoTime();
      if (wait > 0) {
        TimeUnit.NANOSECONDS.sleep(wait);
      }
      // at most CONNECTIONS requests in flight (one connection each, as a browser or a proxy pool would): an
      // unbounded client opens a connection per late request, past the server's per-address bound; the wait for a
      // free connection is counted, since the latency runs from when the request was due
      connections.acquire();
      pending.add(http.sendAsync(request, HttpResponse.BodyHandlers.discarding()).whenComplete((r, e) -> {
        connections.release();
        if (e != null || r.statusCode() != 200) {
          errors.incrementAndGet();
        } else {
          latencies.add((System.nanoTime() - due) / 1e6);
        }
      }));
    }
    CompletableFuture.allOf(pending.toArray(CompletableFuture[]::new)).handle((v, e) -> null).get(60, TimeUnit.SECONDS);
    double s = (System.nanoTime() - start) / 1e9;
    var ms = latencies.stream().mapToDouble(Double::doubleValue).sorted().toArray();
    if (ms.length == 0) {
      System.out.printf("paced %d rps GET %s: every request failed (%d)%n", rps, url, errors.get());
      return;
    }
    System.out.printf("paced %d rps (at most " + CONNECTIONS + " in flight) for %d s GET %s: %d ok, %d failed, %.0f answers/s; latency from due time p50 %.1f ms,"
            + " p99 %.1f ms, p99.9 %.1f ms, max %.1f ms%n", rps, seconds, url, ms.length, errors.get(), ms.length / s,
        ms[ms.length / 2], ms[(int) Math.floor(ms.length * 0.99)], ms[(int) Math.floor(ms.length * 0.999)],
        ms[ms.length - 1]);
  }
}
