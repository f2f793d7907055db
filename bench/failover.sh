#!/usr/bin/env bash
# Usage: bench/failover.sh [--rounds N] [--port-shift N] [--keep] [--no-build]
#
# Failover benchmark (not a timed test). Starts a separate Heyken installation with run_heyken.sh, on
# its own ports (every HEYKEN_* port + 10000: monitor 15021, registry 15002, store 37017, ...) and a
# temporary data directory and .env, so a running installation is never disturbed. Then:
#   - a background writer registers components bench-<n> (POST /api/components on the registry port,
#     else on the cores' inspection ports); every name answered 201 counts as acknowledged;
#   - N crash failovers: kill -9 of the active core's JVM (pid from data/run/core-N.pid), measured
#     until /api/status on the monitor port answers with the other core active and a higher epoch;
#     then it waits until the killed core (restarted by its supervisor) is back as standby;
#   - N planned switches: scripts/switch_core.sh to the standby, measured from the command until
#     /api/status on the monitor port shows the new active core;
# and prints every figure, the medians and maxima, and how many acknowledged names are missing from
# GET /api/components at the end. Everything it started is stopped on exit (and the temporary
# directory removed unless --keep).
#
#   --rounds N       crash failovers and planned switches each (default 5)
#   --port-shift N   added to every default port (default 10000)
#   --keep           keep the temporary directory (logs, acknowledged names) and print its path
#   --no-build       use the jar as it is (passed to run_heyken.sh)
#
# Targets: crash failover median <= 5 s, planned switch <= 1 s, 0 lost.
# BENCH_MONGO_URI: run against this real MongoDB instead of an embedded store (use a scratch database).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=scripts/lib/common.sh
source "$ROOT/scripts/lib/common.sh"
# shellcheck source=bench/lib/installation.sh
source "$ROOT/bench/lib/installation.sh"

rounds=5
port_shift=10000
keep=0
run_args=(--timeout 120)
while (($#)); do
  case $1 in
    -h | --help) print_help "$0"; exit 0 ;;
    --rounds) rounds=$(positive_arg --rounds "${2:-}"); shift ;;
    --port-shift) port_shift=$(number_arg --port-shift "${2:-}"); shift ;;
    --keep) keep=1 ;;
    --no-build) run_args+=(--no-build) ;;
    *) usage_error "unknown argument: $1" ;;
  esac
  shift
done

# ---------------------------------------------------------------- a separate installation
bench_shift_ports "$port_shift"
if [[ -n ${BENCH_MONGO_URI:-} ]]; then export HEYKEN_MONGO_URI=$BENCH_MONGO_URI; else unset HEYKEN_MONGO_URI; fi
unset HEYKEN_API_TOKEN # the bench's own .env provides one

bench_require_free_ports

bench_new_dir heyken-bench

writer_pid=''
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [[ -n $writer_pid ]]; then
    touch "$BENCH_DIR/writer.stop"
    kill "$writer_pid" 2>/dev/null || true
    wait "$writer_pid" 2>/dev/null || true
  fi
  exit "$(bench_stop_installation bench "$rc" "$keep" "logs in data/logs/, acknowledged names in acked.txt")"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

bench_start_installation bench "${run_args[@]}"
MON=http://127.0.0.1:$HEYKEN_MONITOR_PORT/api/status

# ---------------------------------------------------------------- helpers
# poll_until DEADLINE_S CMD...: run CMD every 50 ms until it succeeds; fail at the deadline.
poll_until() {
  local end
  end=$(awk -v t="$(now_s)" -v d="$1" 'BEGIN { printf "%.3f", t + d }')
  shift
  until "$@"; do
    awk -v t="$(now_s)" -v e="$end" 'BEGIN { exit !(t >= e) }' && return 1
    sleep 0.05
  done
}

# read_monitor: the status from the documented monitor port only; sets ACTIVE and EPOCH.
read_monitor() {
  local body
  body=$(http_get "$MON" 1) || return 1
  ACTIVE=$(json_number active_core <<<"$body")
  EPOCH=$(json_number epoch <<<"$body")
  [[ -n $ACTIVE && -n $EPOCH ]]
}

# other_core_active OLD_CORE OLD_EPOCH: the monitor port answers with another core and a higher epoch.
other_core_active() { read_monitor && [[ $ACTIVE != "$1" ]] && ((EPOCH > $2)); }
core_active() { read_monitor && [[ $ACTIVE == "$1" ]]; }

# healthy_with_active N: core N active, both cores up (the other one as standby).
healthy_with_standby() {
  fetch_status 1 || return 1
  status_py healthy <<<"$STATUS_JSON" >/dev/null || return 1
  ACTIVE=$(json_number active_core <<<"$STATUS_JSON")
  EPOCH=$(json_number epoch <<<"$STATUS_JSON")
}

wait_healthy() {
  if ! poll_until 120 healthy_with_standby; then
    err "the installation did not become healthy (both cores up, one active) within 120 s:"
    fetch_status 1 && status_py table <<<"$STATUS_JSON" >&2
    for n in core-1 core-2; do tail -n 20 "$(log_file "$n")" | sed "s/^/  $n| /" >&2; done
    exit 1
  fi
}

# ---------------------------------------------------------------- the writer
writer() {
  local n=0 port ok=0 failed=0 acked body name
  local -a wports=("$HEYKEN_REGISTRY_PORT" "$(inspection_port "$HEYKEN_REGISTRY_PORT" 1)" "$(inspection_port "$HEYKEN_REGISTRY_PORT" 2)")
  HTTP_TIMEOUT=3
  while [[ ! -e $BENCH_DIR/writer.stop ]]; do
    n=$((n + 1))
    name=bench-$n
    body="{\"name\":\"$name\",\"url\":\"http://127.0.0.1:9/$name\",\"health_url\":\"http://127.0.0.1:9/health\",\"version\":\"1\"}"
    acked=0
    for port in "${wports[@]}"; do
      http_request POST "http://127.0.0.1:$port/api/components" "$body"
      if [[ $HTTP_STATUS == 201 ]]; then
        echo "$name" >>"$BENCH_DIR/acked.txt"
        acked=1
        break
      fi
      echo "$(now_iso) $name port $port: $HTTP_STATUS ${HTTP_BODY:0:200}" >>"$BENCH_DIR/writer.log"
    done
    if ((acked)); then ok=$((ok + 1)); else failed=$((failed + 1)); fi
    sleep 0.05
  done
  echo "$n $ok $failed" >"$BENCH_DIR/writer.counts"
}
: >"$BENCH_DIR/acked.txt"

wait_healthy
info "Healthy: core-$ACTIVE active (epoch $EPOCH). Starting the writer (components bench-<n> on port $HEYKEN_REGISTRY_PORT)."
writer &
writer_pid=$!

crash=()
switch=()
switch_self=()
failures=0

# ---------------------------------------------------------------- crash failovers
for ((i = 1; i <= rounds; i++)); do
  wait_healthy
  old=$ACTIVE old_epoch=$EPOCH
  pid=$(live_pid "$(pid_file "core-$old")") || die "no live pid for core-$old in $(pid_file "core-$old")"
  sleep 1 # let the writer get a few acknowledged writes in before the kill
  t0=$(now_s)
  kill -9 "$pid"
  if poll_until 120 other_core_active "$old" "$old_epoch"; then
    dt=$(elapsed_s "$t0" "$(now_s)")
    crash+=("$dt")
    printf 'crash %d: kill -9 core-%s (pid %s) -> core-%s active, epoch %s -> %s, after %s s\n' \
      "$i" "$old" "$pid" "$ACTIVE" "$old_epoch" "$EPOCH" "$dt"
  else
    failures=$((failures + 1))
    printf 'crash %d: kill -9 core-%s (pid %s) -> no other core active after 120 s\n' "$i" "$old" "$pid"
  fi
done

# ---------------------------------------------------------------- planned switches
for ((i = 1; i <= rounds; i++)); do
  wait_healthy
  old=$ACTIVE target=$((3 - ACTIVE)) old_epoch=$EPOCH
  sleep 1
  t0=$(now_s)
  "$ROOT/scripts/switch_core.sh" "$target" >"$BENCH_DIR/switch.out" 2>&1 &
  sw=$!
  if poll_until 30 core_active "$target"; then
    dt=$(elapsed_s "$t0" "$(now_s)")
    switch+=("$dt")
    sw_rc=0
    wait "$sw" || sw_rc=$?
    self=$(sed -nE 's/.* after ([0-9.]+) s\..*/\1/p' "$BENCH_DIR/switch.out")
    [[ -n $self ]] && switch_self+=("$self")
    printf 'switch %d: core-%s -> core-%s, epoch %s -> %s, after %s s (switch_core.sh: %s, exit %s)\n' \
      "$i" "$old" "$target" "$old_epoch" "$EPOCH" "$dt" "${self:-?} s" "$sw_rc"
  else
    failures=$((failures + 1))
    wait "$sw" || true
    printf 'switch %d: core-%s -> core-%s did not happen within 30 s:\n' "$i" "$old" "$target"
    sed 's/^/  /' "$BENCH_DIR/switch.out"
  fi
done

# ---------------------------------------------------------------- lost writes
wait_healthy
touch "$BENCH_DIR/writer.stop"
wait "$writer_pid" || true
writer_pid=''
read -r attempts acked_n failed_n <"$BENCH_DIR/writer.counts"
registry=http://127.0.0.1:$HEYKEN_REGISTRY_PORT/api/components
http_get "$registry" 10 >"$BENCH_DIR/components.json" || die "GET $registry failed at the end."
lost=$("$HEYKEN_PYTHON" - "$BENCH_DIR/acked.txt" "$BENCH_DIR/components.json" "$BENCH_DIR/lost.txt" <<'EOF'
import json, sys
acked = [l.strip() for l in open(sys.argv[1]) if l.strip()]
doc = json.load(open(sys.argv[2]))
items = doc.get("components", doc) if isinstance(doc, dict) else doc
listed = {c.get("name") for c in items}
lost = [n for n in acked if n not in listed]
open(sys.argv[3], "w").write("".join(n + "\n" for n in lost))
print(len(lost))
EOF
)

stats() { # LABEL VALUES...: median and max
  local label=$1
  shift
  if (($# == 0)); then
    printf '%-22s no figure\n' "$label"
    return
  fi
  "$HEYKEN_PYTHON" - "$label" "$@" <<'EOF'
import statistics, sys
v = [float(x) for x in sys.argv[2:]]
print("%-22s %s   median %.2f s, max %.2f s" % (sys.argv[1], " ".join("%.2f" % x for x in v),
                                                 statistics.median(v), max(v)))
EOF
}
echo
echo "== results ($rounds rounds each; $(nproc) CPUs)"
stats 'crash failover (s):' "${crash[@]}"
stats 'planned switch (s):' "${switch[@]}"
stats '  as switch_core.sh:' "${switch_self[@]}"
echo "writes: $attempts attempted, $acked_n acknowledged (201), $failed_n not acknowledged"
echo "lost: $lost acknowledged registrations missing from GET /api/components"
((lost == 0)) || { echo "  (names in $BENCH_DIR/lost.txt)"; keep=1; }
echo "targets: crash failover median <= 5 s, planned switch <= 1 s, 0 lost"
((failures == 0 && lost == 0)) || exit 1
