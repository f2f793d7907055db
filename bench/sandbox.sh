#!/usr/bin/env bash
# Usage: bench/sandbox.sh [--backends docker,bubblewrap] [--rounds N] [--port-shift N] [--keep]
#
# Sandbox benchmark (not a timed test). For each backend it starts a separate Heyken installation with
# run_heyken.sh --no-build (the jar as it is) and HEYKEN_SANDBOX_BACKEND=<backend>, on its own ports
# (every HEYKEN_* port + 20000: sandbox 25010, monitor 25021, store 47017, ...), a temporary .env and a
# fresh temporary data directory, so a running installation (or bench/failover.sh, +10000) is never
# disturbed. Once /api/status shows the sandbox component up with that backend, it measures through the
# Sandbox Manager with a hello-world Python feature (main.py, test_main.py, .gitlab-ci.yml with one
# python:3.11 job, heyken.yml run: python3 main.py):
#   1. N rounds, each with a new feature bench-hello-<backend>-<n>: create -> test -> poll the run
#      every 25 ms until passed -> deploy -> invoke, timed from the create request until the first
#      invoke answered ok; each round, its phases, the median and max, and the target;
#   2. invoke latency: 10 warm-up invokes, then 200 sequential invokes of the feature of round 1:
#      client-side p50/p99/max, and the server-reported duration_ms p50 (the sandbox job itself);
#   3. 20 features bench-conc-<backend>-<n> created (not timed), then their 20 test runs started at once:
#      the time from the first request until the last run finished, and how many failed or errored;
#   4. overhead per job: median of 20 runs of the same `python3 main.py < input.json` as a plain local
#      process (host /usr/bin/python3) against the median invoke duration_ms of step 2.
# The installation is stopped between backends (each backend gets a fresh data directory), everything this
# script started is stopped on exit; the temporary directory is removed unless --keep (also after a failure).
# Docker needs scripts/docker-engine.sh (run first; it starts an engine and builds the images unless they
# exist, which is not timed). An engine this script had to start is left running for other users.
#
#   --backends LIST  comma-separated, of docker and bubblewrap (default docker,bubblewrap)
#   --rounds N       rounds of step 1 (default 5)
#   --port-shift N   added to every default port (default 20000)
#   --keep           keep the temporary directory (logs of each installation, figures as JSON)
#
# Targets: create -> first invoke median <= 3 s with Docker, <= 1 s with bubblewrap (image build
# excluded); 0 failed concurrent runs. Exit status 1 when a backend was skipped or a step failed.
# Environment: BENCH_INVOKES (200), BENCH_INVOKE_WARMUP (10), BENCH_CONCURRENT (20).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=scripts/lib/common.sh
source "$ROOT/scripts/lib/common.sh"
# shellcheck source=bench/lib/installation.sh
source "$ROOT/bench/lib/installation.sh"

backends=(docker bubblewrap)
rounds=5
port_shift=20000
keep=0
while (($#)); do
  case $1 in
    -h | --help) print_help "$0"; exit 0 ;;
    --backends)
      [[ -n ${2:-} ]] || die "--backends needs a list, e.g. docker,bubblewrap"
      IFS=, read -r -a backends <<<"$2"
      for b in "${backends[@]}"; do
        [[ $b == docker || $b == bubblewrap ]] || die "unknown backend '$b' (docker or bubblewrap)"
      done
      shift
      ;;
    --rounds) rounds=$(positive_arg --rounds "${2:-}"); shift ;;
    --port-shift) port_shift=$(number_arg --port-shift "${2:-}"); shift ;;
    --keep) keep=1 ;;
    *) usage_error "unknown argument: $1" ;;
  esac
  shift
done
((${#backends[@]})) || die "--backends is empty"
[[ -f $HEYKEN_JAR ]] || die "no $HEYKEN_JAR: build it first (mvn -q -DskipTests package); this benchmark never builds."

BENCH_PY="$HEYKEN_PYTHON $ROOT/bench/lib/sandbox_bench.py"
bench_py() { $BENCH_PY "$@"; }

# ---------------------------------------------------------------- a separate installation
bench_shift_ports "$port_shift"
unset HEYKEN_MONGO_URI HEYKEN_API_TOKEN HEYKEN_SANDBOX_IMAGE # the bench's own .env provides the token
# The class-data sharing archive belongs to the build: use it when it is current, never (re)write it.
cds_current || export HEYKEN_CDS=off

bench_require_free_ports

BENCH_DIR=$(mktemp -d /tmp/heyken-sandbox-bench.XXXXXX)
# mktemp makes it 0700, but sandbox jobs run as uid 65534 in data/work/ below it: let others pass (the .env
# in it is 0600 itself).
chmod 711 "$BENCH_DIR"
export HEYKEN_ENV_FILE=$BENCH_DIR/.env
started=0 # an installation of this script may run (data directory $HEYKEN_DATA_DIR)

stop_installation() {
  ((started)) || return 0
  info "Stopping the bench installation ($HEYKEN_DATA_DIR) ..."
  if ! "$ROOT/scripts/stop.sh" >"$BENCH_DIR/stop.out" 2>&1; then
    cat "$BENCH_DIR/stop.out" >&2
    return 1
  fi
  started=0
}

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  echo
  stop_installation || rc=1
  bench_remove_dir "$BENCH_DIR" "$rc" "$keep" "per backend: data/logs/, results.json"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- the plain process
PLAIN_DIR=$BENCH_DIR/plain
mkdir -p "$PLAIN_DIR"
cat >"$PLAIN_DIR/main.py" <<'EOF'
import json, sys
request = json.load(sys.stdin)
print("Hello, " + str(request.get("args") or "world") + "!")
EOF
echo '{"args": "Paris"}' >"$PLAIN_DIR/input.json"

# plain_times: 2 warm-up runs, then 20 timed runs of python3 main.py < input.json; prints ms per run.
plain_times() {
  local i t TIMEFORMAT=%R
  for i in 1 2; do (cd "$PLAIN_DIR" && /usr/bin/python3 main.py <input.json >/dev/null); done
  for ((i = 1; i <= 20; i++)); do
    t=$({ time /usr/bin/python3 "$PLAIN_DIR/main.py" <"$PLAIN_DIR/input.json" >/dev/null 2>&1; } 2>&1)
    awk -v s="$t" 'BEGIN { printf "%.1f\n", s * 1000 }'
  done
}

# ---------------------------------------------------------------- one backend
# start_installation BACKEND: a fresh data directory, run_heyken.sh, wait for the sandbox backend.
start_installation() {
  local b=$1 dir=$BENCH_DIR/$1
  export HEYKEN_DATA_DIR=$dir/data HEYKEN_SANDBOX_BACKEND=$b
  heyken_set_paths
  "$ROOT/scripts/init.sh" >/dev/null
  heyken_load_env
  export HEYKEN_API_TOKEN
  info "Starting the bench installation with HEYKEN_SANDBOX_BACKEND=$b in $dir (sandbox port $HEYKEN_SANDBOX_PORT) ..."
  started=1
  local t0
  t0=$(now_s)
  if ! "$ROOT/scripts/run_heyken.sh" --no-build --timeout 120 >"$dir/run.out" 2>&1; then
    sed 's/^/  | /' "$dir/run.out" >&2
    err "the bench installation with backend $b did not start."
    return 1
  fi
  grep '^warning:' "$dir/run.out" | sed 's/^/  run_heyken.sh: /' || true
  info "  healthy after $(elapsed_s "$t0" "$(now_s)") s; waiting for the sandbox component to show backend $b ..."
  local detail
  if ! detail=$(bench_py wait-backend "http://127.0.0.1:$HEYKEN_MONITOR_PORT" "$b" 60); then
    err "the sandbox component did not come up with backend $b within 60 s: $detail"
    return 1
  fi
  info "  $detail"
  bench_py set "$dir/results.json" sandbox_detail "$detail"
}

# Log lines of the installation worth reporting (warnings, errors, exceptions of the sandbox).
log_excerpt() {
  local f n
  for n in core-1 core-2; do
    f=$(log_file "$n")
    [[ -f $f ]] || continue
    n_warn=$(grep -cE ' (WARN|ERROR) ' "$f" || true)
    info "  $n.log: $(wc -l <"$f") lines, $n_warn WARN/ERROR"
    grep -E ' (WARN|ERROR) |Exception' "$f" | grep -viE 'rocket|ollama|gitlab|Upstream failed.*Connection refused' | cut -c1-400 |
      awk '{ k = $0; sub(/^[^ ]+ [^ ]+ /, "", k); gsub(/[0-9]+/, "#", k); if (!seen[k]++) print }' |
      head -n 12 | sed 's/^/    /' || true
  done
}

bench_backend() {
  local b=$1 dir=$BENCH_DIR/$1
  mkdir -p "$dir"
  if [[ $b == docker ]]; then
    info "Preparing Docker: scripts/docker-engine.sh (engine and images; not timed) ..."
    if ! "$ROOT/scripts/docker-engine.sh" >"$dir/docker-engine.out" 2>&1; then
      sed 's/^/  | /' "$dir/docker-engine.out" >&2
      warn "the Docker engine could not be started (output above): SKIPPING the docker backend."
      bench_py set "$dir/results.json" backend docker
      bench_py set "$dir/results.json" skipped "scripts/docker-engine.sh failed: $(tail -n 1 "$dir/docker-engine.out")"
      return 1
    fi
    grep -q '^Starting dockerd' "$dir/docker-engine.out" &&
      warn "this run started the Docker engine; it is left running (other installations may use it): stop it with scripts/docker-engine.sh --stop"
    info "  $(tail -n 3 "$dir/docker-engine.out" | grep -m1 'ready' || tail -n 1 "$dir/docker-engine.out")"
  fi
  bench_py set "$dir/results.json" backend "$b"
  local rc=0
  if start_installation "$b"; then
    bench_py run "http://127.0.0.1:$HEYKEN_SANDBOX_PORT" "$b" "$rounds" "$dir/results.json" || rc=1
    info "  [overhead] 20 runs of python3 main.py < input.json as a plain process ..."
    mapfile -t plain < <(plain_times)
    bench_py add-plain "$dir/results.json" "${plain[@]}"
    info "    plain process: $(bench_py stats "${plain[@]}")"
    info "  Warnings and errors in the installation's logs ($HEYKEN_LOG_DIR):"
    log_excerpt
  else
    rc=1
    bench_py set "$dir/results.json" skipped "the installation did not start with backend $b (logs: $HEYKEN_LOG_DIR)"
    keep=1
  fi
  stop_installation || rc=1
  return "$rc"
}

# ---------------------------------------------------------------- main
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
info "Sandbox benchmark: backends ${backends[*]}, $rounds rounds, ports +$port_shift, work in $BENCH_DIR"
info "  $(nproc) CPUs, load average $(loadavg); jar $HEYKEN_JAR of $(date -r "$HEYKEN_JAR" '+%Y-%m-%d %H:%M')"
failures=0
results=()
for b in "${backends[@]}"; do
  echo
  info "== backend $b"
  bench_backend "$b" || failures=$((failures + 1))
  [[ -f $BENCH_DIR/$b/results.json ]] && results+=("$BENCH_DIR/$b/results.json")
done

echo
echo "== results (HEYKEN_SANDBOX_CONCURRENCY ${HEYKEN_SANDBOX_CONCURRENCY:-4} per core; $(nproc) CPUs, load average now $(loadavg); wall clock)"
report_rc=0
bench_py report "${results[@]}" || report_rc=$?
echo
echo "targets: create->first invoke median <= 3 s (docker), <= 1 s (bubblewrap); 0 failed concurrent runs"
((failures == 0 && report_rc == 0)) || exit 1
