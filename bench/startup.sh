#!/usr/bin/env bash
# Usage: bench/startup.sh [--events N] [--lines N] [--port-shift N] [--keep] [--no-build]
#
# How long Heyken takes to start when it holds a lot (issue 11, item 5; a benchmark, not a timed test). On its own
# ports (every HEYKEN_* port + --port-shift, default 33000) and a temporary data directory it starts an
# installation, fills it through the real paths while it runs:
#   - the journal with --events events (default 1,000,000) through the real persistence plugin
#     (bench/lib/JournalFill.java: 1,000 persistence ids, persistAll of 500; untagged, so no entity recovers them);
#   - the log store with --lines lines (default 10,000,000; bench/lib/LogBench.java --fill-only, server-side
#     INSERT ... SELECT generate_series);
# stops it with scripts/stop.sh, starts it again with scripts/run_heyken.sh --no-build and prints, from that second
# start: the seconds until the store takes connections, heyken-pg takes connections, GET /api/status answers, a core
# is active, /api/status is healthy, and GET :5010/api/features answers 200; how long run_heyken.sh took; and the
# sizes of the store's file and of data/pg. Target: everything within seconds, whatever the size.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=scripts/lib/common.sh
source "$ROOT/scripts/lib/common.sh"
# shellcheck source=bench/lib/installation.sh
source "$ROOT/bench/lib/installation.sh"

events=1000000
lines=10000000
port_shift=33000
keep=0
run_args=(--timeout 300)
while (($#)); do
  case $1 in
    -h | --help) print_help "$0"; exit 0 ;;
    --events) events=$(positive_arg --events "${2:-}"); shift ;;
    --lines) lines=$(positive_arg --lines "${2:-}"); shift ;;
    --port-shift) port_shift=$(number_arg --port-shift "${2:-}"); shift ;;
    --keep) keep=1 ;;
    --no-build) run_args+=(--no-build) ;;
    *) usage_error "unknown argument: $1" ;;
  esac
  shift
done

bench_shift_ports "$port_shift"
export HEYKEN_LOGS_RETENTION_MAX_LINES=0 # the fill must stay for the second start
unset HEYKEN_MONGO_URI HEYKEN_POSTGRES_URL HEYKEN_API_TOKEN
bench_require_free_ports
bench_new_dir heyken-startup 711 # heyken-pg (an unprivileged user) must reach its data directory inside

bench_stop_on_exit startup

bench_start_installation startup "${run_args[@]}"
MONITOR=http://127.0.0.1:$HEYKEN_MONITOR_PORT
SANDBOX=http://127.0.0.1:$HEYKEN_SANDBOX_PORT
JDBC_URL=jdbc:postgresql://127.0.0.1:$HEYKEN_POSTGRES_PORT/${HEYKEN_POSTGRES_DATABASE:-heyken}
export HEYKEN_POSTGRES_USER HEYKEN_POSTGRES_PASSWORD
require_java

info "filling the journal with $events events ..."
java -Xmx1g -cp "$HEYKEN_JAR" "$ROOT/bench/lib/JournalFill.java" "mongodb://127.0.0.1:$HEYKEN_STORE_PORT/heyken" \
  "$events"
info "filling the log store to $lines lines ..."
java -Xmx1g -cp "$HEYKEN_JAR" "$ROOT/bench/lib/LogBench.java" "$JDBC_URL" "http://127.0.0.1:$HEYKEN_LOGGER_PORT" \
  "$MONITOR" --total "$lines" --fill-only

info "stopping, then starting again with what it holds ..."
"$ROOT/scripts/stop.sh" >"$BENCH_DIR/stop-1.out" 2>&1 || { cat "$BENCH_DIR/stop-1.out" >&2; die "stop.sh failed"; }
store_file=$HEYKEN_DATA_DIR/store/heyken.mv
printf 'holds: the store %s (%s), data/pg %s\n' "$(du -h "$store_file" 2>/dev/null | cut -f1)" \
  "$(du -ch "$HEYKEN_DATA_DIR"/store/*.mv 2>/dev/null | tail -1 | cut -f1) with its other files" \
  "$(du -sh "$HEYKEN_DATA_DIR/pg" | cut -f1)"

t0=$(date +%s.%N)
"$ROOT/scripts/run_heyken.sh" "${run_args[@]}" --no-build >"$BENCH_DIR/run-2.out" 2>&1 &
run_pid=$!
declare -A at=()
since() { awk -v a="$(date +%s.%N)" -v b="$t0" 'BEGIN { printf "%.1f", a - b }'; }
deadline=$(($(date +%s) + 300))
while ((${#at[@]} < 6)) && (($(date +%s) < deadline)); do
  [[ -z ${at[store]:-} ]] && port_open "$HEYKEN_STORE_PORT" && at[store]=$(since)
  [[ -z ${at[pg]:-} ]] && port_open "$HEYKEN_POSTGRES_PORT" && at[pg]=$(since)
  if body=$(http_get "$MONITOR/api/status" 1 2>/dev/null); then
    [[ -z ${at[status]:-} ]] && at[status]=$(since)
    [[ -z ${at[active]:-} && -n $(json_number active_core <<<"$body") ]] && at[active]=$(since)
    [[ -z ${at[healthy]:-} ]] && grep -q '"healthy": *true' <<<"$body" && at[healthy]=$(since)
  fi
  [[ -z ${at[features]:-} ]] && http_get "$SANDBOX/api/features" 1 >/dev/null 2>&1 && at[features]=$(since)
  sleep 0.2
done
wait "$run_pid" || { cat "$BENCH_DIR/run-2.out" >&2; die "run_heyken.sh failed on the second start"; }
run_s=$(since)
echo
printf 'second start, seconds from run_heyken.sh (events %d, log lines %d):\n' "$events" "$lines"
for step in store pg status active healthy features; do
  printf '  %-9s %s\n' "$step" "${at[$step]:-not within 300 s}"
done
printf '  run_heyken.sh returned after %s s\n' "$run_s"
grep -iE 'waiting|progress' "$BENCH_DIR/run-2.out" | head -5 || true
