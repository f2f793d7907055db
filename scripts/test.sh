#!/usr/bin/env bash
# Usage: scripts/test.sh [extra Maven arguments]
#
# The one test command of Heyken (CI runs exactly this, through .ci/run):
#   1. checks the scripts: bash syntax of every script, and scripts/init.sh in a scratch directory
#      (creates .env with mode 600, never overwrites a secret), waited_too_long and supervise.sh's JVM options
#      (scripts/lib/test_waiting.sh, scripts/lib/test_store_opts.sh);
#   2. starts what the sandbox tests need with scripts/docker-engine.sh (Docker engine, bubblewrap,
#      the images sandbox/busybox:1 and sandbox/python:1; installs them with apt-get when missing,
#      so it runs as root) and sets HEYKEN_REQUIRE_SANDBOX=true: a missing backend fails the tests;
#      It also installs Debian's chromium (scripts/browser.sh) for the dashboard tests and sets
#      HEYKEN_REQUIRE_BROWSER=true: a missing browser fails them; and Debian's postgresql
#      (scripts/postgres.sh --install): the log store tests start a real PostgreSQL (testkit PostgresServer);
#      and iproute2 and iptables (apt-get,
#      when missing) for the partition tests (PartitionIT: store and cores in network namespaces of
#      their own), setting HEYKEN_REQUIRE_NETNS=true: a machine without namespaces fails them;
#   3. mvn -B verify at the repository root: the unit tests, the sandbox tests against the real
#      engine and bubblewrap, and the integration tests, which start the store and both cores as
#      real JVMs and kill them;
#   4. scripts/check_deployment.sh: `docker-compose config` validates docker/docker-compose.yml, and the core
#      image (docker/Dockerfile on the locally made base image) is built from the jar and run until /ready is 200.
#   5. scripts/check_fresh_machine.sh: a clean clone in a scratch directory, run_heyken.sh with no engine for that
#      installation (bubblewrap), the README's quick start step by step with ./heyken, stop.sh; prints the time.
#   6. nothing left behind: every /tmp/heyken-* entry that appeared during steps 3-5 and is still there fails the
#      run, listed (the tests name their directories heyken-...; a running installation's own heyken-bwrap-etc-<pid>-*
#      does not count while that pid runs, nor a directory named on a running process's command line). HEYKEN_KEEP_TEST_DIRS=true keeps the tests' directories and skips it.
# Needs Java 17, Maven (dependencies come from Maven Central) and root on a Debian host (for the
# sandbox step). It uses its own ports and data directories, so a running Heyken is not disturbed.
set -euo pipefail
# shellcheck source=scripts/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

case ${1:-} in
  -h | --help) print_help "$0"; exit 0 ;;
esac

command -v java >/dev/null || die "java is not installed: Heyken needs a Java 17 JDK (apt-get install openjdk-17-jdk-headless)."
command -v mvn >/dev/null || die "Maven is not installed: apt-get install maven"
java_major=$(java -version 2>&1 | sed -nE 's/.*version "([0-9]+)(\.[0-9]+)*.*/\1/p' | head -n 1)
[[ ${java_major:-0} -ge 17 ]] || die "java is version ${java_major:-unknown}; Heyken needs Java 17 or newer (set JAVA_HOME)."

# ---------------------------------------------------------------- 1. scripts
info "== scripts: syntax and init.sh"
script_failures=0
while IFS= read -r -d '' f; do
  bash -n "$f" || { err "syntax error in $f"; script_failures=$((script_failures + 1)); }
done < <(find "$HEYKEN_ROOT/scripts" "$HEYKEN_ROOT/bench" "$HEYKEN_ROOT/.ci" -type f \( -name '*.sh' -o -name run \) -print0)
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
init() { HEYKEN_ENV_FILE=$scratch/.env HEYKEN_DATA_DIR=$scratch/data "$HEYKEN_ROOT/scripts/init.sh" >/dev/null; }
check() { "$@" || { err "init.sh check failed: $*"; script_failures=$((script_failures + 1)); }; }
init
check test "$(stat -c %a "$scratch/.env")" = 600
for d in store git logs run; do check test -d "$scratch/data/$d"; done
token=$(sed -n 's/^HEYKEN_API_TOKEN=//p' "$scratch/.env")
check test "${#token}" -ge 32
sed -i '/^ROCKETCHAT_BOT_PASSWORD=/d' "$scratch/.env"
init
check grep -qx "HEYKEN_API_TOKEN=$token" "$scratch/.env"
check grep -q '^ROCKETCHAT_BOT_PASSWORD=..*' "$scratch/.env"
check test "$(grep -c '^HEYKEN_API_TOKEN=' "$scratch/.env")" = 1
check "$HEYKEN_ROOT/scripts/lib/test_waiting.sh"
check "$HEYKEN_ROOT/scripts/lib/test_store_opts.sh"
if command -v shellcheck >/dev/null; then
  shellcheck -x "$HEYKEN_ROOT"/scripts/*.sh "$HEYKEN_ROOT"/scripts/lib/*.sh "$HEYKEN_ROOT"/bench/*.sh ||
    { err "shellcheck found problems in the scripts"; script_failures=$((script_failures + 1)); }
fi
python3 -c 'import ast, sys; ast.parse(open(sys.argv[1]).read())' "$HEYKEN_ROOT/heyken" ||
  { err "syntax error in ./heyken"; script_failures=$((script_failures + 1)); }
"$HEYKEN_ROOT/heyken" --help >/dev/null || { err "./heyken --help failed"; script_failures=$((script_failures + 1)); }
((script_failures == 0)) || die "$script_failures script check(s) failed (see above)."
ok "scripts: ok"

# ---------------------------------------------------------------- 2. sandboxes
info "== sandbox: Docker engine, bubblewrap and images"
"$HEYKEN_ROOT/scripts/docker-engine.sh" ||
  die "scripts/docker-engine.sh failed (see above): the sandbox tests need the Docker engine, bubblewrap and the images sandbox/busybox:1 and sandbox/python:1. Run it as root on a Debian host (it installs docker.io, busybox-static, bubblewrap and debootstrap with apt-get)."
# a sandbox backend that is missing fails the tests instead of skipping them
export HEYKEN_REQUIRE_SANDBOX=true
HEYKEN_BROWSER=$("$HEYKEN_ROOT/scripts/browser.sh") || die "scripts/browser.sh failed (see above): the dashboard tests need Debian's chromium (apt-get install chromium)."; export HEYKEN_BROWSER HEYKEN_REQUIRE_BROWSER=true
ok "sandbox: ok"
# the log store tests run a real PostgreSQL server (heyken.testkit.postgres.PostgresServer): no skip without it
"$HEYKEN_ROOT/scripts/postgres.sh" --install || die "scripts/postgres.sh --install failed (see above): the log store tests need Debian's postgresql."

# ---------------------------------------------------------------- 2b. test hosts for the partition tests
info "== partition tests: network namespaces (iproute2, iptables)"
missing_pkgs=()
command -v ip >/dev/null || missing_pkgs+=(iproute2)
command -v iptables >/dev/null || missing_pkgs+=(iptables)
if ((${#missing_pkgs[@]})); then
  info "installing ${missing_pkgs[*]} with apt-get (PartitionIT runs the cores in network namespaces)"
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing_pkgs[@]}" >/dev/null; } ||
    die "could not install ${missing_pkgs[*]}: the partition tests need them (apt-get install ${missing_pkgs[*]})"
fi
# a missing capability (root, namespaces) fails PartitionIT instead of skipping it
export HEYKEN_REQUIRE_NETNS=true
ok "partition tests: ok"

# ---------------------------------------------------------------- 3. Maven
# /tmp/heyken-* now, to find what the tests leave behind (step 6)
heyken_tmp_entries() { find /tmp -mindepth 1 -maxdepth 1 -name 'heyken-*' -printf '%f\n' 2>/dev/null | sort; }
tmp_before=$(heyken_tmp_entries)
# tmp_leftovers: the /tmp/heyken-* entries that appeared since, without those of a process that still runs
tmp_leftovers() {
  local name
  comm -13 <(printf '%s\n' "$tmp_before") <(heyken_tmp_entries) | while IFS= read -r name; do
    [[ -n $name ]] || continue
    [[ $name =~ ^heyken-bwrap-etc-([0-9]+)- && -d /proc/${BASH_REMATCH[1]} ]] && continue
    # in use by a process that still runs (another run's PostgreSQL: postgres -D /tmp/heyken-pg-.../data)
    grep -qsF "/tmp/$name" /proc/[0-9]*/cmdline && continue
    echo "/tmp/$name"
  done
}
info "== mvn -B verify (unit tests and the failover integration tests with real JVMs)"
cd "$HEYKEN_ROOT"
if ! mvn -B -ntp -Dstyle.color=never verify "$@"; then
  err "the tests failed. Find the failing test in the Maven output above ('Tests run: ... FAILURE'), the"
  err "details in <module>/target/surefire-reports/ and failsafe-reports/, and the logs of the JVMs the"
  err "integration tests started under <module>/target/. Rerun one test with: mvn -B verify -pl <module> -am -Dtest=<Class> -Dsurefire.failIfNoSpecifiedTests=false"
  left=$(tmp_leftovers)
  [[ -z $left ]] || err "the tests also left these in /tmp:"$'\n'"$left"
  exit 1
fi
"$HEYKEN_ROOT/scripts/check_deployment.sh" || die "the production deployment check failed (see above): docker/docker-compose.yml or the core image built from the jar (scripts/check_deployment.sh)."
info "== fresh machine: a clean clone, run_heyken.sh without an engine, the README's quick start with ./heyken"
"$HEYKEN_ROOT/scripts/check_fresh_machine.sh" || die "the fresh-machine check failed (see above; scripts/check_fresh_machine.sh --keep keeps its logs)."

# ---------------------------------------------------------------- 6. nothing left behind
if [[ ${HEYKEN_KEEP_TEST_DIRS:-} == true ]]; then
  warn "HEYKEN_KEEP_TEST_DIRS=true: the tests kept their directories; not checking /tmp for leftovers."
else
  left=$(tmp_leftovers)
  [[ -z $left ]] || die "the tests left these in /tmp (each test and benchmark must remove what it made, also when it fails: try/finally, @AfterAll, @TempDir, a trap):"$'\n'"$left"
  ok "nothing left in /tmp."
fi
ok "all tests passed."
