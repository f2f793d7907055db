#!/usr/bin/env bash
# Usage: scripts/check_fresh_machine.sh [--port-shift N] [--keep]
#
# The first hour of a new user, as a CI check (scripts/test.sh runs it after Maven): from a clean clone of this
# repository in a scratch directory, with no Docker engine for the installation (DOCKER_HOST points at a socket
# where none runs), it runs
#   ./scripts/run_heyken.sh --no-build --no-docker   (shifted ports, its own data directory and .env)
# which must reach a working sandbox (bubblewrap; installed with apt-get when missing), then the README's quick
# start step by step with the clone's ./heyken:
#   heyken feature create greeter --dir examples/greeter; heyken feature test ID --follow;
#   heyken feature deploy ID; heyken chat '!greet Ada' (answers "Hello, Ada!"); heyken status (healthy)
# then ./scripts/stop.sh, and prints how long each step took.
#
# The jar is copied from this checkout's build (cores/target/heyken-core.jar, or HEYKEN_JAR) instead of being
# rebuilt in the clone: the clone's own build is what `mvn verify` just did. The clone holds what is committed.
# --no-docker: the machine's Docker engine is shared (the sandbox tests, dynamic services), so this check never
# stops or starts it; what it proves is the path of a machine without an engine. Takes about 1-2 minutes.
#
#   --port-shift N   ports of the check installation: the defaults + N (default 30000)
#   --keep           keep the scratch directory (its logs) afterwards (also HEYKEN_KEEP_TEST_DIRS=true); without it
#                    the directory is removed, also after a failure (the logs' last lines are printed first)
set -euo pipefail
# shellcheck source=scripts/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
# shellcheck source=bench/lib/installation.sh
source "$HEYKEN_ROOT/bench/lib/installation.sh"

shift_by=30000
keep=0
while (($#)); do
  case $1 in
    -h | --help) print_help "$0"; exit 0 ;;
    --port-shift) shift_by=$(number_arg --port-shift "${2:-}"); shift ;;
    --keep) keep=1 ;;
    *) usage_error "unknown argument: $1" ;;
  esac
  shift
done

[[ -f $HEYKEN_JAR ]] || die "no jar at $HEYKEN_JAR: build first (mvn -B -DskipTests package), or set HEYKEN_JAR."
command -v git >/dev/null || die "git is not installed: apt-get install git"

started=$SECONDS
scratch=$(mktemp -d /tmp/heyken-fresh-XXXXXX)
# bubblewrap runs jobs as uid 65534: every directory above the data directory must let others pass
chmod 711 "$scratch"
clone=$scratch/heyken
bench_shift_ports "$shift_by"
bench_require_free_ports
export HEYKEN_DATA_DIR=$scratch/data HEYKEN_ENV_FILE=$scratch/.env HEYKEN_CDS=off
export DOCKER_HOST=unix://$scratch/no-engine.sock
unset HEYKEN_SANDBOX_BACKEND HEYKEN_API_TOKEN HEYKEN_URL

cleanup() {
  local rc=$?
  if [[ -x $clone/scripts/stop.sh ]]; then
    HEYKEN_JAR=$clone/cores/target/heyken-core.jar "$clone/scripts/stop.sh" >/dev/null 2>&1 || true
  fi
  if ((keep)) || [[ ${HEYKEN_KEEP_TEST_DIRS:-} == true ]]; then
    info "The scratch directory is kept: $scratch (logs in $scratch/data/logs/)."
    return
  fi
  if ((rc != 0)); then
    local f
    for f in "$scratch"/data/logs/*.log; do
      [[ -f $f ]] || continue
      err "last lines of $(basename "$f"):"
      tail -n 20 "$f" >&2 || true
    done
    info "Removing the scratch directory; rerun with --keep to keep it (and its logs)."
  fi
  rm -rf "$scratch"
}
trap cleanup EXIT

step_start=$SECONDS
step() { # NAME: prints the time the previous step took and starts the next
  info "-- $1"
  step_start=$SECONDS
}
took() { ok "   ok ($((SECONDS - step_start)) s)"; }
fail() {
  err "$*"
  for f in "$scratch"/data/logs/core-1.log "$scratch"/data/logs/core-2.log; do
    [[ -f $f ]] && tail -n 15 "$f" | sed "s|^|  $(basename "$f")| |" >&2
  done
  exit 1
}

step "git clone into $clone"
git clone -q "$HEYKEN_ROOT" "$clone" || fail "git clone of $HEYKEN_ROOT failed"
mkdir -p "$clone/cores/target"
cp "$HEYKEN_JAR" "$clone/cores/target/heyken-core.jar"
export HEYKEN_JAR=$clone/cores/target/heyken-core.jar HEYKEN_ROOT=$clone
took

step "./scripts/run_heyken.sh --no-build --no-docker (ports +$shift_by, no Docker engine for this installation)"
out=$scratch/run_heyken.out
if ! "$clone/scripts/run_heyken.sh" --no-build --no-docker --timeout 150 >"$out" 2>&1; then
  cat "$out" >&2
  fail "run_heyken.sh failed on the fresh clone"
fi
# the first lines are about the sandbox: what was installed, and that it is ready
head -n 1 "$out" | grep -q '^Sandbox: ' && grep -q '^Sandbox: ready (bubblewrap)' "$out" ||
  { cat "$out" >&2; fail "run_heyken.sh does not begin by saying that the sandbox (bubblewrap) is ready"; }
grep -q 'Heyken runs' "$out" || { cat "$out" >&2; fail "run_heyken.sh did not say that Heyken runs"; }
took

cli() { "$clone/heyken" "$@"; }

step "heyken status (healthy, sandbox bubblewrap)"
deadline=$((SECONDS + 60))
until st=$(cli status --json 2>&1); do
  ((SECONDS < deadline)) || { echo "$st" >&2; fail "heyken status did not become healthy"; }
  sleep 1
done
grep -q '"detail": "backend bubblewrap' <<<"$st" || { echo "$st" >&2; fail "the sandbox is not bubblewrap"; }
took

cd "$clone"
step "heyken feature create greeter --dir examples/greeter"
created=$(cli feature create greeter --dir examples/greeter) || fail "create failed: $created"
echo "   $created" | head -n 1
id=$(sed -nE 's/^Created feature ([0-9]+) .*/\1/p' <<<"$created")
[[ -n $id ]] || fail "no feature id in: $created"
took

step "heyken feature test $id --follow"
tested=$(cli feature test "$id" --follow 2>&1) || { echo "$tested" >&2; fail "the greeter's tests did not pass"; }
grep -q 'Ran 4 tests' <<<"$tested" && grep -q 'passed (1 of 1 jobs passed)' <<<"$tested" ||
  { echo "$tested" >&2; fail "the test output lacks the unittest summary or the result"; }
took

step "heyken feature deploy $id"
cli feature deploy "$id" | sed 's/^/   /' || fail "deploy failed"
took

step "heyken chat '!greet Ada'"
answer=$(cli chat '!greet Ada') || fail "chat failed: $answer"
[[ $answer == 'Hello, Ada!' ]] || fail "!greet Ada answered '$answer', expected 'Hello, Ada!'"
echo "   $answer"
took

step "./scripts/stop.sh"
"$clone/scripts/stop.sh" >/dev/null || fail "stop.sh failed"
left=$(installation_pids | paste -sd ' ')
[[ -z $left ]] || fail "processes of the installation still run after stop.sh: $left"
took

ok "fresh machine: clone, start, quick start and stop in $((SECONDS - started)) s."
