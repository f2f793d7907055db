package heyken.actors.metrics;

import com.typesafe.config.Config;
import heyken.protocol.api.MetricsHistoryView;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.Behaviors;

/**
 * The last hour (by default) of this core's metrics as a time series, for the dashboard's plots: the counters of
 * {@link Metrics} are totals since the JVM started, so a sampler reads them every {@code interval} and keeps the
 * differences in a ring of {@code samples}; the sandbox jobs are kept one by one (their wall time is what the plot
 * shows). One history per JVM, like the registry: a planned switch restarts the actor system, not the counts.
 */
public final class MetricsHistory {

  /** {@code heyken.monitor.history} in application.conf. */
  public record Settings(Duration interval, int samples, int maxJobs) {
    public static Settings from(Config config) {
      var c = config.getConfig("heyken.monitor.history");
      return new Settings(c.getDuration("interval"), c.getInt("samples"), c.getInt("max-jobs"));
    }
  }

  private static volatile MetricsHistory instance =
      new MetricsHistory(new Settings(Duration.ofSeconds(10), 360, 500), Instant.now());

  private final Settings settings;
  private final ArrayDeque<MetricsHistoryView.Sample> samples = new ArrayDeque<>();
  private final ArrayDeque<MetricsHistoryView.Job> jobs = new ArrayDeque<>();
  private final Instant since;
  private Totals last;
  private Instant lastAt;

  MetricsHistory(Settings settings, Instant now) {
    this.settings = settings;
    this.since = now;
    this.last = Totals.read();
    this.lastAt = now;
  }

  public static MetricsHistory get() {
    return instance;
  }

  /** Applies the configured interval and length; what was kept so far stays when they did not change. */
  public static synchronized void configure(Settings settings) {
    if (!instance.settings.equals(settings)) {
      instance = new MetricsHistory(settings, Instant.now());
    }
  }

  public Settings settings() {
    return settings;
  }

  /** What the counters say now, summed as the plots need them. */
  record Totals(Map<String, Long> requests, Map<String, Long> clientErrors, Map<String, Long> serverErrors,
      Map<String, Long> logLines, Map<String, Long> runs) {

    static Totals read() {
      var requests = new TreeMap<String, Long>();
      var client = new TreeMap<String, Long>();
      var server = new TreeMap<String, Long>();
      // labels: api, method, route, status
      Metrics.HTTP_REQUESTS.values().forEach((labels, n) -> {
        String api = labels.get(0);
        requests.merge(api, n, Long::sum);
        String status = labels.get(3);
        if (status.startsWith("4")) {
          client.merge(api, n, Long::sum);
        } else if (status.startsWith("5")) {
          server.merge(api, n, Long::sum);
        }
      });
      return new Totals(requests, client, server, byFirstLabel(Metrics.LOG_LINES), byFirstLabel(Metrics.PIPELINE_RUNS));
    }

    private static Map<String, Long> byFirstLabel(MetricRegistry.Counter counter) {
      var out = new TreeMap<String, Long>();
      counter.values().forEach((labels, n) -> out.merge(labels.get(0), n, Long::sum));
      return out;
    }

    /** {@code this - before}, per key (a key new since then counts from 0); keys that did not change are left out. */
    Totals minus(Totals before) {
      return new Totals(diff(requests, before.requests), diff(clientErrors, before.clientErrors),
          diff(serverErrors, before.serverErrors), diff(logLines, before.logLines), diff(runs, before.runs));
    }

    private static Map<String, Long> diff(Map<String, Long> now, Map<String, Long> before) {
      var out = new TreeMap<String, Long>();
      now.forEach((k, v) -> {
        long d = v - before.getOrDefault(k, 0L);
        if (d > 0) {
          out.put(k, d);
        }
      });
      return out;
    }
  }

  /** Closes the running interval at {@code now} and starts the next one (the sampler calls this). */
  public synchronized void sample(Instant now) {
    Totals current = Totals.read();
    samples.addLast(toSample(lastAt, now, current.minus(last)));
    while (samples.size() > settings.samples()) {
      samples.removeFirst();
    }
    last = current;
    lastAt = now;
  }

  /** One sandbox job ended at {@code at}. */
  public synchronized void job(String backend, String result, long millis, Instant at) {
    jobs.addLast(new MetricsHistoryView.Job(at.toString(), backend, result, millis));
    while (jobs.size() > settings.maxJobs()) {
      jobs.removeFirst();
    }
  }

  /**
   * The samples so far plus the running interval up to {@code now}, the jobs of the kept time span, and the given
   * activations.
   */
  public synchronized MetricsHistoryView view(int core, Instant now, List<MetricsHistoryView.Activation> activations) {
    var list = new ArrayList<>(samples);
    list.add(toSample(lastAt, now, Totals.read().minus(last)));
    Instant horizon = now.minus(settings.interval().multipliedBy(settings.samples()));
    var recentJobs = jobs.stream().filter(j -> Instant.parse(j.at()).isAfter(horizon)).toList();
    return new MetricsHistoryView(core, settings.interval().toSeconds(), since.toString(), list, recentJobs,
        activations);
  }

  private static MetricsHistoryView.Sample toSample(Instant from, Instant to, Totals delta) {
    return new MetricsHistoryView.Sample(from.toString(), to.toString(), delta.requests(), delta.clientErrors(),
        delta.serverErrors(), delta.logLines(), delta.runs());
  }

  /** The actor that closes an interval every {@code settings.interval()}. */
  public static Behavior<Tick> sampler() {
    return Behaviors.withTimers(timers -> {
      timers.startTimerAtFixedRate(Tick.INSTANCE, get().settings().interval());
      return Behaviors.receiveMessage(tick -> {
        get().sample(Instant.now());
        return Behaviors.same();
      });
    });
  }

  public enum Tick { INSTANCE }
}
