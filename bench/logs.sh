#!/usr/bin/env bash
# Usage: bench/logs.sh [--ingest N] [--total N] [--rps N] [--seconds N] [--port-shift N] [--keep] [--no-build]
#                      [--reuse DIR]
#
# Log store and Logger API benchmark (not a timed test). Starts a separate Heyken installation with
# run_heyken.sh on its own ports (every HEYKEN_* port + 11000: logger 16020, monitor 16021, store 38017,
# heyken-pg 16442, ...) and a temporary data directory, then prints:
#   - ingest: N lines (default 200k) through the real path (SLF4J -> MongoLogAppender -> bounded LogBuffer ->
#     LogShipper COPY batches -> heyken-pg), in lines/s, with the drops (the producer waits for buffer room, so 0);
#   - GET /api/logs?limit=10 latency (and with level, feature, contains filters) after that ingest, then again
#     after a bulk fill to --total lines (default 10M). The fill does not use the appender: the server generates
#     the rows (INSERT ... SELECT generate_series) with the secondary indexes dropped and built again afterwards;
#     then the ingest runs again on the full table;
#   - an open-model load at --rps requests/s (default 1000) for --seconds on GET /api/status, and a tenth of
#     that on GET /api/logs?limit=10, latency measured from when each request was due (what wrk2's -R does:
#     Debian's wrk has no -R);
#   - wrk (Debian's, closed model: as fast as 16 connections go) against /api/status and /api/logs?limit=10:
#     requests/s and the p99 of its latency distribution.
# The helper bench/lib/LogBench.java runs as a single-file program on the core's jar. Everything it started is
# stopped on exit (and the temporary directory removed unless --keep).
#
# Targets (issue 11): ingest >= 50k lines/s; at 10M lines GET /api/logs?limit=10 p50 <= 10 ms, with feature= or
# level=ERROR <= 20 ms, with contains= <= 200 ms; /api/status p99 <= 10 ms at 1k rps.
# --reuse DIR: start on the installation a run with --keep left in DIR (its data and .env, kept again) instead of a
# new one: when it holds --total lines already the fill is skipped (a rerun at 10M lines in a minute or two).
# BENCH_MONGO_URI: run against this real MongoDB instead of an embedded store (use a scratch database).
# BENCH_POSTGRES_URL: run against this PostgreSQL (JDBC URL, scratch database) instead of heyken-pg.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=scripts/lib/common.sh
source "$ROOT/scripts/lib/common.sh"
# shellcheck source=bench/lib/installation.sh
source "$ROOT/bench/lib/installation.sh"

port_shift=11000
keep=0
reuse=
run_args=(--timeout 120)
bench_args=()
while (($#)); do
  case $1 in
    -h | --help) print_help "$0"; exit 0 ;;
    --ingest | --total | --rps | --seconds)
      [[ ${2:-} =~ ^[1-9][0-9]*$ ]] || die "$1 needs a positive number"; bench_args+=("$1" "$2"); shift ;;
    --port-shift) port_shift=$(number_arg --port-shift "${2:-}"); shift ;;
    --keep) keep=1 ;;
    --reuse) [[ -d ${2:-}/data ]] || die "--reuse needs the directory a run with --keep left (with data/ in it)"
      reuse=$(cd "$2" && pwd); keep=1; shift ;;
    --no-build) run_args+=(--no-build) ;;
    *) usage_error "unknown argument: $1" ;;
  esac
  shift
done

command -v wrk >/dev/null || die "wrk is not installed: apt-get install wrk"

# ---------------------------------------------------------------- a separate installation
bench_shift_ports "$port_shift"
# retention must not delete what the bench stores while it runs
export HEYKEN_LOGS_RETENTION_MAX_LINES=0
if [[ -n ${BENCH_MONGO_URI:-} ]]; then export HEYKEN_MONGO_URI=$BENCH_MONGO_URI; else unset HEYKEN_MONGO_URI; fi
if [[ -n ${BENCH_POSTGRES_URL:-} ]]; then export HEYKEN_POSTGRES_URL=$BENCH_POSTGRES_URL; else unset HEYKEN_POSTGRES_URL; fi
unset HEYKEN_API_TOKEN

bench_require_free_ports

if [[ -n $reuse ]]; then
  BENCH_DIR=$reuse
  export HEYKEN_DATA_DIR=$BENCH_DIR/data HEYKEN_ENV_FILE=$BENCH_DIR/.env
  heyken_set_paths
else
  bench_new_dir heyken-logbench 711 # heyken-pg (an unprivileged user) must reach its data directory inside
fi

bench_stop_on_exit bench

bench_start_installation bench "${run_args[@]}"
LOGGER=http://127.0.0.1:$HEYKEN_LOGGER_PORT
MONITOR=http://127.0.0.1:$HEYKEN_MONITOR_PORT
JDBC_URL=${HEYKEN_POSTGRES_URL:-jdbc:postgresql://127.0.0.1:$HEYKEN_POSTGRES_PORT/${HEYKEN_POSTGRES_DATABASE:-heyken}}
export HEYKEN_POSTGRES_USER HEYKEN_POSTGRES_PASSWORD

deadline=$(($(date +%s) + 120))
until body=$(http_get "$MONITOR/api/status" 2) && [[ -n $(json_number active_core <<<"$body") ]]; do
  (($(date +%s) < deadline)) || die "no active core on $MONITOR within 120 s"
  sleep 0.5
done
info "core-$(json_number active_core <<<"$body") is active; $(nproc) CPUs; figures follow."
echo

require_java
java -Xmx2g -cp "$HEYKEN_JAR" "$ROOT/bench/lib/LogBench.java" "$JDBC_URL" "$LOGGER" "$MONITOR" "${bench_args[@]}"
"$ROOT/scripts/postgres.sh" status || true

# wrk: closed model (16 connections as fast as they are answered); its p99 is of what it sent
run_wrk() {
  local url=$1 out
  out=$(wrk -t2 -c16 -d10s --latency "$url" 2>&1) || { err "wrk failed on $url: $out"; return 1; }
  local rps p99 p50
  rps=$(awk '/^Requests\/sec:/ { print $2 }' <<<"$out")
  p50=$(awk '$1 == "50%" { print $2 }' <<<"$out")
  p99=$(awk '$1 == "99%" { print $2 }' <<<"$out")
  printf 'wrk -t2 -c16 -d10s GET %s: %s req/s, p50 %s, p99 %s%s\n' "${url#http://127.0.0.1:}" "$rps" "$p50" "$p99" \
    "$(grep -q 'Non-2xx' <<<"$out" && echo " ($(grep 'Non-2xx' <<<"$out" | tr -s ' '))")"
}
run_wrk "$MONITOR/api/status"
run_wrk "$LOGGER/api/logs?limit=10"
body=$(http_get "$MONITOR/api/status" 2) || true
info "log counts in /api/status: $(python3 -c 'import json,sys; print(json.load(sys.stdin).get("logs"))' <<<"$body" 2>/dev/null || echo '?')"
