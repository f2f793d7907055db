-- contains= (issue 11, ingest >= 50k lines/s): the trigram index moves from the partitioned table to each day
-- partition, built after the lines are written instead of row by row at every insert (that was ~80 % of the cost of
-- an insert). The active core builds them (heyken.actors.logs.LogSearchIndex, CREATE INDEX CONCURRENTLY):
-- log_lines_YYYYMMDD_trgm over a closed day, partial indexes log_lines_YYYYMMDD_trgm_HHMMSS_HHMMSS over closed time
-- ranges of the open day. An installation upgraded from V2 has its closed days indexed again, newest first, one day
-- per pass; until then contains= reads those days in time order (slower, same answers).
DROP INDEX IF EXISTS log_lines_message;
