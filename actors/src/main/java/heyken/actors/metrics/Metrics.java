package heyken.actors.metrics;

import heyken.actors.logs.LogBuffer;
import java.util.Locale;
import java.util.concurrent.TimeUnit;

/**
 * Heyken's metrics, one registry per JVM (a planned switch restarts the actor system in the same process; the counts
 * go on, as Prometheus expects of one process). Scraped as {@code GET :5021/metrics}. The hooks below are called from
 * one line each where the thing happens: HTTP requests (the access log), journal writes (an event adapter), sandbox
 * jobs, pipeline runs, language-model calls and core activations; the log counters are read from the {@link LogBuffer}.
 */
public final class Metrics {

  public static final MetricRegistry REGISTRY = new MetricRegistry();

  private static final double[] HTTP_BUCKETS = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
  private static final double[] LLM_BUCKETS = {0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300};
  private static final double[] JOB_BUCKETS = {0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300};

  public static final MetricRegistry.Counter HTTP_REQUESTS = REGISTRY.counter("heyken_http_requests_total",
      "HTTP requests answered, by API (port), method, route and status code", "api", "method", "route", "status");
  public static final MetricRegistry.Histogram HTTP_DURATION = REGISTRY.histogram(
      "heyken_http_request_duration_seconds", "Time from a request's arrival to its response (headers), by API, "
          + "method and route", HTTP_BUCKETS, "api", "method", "route");
  public static final MetricRegistry.Counter JOURNAL_EVENTS = REGISTRY.counter("heyken_journal_events_total",
      "Events handed to the journal for writing on this core, by entity type and event", "entity", "event");
  public static final MetricRegistry.Counter SANDBOX_JOBS = REGISTRY.counter("heyken_sandbox_jobs_total",
      "Sandbox jobs (pipeline jobs and feature invocations) run on this core, by backend and result", "backend",
      "result");
  public static final MetricRegistry.Histogram SANDBOX_DURATION = REGISTRY.histogram(
      "heyken_sandbox_job_duration_seconds", "Wall time of sandbox jobs, by backend", JOB_BUCKETS, "backend");
  public static final MetricRegistry.Counter PIPELINE_RUNS = REGISTRY.counter("heyken_pipeline_runs_total",
      "Feature test runs finished on this core, by status (passed, failed, error)", "status");
  public static final MetricRegistry.Counter LLM_CALLS = REGISTRY.counter("heyken_llm_calls_total",
      "Language-model calls, by model and outcome (ok, or the failure kind)", "model", "outcome");
  public static final MetricRegistry.Histogram LLM_DURATION = REGISTRY.histogram("heyken_llm_call_duration_seconds",
      "Time of language-model calls including the wait for a turn and retries, by model", LLM_BUCKETS, "model");
  public static final MetricRegistry.Histogram LEASE_RENEWAL = REGISTRY.histogram("heyken_lease_renewal_seconds",
      "Time of this core's lease renewals, from sending the write to the store's answer (a renewal slower than the "
          + "TTL loses the lease)", new double[] {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8});
  public static final MetricRegistry.Counter ACTIVATIONS = REGISTRY.counter("heyken_core_activations_total",
      "Times this core became the active one, by kind (first_start, planned_switch, failover, restart)", "kind");

  public static final MetricRegistry.Counter LOG_LINES = REGISTRY.counter("heyken_log_lines_total",
      "Log lines this core handed to the log store, by level (what is stored: HEYKEN_LOG_STORE_LEVEL and above)",
      "level");

  static {
    LogBuffer.countLevelsWith(Metrics::logLine);
    REGISTRY.counterFunction("heyken_log_lines_written_total", "Log lines written to the log store by this core",
        () -> LogBuffer.get().written());
    REGISTRY.counterFunction("heyken_log_lines_dropped_total", "Log lines this core dropped: buffer full or the store "
        + "refused them (also in /api/status)", () -> LogBuffer.get().dropped());
    REGISTRY.gauge("heyken_log_buffer_lines", "Log lines waiting in this core's buffer for the store",
        () -> LogBuffer.get().buffered());
    REGISTRY.gauge("heyken_up_seconds", "Seconds since this core's JVM started", () ->
        TimeUnit.MILLISECONDS.toSeconds(System.currentTimeMillis()
            - ProcessHandle.current().info().startInstant().map(java.time.Instant::toEpochMilli)
                .orElse(System.currentTimeMillis())));
    var threads = java.lang.management.ManagementFactory.getThreadMXBean();
    REGISTRY.gauge("heyken_jvm_threads", "Live threads in this core's JVM", threads::getThreadCount);
    REGISTRY.counterFunction("heyken_jvm_threads_started_total", "Threads this core's JVM started since it began "
        + "(a steady climb under load means work that starts a thread per task)", threads::getTotalStartedThreadCount);
  }

  private Metrics() {}

  /** One answered HTTP request. */
  public static void httpRequest(String api, String method, String route, int status, long nanos) {
    HTTP_REQUESTS.inc(api, method, route, Integer.toString(status));
    HTTP_DURATION.observe(nanos / 1e9, api, method, route);
  }

  /** An event handed to the journal; its entity type is the class the event is declared in. */
  public static void journalEvent(Object event) {
    Class<?> type = event.getClass();
    Class<?> owner = type.getEnclosingClass() != null ? type.getEnclosingClass() : type;
    JOURNAL_EVENTS.inc(owner.getSimpleName(), type.getSimpleName());
  }

  /** One sandbox job's end: {@code result} is the job's reason (ok, exit, timeout, oom, pids, error). */
  public static void sandboxJob(String backend, String result, long millis) {
    SANDBOX_JOBS.inc(backend, result);
    SANDBOX_DURATION.observe(millis / 1000.0, backend);
    MetricsHistory.get().job(backend, result, millis, java.time.Instant.now());
  }

  /** A log line of {@code level} went to the log store's buffer. */
  public static void logLine(String level) {
    LOG_LINES.inc(level);
  }

  /** Returns {@code result} after counting it (for one-line hooks around a call). */
  public static heyken.sandbox.SandboxResult sandboxJob(heyken.sandbox.SandboxResult result) {
    sandboxJob(result.backend() == null ? "unknown" : result.backend(), result.reason().apiName(),
        result.duration() == null ? 0 : result.duration().toMillis());
    return result;
  }

  public static void pipelineRun(String status) {
    PIPELINE_RUNS.inc(status == null ? "unknown" : status);
  }

  /** One language-model call that ended (ok or failed) after starting at {@code startNanos} (System.nanoTime()). */
  public static void llmCall(String model, String outcome, long startNanos) {
    String m = model == null ? "" : model;
    LLM_CALLS.inc(m, outcome == null ? "error" : outcome.toLowerCase(Locale.ROOT));
    LLM_DURATION.observe((System.nanoTime() - startNanos) / 1e9, m);
  }

  /** This core became active; {@code reason} is the CoreManager's sentence, reduced here to its kind. */
  public static void activation(String reason) {
    ACTIVATIONS.inc(activationKind(reason));
  }

  /** The kind of an activation from the CoreManager's reason: failover, planned_switch, first_start, restart or other. */
  public static String activationKind(String reason) {
    String r = reason == null ? "" : reason.toLowerCase(Locale.ROOT);
    if (r.startsWith("failover")) {
      return "failover";
    }
    if (r.startsWith("planned switch")) {
      return "planned_switch";
    }
    if (r.startsWith("first start")) {
      return "first_start";
    }
    if (r.contains("restarted")) {
      return "restart";
    }
    return "other";
  }
}
