#!/usr/bin/env bash
# Usage: bench/soak.sh [--minutes N] [--warmup SECONDS] [--lines-per-s N] [--status-rps N] [--port-shift N] [--jfr]
#                      [--keep] [--no-build]
#
# The soak benchmark (not a timed test): a separate Heyken installation (run_heyken.sh on ports shifted by
# --port-shift, default 25000: store 52017, heyken-pg 30442, monitor 30021, ...: below the ephemeral range, where
# no connection of another program holds them; a temporary data directory)
# under everything at once for --warmup seconds (default 30) and then the measured --minutes (default 10):
#   - log lines at --lines-per-s (default 20000) through the real ingest path into PostgreSQL (a producer JVM with
#     the cores' appender, buffer and shipper);
#   - 10 log queries/s on GET /api/logs with various filters;
#   - chat in 5 rooms (POST /api/chat, bot.sh-style: each room waits for its answer) and a component registration
#     every 200 ms;
#   - an open load of --status-rps (default 1000) on GET /api/status, latency counted from when each request was
#     due (wrk2-style).
# Then it prints: lease losses, failovers (epoch changes) and failed /api/status requests over the whole run; the
# /api/status p50/p99/max of the measured minutes (the warm-up's and the whole run's beside them: the warm-up is the
# same load while the JIT compilers of the cores and of both load generators, the connection pools and the caches
# warm up, as wrk2 and JMH leave it out; --warmup 0 measures from the first request), acknowledged writes lost
# (registrations and chat answers checked afterwards), the lease renewal p50/p99/max (GET /api/status: lease), each
# process's share of the CPUs (store, cores, heyken-pg, both load generators: where the time goes), the GC pauses and
# the JIT compilers' CPU time of the store and both cores over the measured minutes (jstat, /proc), and the machine's load (uptime)
# before and after. A failed /api/status request is one without a whole 200 answer within 2 s; the failures are
# split into the warm-up's and the measured minutes', with their causes.
# --jfr records a flight recording of the store and both cores (data/jfr/, implies --keep): where the time goes.
# Targets: 0 lease losses, 0 failovers, 0 failed /api/status, p99 <= 10 ms, nothing lost.
# The load generator is bench/lib/SoakLoad.java (a single-file program on the core's jar; loopback only).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=scripts/lib/common.sh
source "$ROOT/scripts/lib/common.sh"
# shellcheck source=bench/lib/installation.sh
source "$ROOT/bench/lib/installation.sh"

minutes=10
warmup=30
lines=20000
status_rps=1000
port_shift=25000
keep=0
jfr=0
run_args=(--timeout 180)
while (($#)); do
  case $1 in
    -h | --help) print_help "$0"; exit 0 ;;
    --minutes) minutes=$(positive_arg --minutes "${2:-}"); shift ;;
    --warmup) warmup=$(number_arg --warmup "${2:-}"); shift ;;
    --lines-per-s) lines=$(number_arg --lines-per-s "${2:-}"); shift ;;
    --status-rps) status_rps=$(positive_arg --status-rps "${2:-}"); shift ;;
    --port-shift) port_shift=$(number_arg --port-shift "${2:-}"); shift ;;
    --jfr) jfr=1 ;;
    --keep) keep=1 ;;
    --no-build) run_args+=(--no-build) ;;
    *) usage_error "unknown argument: $1" ;;
  esac
  shift
done
seconds=$((minutes * 60))

bench_shift_ports "$port_shift"
unset HEYKEN_MONGO_URI HEYKEN_POSTGRES_URL HEYKEN_API_TOKEN
# the load stands for many clients but comes from one address: its 64 /api/status connections and the chat's share
# :5021, and during a stall more requests are in flight than the per-address bound (64) lets one client hold
export HEYKEN_HTTP_MAX_CONNECTIONS_PER_ADDRESS=${HEYKEN_HTTP_MAX_CONNECTIONS_PER_ADDRESS:-1024}
bench_require_free_ports

bench_new_dir heyken-soak o+x
if ((jfr)); then
  keep=1
  mkdir -p "$HEYKEN_DATA_DIR/jfr"
  export JAVA_OPTS="$(heyken_java_opts) -XX:StartFlightRecording=filename=$HEYKEN_DATA_DIR/jfr/,settings=profile"
fi
producer=''
sampler=''
jvm_sampler=''
stop_producer() {
  [[ -z $producer ]] || kill "$producer" 2>/dev/null || true
  [[ -z $sampler ]] || kill "$sampler" 2>/dev/null || true
  [[ -z $jvm_sampler ]] || kill "$jvm_sampler" 2>/dev/null || true
}

# cpu_sample: one line per process of the installation and of the load, "NAME CPU_SECONDS" (cumulative, ps times):
# heyken-pg counts its server and its sessions (the cores' connection pools keep them for the run)
cpu_sample() {
  local name pid
  for name in store core-1 core-2; do
    pid=$(read_pid "$(pid_file "$name")") && cpu_of "$name" "$pid"
  done
  if pid=$(read_pid "$(pid_file pg)"); then
    echo "heyken-pg $({ ps -o times= -p "$pid"; ps -o times= --ppid "$pid"; } 2>/dev/null | awk '{ s += $1 } END { print s + 0 }')"
  fi
  [[ -z $producer ]] || cpu_of log-producer "$producer"
  pid=$(pgrep -f "SoakLoad.java http" | head -n 1) && cpu_of http-load "$pid"
  return 0
}
# cpu_of NAME PID: "NAME CPU_SECONDS", nothing when the process is gone (its last sample then stands)
cpu_of() {
  local t
  t=$(ps -o times= -p "$2" 2>/dev/null) && [[ -n ${t// /} ]] && echo "$1 $t"
  return 0
}
# sample_cpu FILE: every 2 s until killed, "SECONDS NAME CPU_SECONDS" lines (a process that ends keeps its last)
sample_cpu() {
  while true; do
    cpu_sample | sed "s/^/$SECONDS /" >>"$1"
    sleep 2
  done
}
# cpu_shares FILE: each process's share of the machine's CPUs between its first and last sample, and the sum
cpu_shares() {
  awk -v cpus="$(nproc)" '{ if (!($2 in first)) { first[$2] = $3; t0[$2] = $1 } last[$2] = $3; t1[$2] = $1 }
    END { for (n in first) if (t1[n] > t0[n]) { share = (last[n] - first[n]) / (t1[n] - t0[n]) / cpus * 100
            total += share; printf "%s %.0f %%, ", n, share }
          printf "together %.0f %% of %d CPUs\n", total, cpus }' "$1"
}
# jvm_sample: "NAME GC_PAUSE_SECONDS JIT_CPU_SECONDS" for the store and both cores, cumulative since each JVM started:
# GCT of jstat (the stop-the-world time of every collection) and the CPU time of the JIT compiler threads (from
# /proc: their own user and system time, not the elapsed time of their tasks, which a busy CPU stretches); nothing
# for a JVM that is gone
jvm_sample() {
  local name pid gc
  command -v jstat >/dev/null || return 0
  for name in store core-1 core-2; do
    pid=$(read_pid "$(pid_file "$name")") || continue
    gc=$(jstat -gcutil "$pid" 2>/dev/null | awk 'NR == 2 { print $NF }')
    [[ -n $gc ]] && echo "$name $gc $(jit_cpu_seconds "$pid")"
  done
  return 0
}
# jit_cpu_seconds PID: the CPU seconds the threads "C1 CompilerThread…" and "C2 CompilerThread…" of PID used so far
jit_cpu_seconds() {
  local task stat ticks=0
  local -a f
  for task in /proc/"$1"/task/*; do
    [[ $(cat "$task/comm" 2>/dev/null) == C[12]" CompilerThre"* ]] || continue
    stat=$(cat "$task/stat" 2>/dev/null) || continue
    read -r -a f <<<"${stat##*) }" # the fields after "PID (comm) ": state is the first, utime the 12th, stime the 13th
    ticks=$((ticks + f[11] + f[12]))
  done
  awk -v t="$ticks" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f", t / hz }'
}
# jvm_shares BEFORE AFTER SECONDS: each JVM's GC pauses and JIT compilation between the two samples, in seconds and
# as a share of the measured SECONDS (a pause stops every request of that JVM; compiling takes a CPU from them)
jvm_shares() {
  [[ -s $1 && -s $2 ]] || { echo "? (no jstat sample of the measured minutes)"; return 0; }
  awk -v s="$3" 'NR == FNR { gc[$1] = $2; jit[$1] = $3; next }
    ($1 in gc) { printf "%s%s GC pauses %.2f s (%.2f %%), JIT compilers %.1f CPU s", sep, $1, $2 - gc[$1],
                   ($2 - gc[$1]) / s * 100, $3 - jit[$1]; sep = "; " }
    END { print "" }' "$1" "$2"
}
bench_stop_on_exit soak stop_producer

bench_start_installation soak "${run_args[@]}"
MONITOR=http://127.0.0.1:$HEYKEN_MONITOR_PORT
bench_await_active "$MONITOR"
body=$BENCH_STATUS epoch0=$BENCH_EPOCH0
lost_before=$(bench_lease_losses)
load_before=$(uptime)
info "core-$(json_number active_core <<<"$body") is active (epoch $epoch0); soaking for $warmup s of warm-up, then $minutes min, on $(nproc) CPUs."
info "machine before: $load_before"

require_java
if ((lines > 0)); then
  java -Xmx512m -Dlogback.configurationFile="$ROOT/bench/lib/soak-logback.xml" -cp "$HEYKEN_JAR" \
    "$ROOT/bench/lib/SoakLoad.java" logs "$lines" "$((warmup + seconds))" >"$BENCH_DIR/producer.out" 2>&1 &
  producer=$!
fi
sample_cpu "$BENCH_DIR/cpu.samples" &
sampler=$!
# the JVMs' GC and JIT times when the measured minutes begin (the HTTP load below starts its warm-up right away)
(sleep "$warmup"; jvm_sample >"$BENCH_DIR/jvm.before") &
jvm_sampler=$!
http_out=$(java -Xmx512m -cp "$HEYKEN_JAR" "$ROOT/bench/lib/SoakLoad.java" http "$MONITOR" \
  "http://127.0.0.1:$HEYKEN_LOGGER_PORT" "http://127.0.0.1:$HEYKEN_REGISTRY_PORT" "$HEYKEN_API_TOKEN" "$seconds" \
  "$status_rps" "$warmup" 2>&1 | tee "$BENCH_DIR/http.out" | grep '^http ' || true)
logs_out=''
if [[ -n $producer ]]; then
  wait "$producer" || true
  producer=''
  logs_out=$(grep '^logs ' "$BENCH_DIR/producer.out" || true)
fi
jvm_sample >"$BENCH_DIR/jvm.after"
kill "$jvm_sampler" 2>/dev/null || true # a load that ended within its warm-up: no figures for the measured minutes
jvm_sampler=''
load_after=$(uptime)
kill "$sampler" 2>/dev/null || true
sampler=''
[[ -n $http_out ]] || { tail -n 30 "$BENCH_DIR/http.out" >&2; die "the HTTP load printed no figures (see above)"; }

body=$(http_get "$MONITOR/api/status" 5) || body='{}'
epoch1=$(json_number epoch <<<"$body")
lost_after=$(bench_lease_losses)
field() { local v; v=$(sed -nE "s/.*(^| )$1=([^ ]*).*/\2/p" <<<"$2"); echo "${v:-?}"; }
lease=$(python3 -c 'import json,sys; l=json.load(sys.stdin).get("lease") or {}; print(l.get("renewal_ms_p50"), l.get("renewal_ms_p99"), l.get("renewal_ms_max"), l.get("renewals"), l.get("slow_renewals"))' <<<"$body" 2>/dev/null || echo '? ? ? ? ?')
read -r l50 l99 lmax lcount lslow <<<"$lease"
lease_losses=$((lost_after - lost_before))
failovers=$((${epoch1:-0} - ${epoch0:-0}))
lost=$(($(field chat_lost "$http_out" | tr -c -d 0-9) + $(field registrations_lost "$http_out" | tr -c -d 0-9) + 0))

echo
echo "soak: $warmup s warm-up + $minutes min measured, $lines log lines/s offered, $status_rps req/s on /api/status, 10 log queries/s, chat in 5 rooms"
if [[ -n $logs_out ]]; then
  echo "  log lines:             offered $(field offered "$logs_out") at $(field rate "$logs_out")/s, written $(field written "$logs_out"), dropped $(field dropped "$logs_out")"
fi
echo "  lease losses:          $lease_losses"
echo "  failovers:             $failovers (epoch $epoch0 -> ${epoch1:-?})"
echo "  /api/status failed:    $(field status_failed "$http_out") of $(field status_sent "$http_out") ($(field status_failed_warmup "$http_out") in the warm-up, $(field status_failed_measured "$http_out") in the measured minutes; why: $(field status_failed_why "$http_out"))"
echo "  /api/status latency:   p50 $(field status_p50_ms "$http_out") ms, p99 $(field status_p99_ms "$http_out") ms, max $(field status_max_ms "$http_out") ms (the $minutes min measured; from when each request was due)"
echo "    once sent:           p50 $(field status_service_p50_ms "$http_out") ms, p99 $(field status_service_p99_ms "$http_out") ms (what the server took; the rest is the wait for one of 64 connections)"
echo "    warm-up:             p99 $(field status_warmup_p99_ms "$http_out") ms, max $(field status_warmup_max_ms "$http_out") ms (the first $(field warmup_s "$http_out") s, same load, not in the target)"
echo "    whole run:           p99 $(field status_whole_p99_ms "$http_out") ms"
echo "    p99 per 10 s:        $(field status_p99_per_10s_ms "$http_out") ms (the warm-up's first)"
echo "  log queries:           $(field queries "$http_out"), failed $(field queries_failed "$http_out"), p50 $(field query_p50_ms "$http_out") ms, p99 $(field query_p99_ms "$http_out") ms"
echo "  chat:                  $(field chat_answered "$http_out") answered, $(field chat_failed "$http_out") failed, $(field chat_lost "$http_out") of the last 100 per room not remembered afterwards"
echo "  registrations:         $(field registrations "$http_out") acknowledged, $(field registrations_failed "$http_out") failed, $(field registrations_lost "$http_out") missing afterwards"
echo "  acknowledged lost:     $lost"
echo "  lease renewal:         p50 $l50 ms, p99 $l99 ms, max $lmax ms ($lcount renewals, $lslow slower than half the TTL)"
echo "  CPU over the run:       $(cpu_shares "$BENCH_DIR/cpu.samples")"
echo "  JVMs, measured minutes: $(jvm_shares "$BENCH_DIR/jvm.before" "$BENCH_DIR/jvm.after" "$seconds")"
echo "  machine before:        $load_before"
echo "  machine after:         $load_after"
p99=$(field status_p99_ms "$http_out")
if ((lease_losses == 0 && failovers == 0 && lost == 0)) && [[ $(field status_failed "$http_out") == 0 ]] &&
  awk -v p="$p99" 'BEGIN { exit !(p <= 10) }'; then
  ok "soak: every target held"
else
  warn "soak: a target was missed (targets: 0 lease losses, 0 failovers, 0 failed /api/status, p99 <= 10 ms, 0 lost)"
fi
