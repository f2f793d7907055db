package heyken.actors.logs.question;

import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * The read-only views text2sql may read (created by {@code V2__test_runs_and_query_views.sql}), with their columns as
 * the model sees them in the prompt. The {@link SqlGuard} allows these names as tables and nothing else.
 */
final class SqlViews {

  private SqlViews() {}

  record Column(String name, String type, String meaning) {}

  record View(String name, String meaning, List<Column> columns) {}

  static final View LOGS = new View("logs", "every stored log line of both cores, the access log, bot decisions and "
      + "sandbox job output", List.of(
      new Column("id", "bigint", "line id"),
      new Column("ts", "timestamptz", "when it was logged"),
      new Column("level", "text", "TRACE, DEBUG, INFO, WARN or ERROR"),
      new Column("level_num", "smallint", "TRACE 0, DEBUG 1, INFO 2, WARN 3, ERROR 4 (level_num >= 3: warnings and "
          + "errors)"),
      new Column("core", "int", "the core that logged it: 1 or 2"),
      new Column("epoch", "bigint", "the active epoch the core saw"),
      new Column("component", "text", "part of the system: core, feature, bot, http, access, cluster, store, sandbox, "
          + "llm, logs, monitor, registry, audit ..."),
      new Column("logger", "text", "logger name"),
      new Column("thread", "text", "thread"),
      new Column("message", "text", "the message"),
      new Column("exception", "text", "stack trace, or null"),
      new Column("mdc", "jsonb", "all MDC keys (mdc->>'key')"),
      new Column("feature", "text", "feature id, or null"),
      new Column("run", "text", "test run id, or null"),
      new Column("job", "text", "sandbox job name, or null"),
      new Column("room", "text", "chat room, or null"),
      new Column("stream", "text", "stdout/stderr for sandbox job output, else null")));

  static final View TEST_RUNS = new View("test_runs", "one row per test run (pipeline run) of a feature", List.of(
      new Column("run_id", "text", "run id"),
      new Column("feature_id", "text", "feature id"),
      new Column("feature_name", "text", "feature name"),
      new Column("revision", "text", "the tested git revision"),
      new Column("status", "text", "running, passed, failed (a test failed) or error (the pipeline could not run)"),
      new Column("detail", "text", "e.g. 'failed: test (exit)' or '2 of 2 jobs passed'"),
      new Column("requested_by", "text", "who started it"),
      new Column("attempts", "int", "more than 1 when a core died during the run"),
      new Column("core", "int", "core of the last attempt"),
      new Column("job_count", "int", "jobs in the pipeline"),
      new Column("started_at", "timestamptz", "when it was requested"),
      new Column("finished_at", "timestamptz", "when it ended, null while running"),
      new Column("duration_ms", "bigint", "finished_at - started_at in ms, null while running")));

  static final View SANDBOX_JOBS = new View("sandbox_jobs", "one row per job of a test run, run in the sandbox",
      List.of(
      new Column("run_id", "text", "run id (test_runs.run_id)"),
      new Column("feature_id", "text", "feature id"),
      new Column("feature_name", "text", "feature name"),
      new Column("revision", "text", "git revision"),
      new Column("job_index", "int", "position in the pipeline, from 0"),
      new Column("job", "text", "job name"),
      new Column("stage", "text", "pipeline stage"),
      new Column("status", "text", "pending, passed, failed or skipped"),
      new Column("reason", "text", "ok, exit (non-zero exit), timeout, oom, pids or error"),
      new Column("exit_code", "int", "exit code"),
      new Column("backend", "text", "docker or bubblewrap"),
      new Column("image", "text", "sandbox image"),
      new Column("attempt", "int", "attempt of the run that ran it"),
      new Column("core", "int", "core that ran it"),
      new Column("started_at", "timestamptz", "start of the job"),
      new Column("finished_at", "timestamptz", "end of the job"),
      new Column("duration_ms", "bigint", "how long it ran in ms")));

  static final List<View> ALL = List.of(LOGS, TEST_RUNS, SANDBOX_JOBS);

  static final Set<String> NAMES = ALL.stream().map(View::name).collect(Collectors.toUnmodifiableSet());

  /** The views as the prompt lists them: {@code name(column type -- meaning, ...)}. */
  static String describe() {
    var sb = new StringBuilder();
    for (View v : ALL) {
      sb.append("- ").append(v.name()).append(": ").append(v.meaning()).append('\n');
      for (Column c : v.columns()) {
        sb.append("    ").append(c.name()).append(' ').append(c.type()).append(" -- ").append(c.meaning())
            .append('\n');
      }
    }
    return sb.toString();
  }
}
