#!/usr/bin/env bash
# Usage: bench/autonomy/run.sh [--stand-in] [--tasks FILE] [--timeout S] [--port-shift N] [--keep]
#
# Autonomy benchmark (not a timed test): how often Heyken's author loop turns a one-line description into a
# feature that passes hidden acceptance tests. It starts a separate Heyken installation (run_heyken.sh --no-build,
# every port + 30000, a fresh temporary data directory, HEYKEN_AUTODEPLOY=true) against the model at OLLAMA_URL
# (OLLAMA_CODE_MODEL, default qwen2.5-coder:7b), then drives each task of tasks.json through the loop
# (bench/autonomy/autonomy.py): POST /api/features/create {name, description} only, wait until the loop stops,
# invoke the deployed feature with each hidden acceptance input (the model never sees them) and compare. It prints
# one line per task and: pass rate, attempts used, time per task.
#
#   --stand-in       no real model: start bench/autonomy/standin.py (a scripted Ollama-compatible server with
#                    prepared correct answers, and a wrong first attempt for some tasks) and use it. This proves the
#                    plumbing only; its pass rate says nothing about a model.
#   --tasks FILE     the tasks (default bench/autonomy/tasks.json)
#   --timeout S      per task, until the loop stops (default 900; real models are slow on CPUs)
#   --port-shift N   added to every default port (default 30000)
#   --keep           keep the temporary directory (logs, results.json)
#
# Sandboxes: Docker when scripts/docker-engine.sh has started an engine, else bubblewrap (HEYKEN_SANDBOX_BACKEND).
# Needs the jar (mvn -q -DskipTests package); this benchmark never builds.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=scripts/lib/common.sh
source "$ROOT/scripts/lib/common.sh"
# shellcheck source=bench/lib/installation.sh
source "$ROOT/bench/lib/installation.sh"
HERE=$ROOT/bench/autonomy

stand_in=0
tasks=$HERE/tasks.json
timeout=900
port_shift=30000
keep=0
while (($#)); do
  case $1 in
    -h | --help) print_help "$0"; exit 0 ;;
    --stand-in) stand_in=1 ;;
    --tasks) [[ -f ${2:-} ]] || die "--tasks needs a file"; tasks=$2; shift ;;
    --timeout) [[ ${2:-} =~ ^[1-9][0-9]*$ ]] || die "--timeout needs seconds"; timeout=$2; shift ;;
    --port-shift) port_shift=$(number_arg --port-shift "${2:-}"); shift ;;
    --keep) keep=1 ;;
    *) usage_error "unknown argument: $1" ;;
  esac
  shift
done
[[ -f $HEYKEN_JAR ]] || die "no $HEYKEN_JAR: build it first (mvn -q -DskipTests package); this benchmark never builds."

bench_shift_ports "$port_shift"
export HEYKEN_AUTODEPLOY=true
unset HEYKEN_MONGO_URI HEYKEN_API_TOKEN ROCKETCHAT_URL
cds_current || export HEYKEN_CDS=off

BENCH_DIR=$(mktemp -d /tmp/heyken-autonomy-bench.XXXXXX)
chmod 711 "$BENCH_DIR" # sandbox jobs (uid 65534) work below it
export HEYKEN_ENV_FILE=$BENCH_DIR/.env HEYKEN_DATA_DIR=$BENCH_DIR/data
standin_pid=
started=0
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if ((started)); then "$ROOT/scripts/stop.sh" >"$BENCH_DIR/stop.out" 2>&1 || rc=1; fi
  if [[ -n $standin_pid ]]; then kill "$standin_pid" 2>/dev/null || true; fi
  bench_remove_dir "$BENCH_DIR" "$rc" "$keep" "data/logs/, results.json"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if ((stand_in)); then
  port=$((11434 + port_shift))
  port_open "$port" && die "port $port is in use (another stand-in?): choose --port-shift"
  export OLLAMA_MODEL=llama3 OLLAMA_CODE_MODEL=qwen2.5-coder:7b OLLAMA_URL=http://127.0.0.1:$port
  (cd "$HERE" && exec "$HEYKEN_PYTHON" standin.py "$port" llama3 qwen2.5-coder:7b) 2>"$BENCH_DIR/standin.log" &
  standin_pid=$!
  for _ in $(seq 50); do port_open "$port" && break; sleep 0.1; done
  port_open "$port" || die "the stand-in did not start: $(cat "$BENCH_DIR/standin.log")"
  info "Model: the scripted STAND-IN at $OLLAMA_URL (prepared answers: this proves the plumbing, not a model)"
else
  [[ -n ${OLLAMA_URL:-} ]] || die "set OLLAMA_URL (and OLLAMA_CODE_MODEL, default qwen2.5-coder:7b), or use --stand-in"
  export OLLAMA_CODE_MODEL=${OLLAMA_CODE_MODEL:-qwen2.5-coder:7b}
  info "Model: $OLLAMA_CODE_MODEL at $OLLAMA_URL"
fi

heyken_set_paths
"$ROOT/scripts/init.sh" >/dev/null
heyken_load_env
info "Starting the bench installation in $BENCH_DIR (sandbox port $HEYKEN_SANDBOX_PORT) ..."
started=1
if ! "$ROOT/scripts/run_heyken.sh" --no-build --timeout 180 >"$BENCH_DIR/run.out" 2>&1; then
  sed 's/^/  | /' "$BENCH_DIR/run.out" >&2
  die "the bench installation did not start"
fi
info "Running $(grep -c '"name"' "$tasks") tasks (timeout ${timeout} s each) ..."
echo
"$HEYKEN_PYTHON" "$HERE/autonomy.py" "http://127.0.0.1:$HEYKEN_SANDBOX_PORT" "$HEYKEN_API_TOKEN" "$tasks" "$timeout" \
  "$BENCH_DIR/results.json"
