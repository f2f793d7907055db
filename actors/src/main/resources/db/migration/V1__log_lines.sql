-- The log store (owned by the pg helper of issue 11; do not change this file: add a V2__, V3__ ... migration).
-- Applied by Flyway at the start of each core (its lock makes the second core wait, then find the schema current).

-- contains= is answered from a trigram index. pg_trgm is a trusted extension (PostgreSQL >= 13): the owner of the
-- database may create it; on older servers a superuser must run this line once.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- Every log line of both cores: application lines, the access log, bot decisions and sandbox job output.
-- The cores choose the id themselves (unique per core and start, increasing), so that a batch retried after an
-- unclear failure can be recognised; rows written without one (psql, tools) take the sequence.
CREATE SEQUENCE log_lines_id_seq;

CREATE TABLE log_lines (
  id        bigint      NOT NULL DEFAULT nextval('log_lines_id_seq'),
  ts        timestamptz NOT NULL,
  level     text        NOT NULL,   -- TRACE, DEBUG, INFO, WARN, ERROR
  level_num smallint    NOT NULL,   -- TRACE 0, DEBUG 1, INFO 2, WARN 3, ERROR 4: "level >= WARN" filters
  core      int,                    -- 1 or 2
  epoch     bigint,                 -- the active epoch the core saw when it logged the line
  component text,                   -- core, feature, bot, http, cluster, store, sandbox ...
  logger    text,
  thread    text,
  message   text,
  exception text,
  mdc       jsonb,                  -- the line's MDC (pekko's own keys left out)
  feature   text,                   -- MDC feature, run, job, room at the top level, where indexes serve them
  run       text,
  job       text,
  room      text,
  stream    text,                   -- stdout / stderr for sandbox job output, null otherwise
  PRIMARY KEY (ts, id)
) PARTITION BY RANGE (ts);
-- One partition per UTC day, named log_lines_YYYYMMDD, created ahead and on demand by the cores; retention drops
-- whole partitions.

-- Every Logger API query sorts by (ts, id) descending and filters by equalities: each equality field leads an index
-- ending in (ts, id), so a page of 10 reads about 10 index entries. The minimum level uses partial indexes (the
-- query writes the level as a constant so that the planner can match them).
CREATE INDEX log_lines_warn      ON log_lines (ts, id) WHERE level_num >= 3;
CREATE INDEX log_lines_error     ON log_lines (ts, id) WHERE level_num >= 4;
CREATE INDEX log_lines_component ON log_lines (component, ts, id);
CREATE INDEX log_lines_core      ON log_lines (core, ts, id);
CREATE INDEX log_lines_feature   ON log_lines (feature, ts, id) WHERE feature IS NOT NULL;
CREATE INDEX log_lines_run       ON log_lines (run, ts, id) WHERE run IS NOT NULL;
CREATE INDEX log_lines_room      ON log_lines (room, ts, id) WHERE room IS NOT NULL;
CREATE INDEX log_lines_message   ON log_lines USING gin (message gin_trgm_ops);

-- The live output of test runs (GET /api/features/{id}/runs/{run}/log), in pieces as the job wrote them.
CREATE TABLE run_log_chunks (
  run     text        NOT NULL,
  attempt int         NOT NULL,
  seq     bigint      NOT NULL,
  job     text,
  stream  text        NOT NULL,       -- stdout, stderr, or heyken for the runner's own lines
  text    text        NOT NULL,
  at      timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (run, attempt, seq)
);

-- One-time jobs of the log store that must happen once per installation (the copy of an older version's lines
-- out of MongoDB): done when a row is here.
CREATE TABLE log_store_jobs (
  name    text        PRIMARY KEY,
  done_at timestamptz NOT NULL DEFAULT now(),
  detail  text
);
