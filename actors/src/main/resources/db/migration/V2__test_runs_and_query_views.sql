-- Text2sql (issue 11, helper sql): the runs and jobs of the pipeline, projected from the journal by the active core
-- (heyken.actors.projection.RunProjection), and the three read-only views that POST /api/logs/query may read:
-- logs, test_runs, sandbox_jobs (docs/text2sql.md). The role heyken_query may read these views and nothing else
-- (R__query_role, a Java migration: its password is set without ever being written into SQL text).

-- One row per test run (the PipelineRun entity), upserted from its events; last_seq is the sequence number of the
-- newest event applied, so that a replayed or repeated event never goes back in time.
CREATE TABLE projected_runs (
  run_id       text        PRIMARY KEY,
  feature_id   text        NOT NULL,
  revision     text,
  requested_by text,
  status       text        NOT NULL,   -- running, passed, failed, error
  detail       text,
  attempts     int         NOT NULL DEFAULT 0,
  core         int,
  job_count    int         NOT NULL DEFAULT 0,
  started_at   timestamptz,
  finished_at  timestamptz,
  last_seq     bigint      NOT NULL
);
CREATE INDEX projected_runs_started ON projected_runs (started_at);
CREATE INDEX projected_runs_feature ON projected_runs (feature_id, started_at);

-- One row per job of a run, in pipeline order.
CREATE TABLE projected_jobs (
  run_id      text        NOT NULL REFERENCES projected_runs (run_id) ON DELETE CASCADE,
  job_index   int         NOT NULL,
  name        text        NOT NULL,
  stage       text,
  status      text        NOT NULL,   -- pending, passed, failed, skipped
  reason      text,                   -- ok, exit, timeout, oom, pids, error
  exit_code   int,
  backend     text,
  image       text,
  detail      text,
  attempt     int,
  core        int,
  started_at  timestamptz,
  finished_at timestamptz,
  duration_ms bigint,
  PRIMARY KEY (run_id, job_index)
);
CREATE INDEX projected_jobs_finished ON projected_jobs (finished_at);

-- Feature names, for test_runs.feature_name.
CREATE TABLE projected_features (
  feature_id text        PRIMARY KEY,
  name       text,
  created_at timestamptz,
  deleted_at timestamptz,
  last_seq   bigint      NOT NULL
);

-- How far each projection has read the journal (an ObjectId offset of the MongoDB journal and its time).
CREATE TABLE projection_offsets (
  projection    text        PRIMARY KEY,
  offset_id     text        NOT NULL,
  offset_millis bigint      NOT NULL,
  events        bigint      NOT NULL DEFAULT 0,
  updated_at    timestamptz NOT NULL DEFAULT now()
);

-- The log lines.
CREATE VIEW logs AS
  SELECT id, ts, level, level_num, core, epoch, component, logger, thread, message, exception, mdc, feature, run,
         job, room, stream
  FROM log_lines;

-- One row per test run.
CREATE VIEW test_runs AS
  SELECT r.run_id, r.feature_id, f.name AS feature_name, r.revision, r.status, r.detail, r.requested_by, r.attempts,
         r.core, r.job_count, r.started_at, r.finished_at,
         (extract(epoch FROM r.finished_at - r.started_at) * 1000)::bigint AS duration_ms
  FROM projected_runs r LEFT JOIN projected_features f ON f.feature_id = r.feature_id;

-- One row per job of a run.
CREATE VIEW sandbox_jobs AS
  SELECT j.run_id, r.feature_id, f.name AS feature_name, r.revision, j.job_index, j.name AS job, j.stage, j.status,
         j.reason, j.exit_code, j.backend, j.image, j.attempt, j.core, j.started_at, j.finished_at, j.duration_ms
  FROM projected_jobs j
    JOIN projected_runs r ON r.run_id = j.run_id
    LEFT JOIN projected_features f ON f.feature_id = r.feature_id;

COMMENT ON VIEW logs IS 'text2sql: every stored log line (heyken_query may read it)';
COMMENT ON VIEW test_runs IS 'text2sql: one row per test run of a feature (heyken_query may read it)';
COMMENT ON VIEW sandbox_jobs IS 'text2sql: one row per job of a test run (heyken_query may read it)';
