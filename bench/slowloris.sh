#!/usr/bin/env bash
# Usage: bench/slowloris.sh [--connections N] [--interval S] [--seconds N] [--port-shift N] [--keep] [--no-build]
#
# The slow-client attack of issue 16 (finding 3) as a benchmark: a separate Heyken installation (run_heyken.sh on
# ports shifted by --port-shift, default 38000; a temporary data directory), then one process keeps --connections
# (default 1100, more than pekko-http's max-connections of 1024) connections to the System Monitor's documented port
# that each send an unfinished request head, one more header line every --interval seconds (default 5); a connection
# the server closes is opened again a second later. For --seconds (default 60) it asks, each on a new connection,
# GET /api/status on the attacked port every 100 ms and, every 500 ms, each core's inspection /api/status and each
# core's management /ready.
# It prints: /api/status answered, failed (no answer within 3 s), p50/p99/max; the same for the inspection and
# management ports; how many attack connections the server closed; failovers (epoch changes) and lease losses; and
# the CPU of each core (and the store) while idle and during the attack.
# Targets: every /api/status answered within 3 s, 0 failovers, 0 lease losses, the cores' CPU bounded.
# The attack and the probes are bench/lib/Slowloris.java (a single-file program, JDK only; loopback only).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=scripts/lib/common.sh
source "$ROOT/scripts/lib/common.sh"
# shellcheck source=bench/lib/installation.sh
source "$ROOT/bench/lib/installation.sh"

connections=1100
interval=5
seconds=60
port_shift=38000
keep=0
run_args=(--timeout 180 --no-docker)
while (($#)); do
  case $1 in
    -h | --help) print_help "$0"; exit 0 ;;
    --connections) connections=$(positive_arg --connections "${2:-}"); shift ;;
    --interval) interval=$(positive_arg --interval "${2:-}"); shift ;;
    --seconds) seconds=$(positive_arg --seconds "${2:-}"); shift ;;
    --port-shift) port_shift=$(number_arg --port-shift "${2:-}"); shift ;;
    --keep) keep=1 ;;
    --no-build) run_args+=(--no-build) ;;
    *) usage_error "unknown argument: $1" ;;
  esac
  shift
done

bench_shift_ports "$port_shift"
unset HEYKEN_MONGO_URI HEYKEN_POSTGRES_URL HEYKEN_API_TOKEN
export HEYKEN_SANDBOX_BACKEND=bubblewrap
bench_require_free_ports
bench_new_dir heyken-slowloris o+x
bench_stop_on_exit slowloris

bench_start_installation slowloris "${run_args[@]}"
MONITOR=http://127.0.0.1:$HEYKEN_MONITOR_PORT
bench_await_active "$MONITOR"
body=$BENCH_STATUS epoch0=$BENCH_EPOCH0
lost_before=$(bench_lease_losses)
info "core-$(json_number active_core <<<"$body") is active (epoch $epoch0); machine: $(uptime)"

# cpu_ticks PID: user + system clock ticks the process has used so far
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
procs=(store core-1 core-2)
declare -A pid
for p in "${procs[@]}"; do
  pid[$p]=$(live_pid "$(pid_file "$p")") || die "$p is not running"
done
hz=$(getconf CLK_TCK)
# cpu_percent SECONDS: runs nothing, measures each process's CPU over SECONDS; prints "name=NN% ..."
cpu_sample() { local p; for p in "${procs[@]}"; do printf '%s ' "$(cpu_ticks "${pid[$p]}")"; done; }
cpu_report() {
  local -a before after
  read -r -a before <<<"$1"
  read -r -a after <<<"$2"
  local i out=''
  for i in "${!procs[@]}"; do
    out+=$(awk -v a="${before[$i]}" -v b="${after[$i]}" -v hz="$hz" -v s="$3" -v n="${procs[$i]}" \
      'BEGIN { printf "%s %.0f%%  ", n, (b - a) / hz / s * 100 }')
  done
  echo "$out"
}
idle_s=10
idle0=$(cpu_sample)
sleep "$idle_s"
idle_cpu=$(cpu_report "$idle0" "$(cpu_sample)" "$idle_s")

require_java
probes=("$(inspection_port "$HEYKEN_MONITOR_PORT" 1)/api/status" "$(inspection_port "$HEYKEN_MONITOR_PORT" 2)/api/status"
  "$HEYKEN_CORE1_MANAGEMENT_PORT/ready" "$HEYKEN_CORE2_MANAGEMENT_PORT/ready")
info "attacking :$HEYKEN_MONITOR_PORT with $connections trickling connections for $seconds s ..."
start=$(now_s)
attack0=$(cpu_sample)
out=$(java -Xmx256m "$ROOT/bench/lib/Slowloris.java" 127.0.0.1 "$HEYKEN_MONITOR_PORT" "$connections" "$interval" \
  "$seconds" "${probes[@]}" 2>&1 | tee "$BENCH_DIR/slowloris.out")
attack_s=$(elapsed_s "$start" "$(now_s)")
attack_cpu=$(cpu_report "$attack0" "$(cpu_sample)" "$attack_s")
grep -q '^status ' <<<"$out" || { tail -n 30 "$BENCH_DIR/slowloris.out" >&2; die "the attack printed no figures"; }

body=$(http_get "$MONITOR/api/status" 5) || body='{}'
epoch1=$(json_number epoch <<<"$body")
lost_after=$(bench_lease_losses)
guard_lines=$(cat "$HEYKEN_LOG_DIR"/core-*.log | grep -c 'closed connections that held the port' || true)
field() { local v; v=$(sed -nE "s/.*(^| )$1=([^ ]*).*/\2/p" <<<"$2" | head -n 1); echo "${v:-?}"; }
status=$(grep '^status ' <<<"$out")
attack=$(grep '^attack connections=' <<<"$out")

echo
echo "slowloris: $connections connections on :$HEYKEN_MONITOR_PORT, a header line every $interval s, $seconds s"
echo "  /api/status (attacked port): $(field answered "$status") answered, $(field failed "$status") failed (3 s)," \
  "p50 $(field p50_ms "$status") ms, p99 $(field p99_ms "$status") ms, max $(field max_ms "$status") ms"
while read -r line; do
  echo "  $(field port "$line")$(field path "$line"): $(field answered "$line") answered, $(field failed "$line") failed," \
    "p50 $(field p50_ms "$line") ms, p99 $(field p99_ms "$line") ms, max $(field max_ms "$line") ms"
done < <(grep '^probe ' <<<"$out")
echo "  attack connections:          $(field opened "$attack") opened, $(field closed_by_server "$attack") closed by the server," \
  "open at the interval ticks $(field open_min "$attack")-$(field open_max "$attack"), $(field connect_failed "$attack") connects failed"
echo "  guard WARN lines in the logs: $guard_lines"
echo "  failovers:                   $((${epoch1:-0} - ${epoch0:-0})) (epoch $epoch0 -> ${epoch1:-?})"
echo "  lease losses:                $((lost_after - lost_before))"
echo "  CPU idle ($idle_s s):            $idle_cpu"
echo "  CPU under attack ($attack_s s):  $attack_cpu"
echo "  machine after:               $(uptime)"
if [[ $(field failed "$status") == 0 && ${epoch1:-0} == "${epoch0:-0}" ]] && ((lost_after == lost_before)); then
  ok "slowloris: /api/status answered within 3 s throughout, no failover, no lease loss"
else
  warn "slowloris: a target was missed (every /api/status within 3 s, 0 failovers, 0 lease losses)"
fi
