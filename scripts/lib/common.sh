# shellcheck shell=bash
# Helpers shared by the Heyken scripts. Source it; it sets no shell options of its own.
#
# After sourcing, these are set (each can be overridden from the environment):
#   HEYKEN_ROOT      the repository root (the JVMs run with this working directory)
#   HEYKEN_ENV_FILE  the .env file with the secrets (default $HEYKEN_ROOT/.env)
#   HEYKEN_JAR       the fat jar (default $HEYKEN_ROOT/cores/target/heyken-core.jar)
# and after heyken_load_env also HEYKEN_DATA_DIR (absolute), HEYKEN_LOG_DIR, HEYKEN_RUN_DIR.

HEYKEN_ROOT=${HEYKEN_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
HEYKEN_ENV_FILE=${HEYKEN_ENV_FILE:-$HEYKEN_ROOT/.env}
HEYKEN_JAR=${HEYKEN_JAR:-$HEYKEN_ROOT/cores/target/heyken-core.jar}
export HEYKEN_ROOT HEYKEN_ENV_FILE HEYKEN_JAR

# ---------------------------------------------------------------- messages
if [[ -t 1 && -z ${NO_COLOR:-} ]]; then
  _c_red=$'\e[31m' _c_yellow=$'\e[33m' _c_green=$'\e[32m' _c_off=$'\e[0m'
else
  _c_red='' _c_yellow='' _c_green='' _c_off=''
fi

info() { printf '%s\n' "$*"; }
ok()   { printf '%s%s%s\n' "$_c_green" "$*" "$_c_off"; }
warn() { printf '%swarning:%s %s\n' "$_c_yellow" "$_c_off" "$*" >&2; }
err()  { printf '%serror:%s %s\n' "$_c_red" "$_c_off" "$*" >&2; }
die()  { err "$*"; exit 1; }

# Timestamp for log lines written by the scripts themselves.
now_iso() { date '+%Y-%m-%dT%H:%M:%S%z'; }
# Seconds since the epoch with nanoseconds, and a difference of two such values.
now_s() { date +%s.%N; }
elapsed_s() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }

# Print a script's help: the comment block at its top (after the shebang), without the '# '.
print_help() {
  awk 'NR == 1 { next } /^#/ { sub(/^# ?/, ""); print; next } { exit }' "$1"
}

# ---------------------------------------------------------------- arguments
# usage_error [MESSAGE]: says MESSAGE (when given), prints the help on stderr and exits 64 (EX_USAGE).
usage_error() {
  [[ -z ${1:-} ]] || err "$1"
  print_help "$0" >&2
  exit 64
}

# no_arguments "$@": for a script that takes no argument but -h/--help.
no_arguments() {
  case ${1:-} in
    -h | --help) print_help "$0"; exit 0 ;;
    '') ;;
    *) usage_error "unknown argument: $1" ;;
  esac
}

# number_arg OPTION VALUE [WHAT]: prints VALUE when it is a whole number, else dies "OPTION needs WHAT" (default
# "a number"). In an argument loop: --timeout) timeout=$(number_arg --timeout "${2:-}" "a number of seconds"); shift ;;
number_arg() {
  [[ ${2:-} =~ ^[0-9]+$ ]] || die "$1 needs ${3:-a number}"
  echo "$2"
}

# positive_arg OPTION VALUE: as number_arg, for a number of at least 1 ("OPTION needs a positive number").
positive_arg() {
  [[ ${2:-} =~ ^[1-9][0-9]*$ ]] || die "$1 needs a positive number"
  echo "$2"
}

# ---------------------------------------------------------------- configuration
# Load .env into the environment (set -a), without overriding variables that are already set:
# an explicit `HEYKEN_MONITOR_PORT=15021 ./scripts/status.sh` wins over the file.
heyken_load_env() {
  if [[ -f $HEYKEN_ENV_FILE ]]; then
    local line key
    while IFS= read -r line || [[ -n $line ]]; do
      [[ $line =~ ^[[:space:]]*(export[[:space:]]+)?([A-Za-z_][A-Za-z0-9_]*)= ]] || continue
      key=${BASH_REMATCH[2]}
      [[ -n ${!key+set} ]] && continue
      set -a
      eval "${line#"${BASH_REMATCH[1]}"}"
      set +a
    done <"$HEYKEN_ENV_FILE"
  fi
  heyken_set_paths
}

# Resolve the data directory to an absolute path (the JVMs resolve a relative one against their
# working directory, the scripts against the repository root: make both agree).
heyken_set_paths() {
  local d=${HEYKEN_DATA_DIR:-data}
  [[ $d == /* ]] || d=$HEYKEN_ROOT/$d
  HEYKEN_DATA_DIR=$d
  HEYKEN_LOG_DIR=$d/logs
  HEYKEN_RUN_DIR=$d/run
  export HEYKEN_DATA_DIR HEYKEN_LOG_DIR HEYKEN_RUN_DIR
}

# ---------------------------------------------------------------- ports
STORE_PORT() { echo "${HEYKEN_STORE_PORT:-27017}"; }
REGISTRY_PORT() { echo "${HEYKEN_REGISTRY_PORT:-5002}"; }
SANDBOX_PORT() { echo "${HEYKEN_SANDBOX_PORT:-5010}"; }
LOGGER_PORT() { echo "${HEYKEN_LOGGER_PORT:-5020}"; }
MONITOR_PORT() { echo "${HEYKEN_MONITOR_PORT:-5021}"; }

# cluster_port N, management_port N: the ports of core N.
cluster_port() {
  case $1 in
    1) echo "${HEYKEN_CORE1_PORT:-2551}" ;;
    2) echo "${HEYKEN_CORE2_PORT:-2552}" ;;
    *) return 1 ;;
  esac
}
management_port() {
  case $1 in
    1) echo "${HEYKEN_CORE1_MANAGEMENT_PORT:-7626}" ;;
    2) echo "${HEYKEN_CORE2_MANAGEMENT_PORT:-7627}" ;;
    *) return 1 ;;
  esac
}
# inspection_port BASE N: where core N serves the API of documented port BASE, active or not.
inspection_port() { echo $(($1 + ${HEYKEN_INSPECTION_PORT_OFFSET:-100} * $2)); }

# True when something accepts TCP connections on 127.0.0.1:PORT.
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# ---------------------------------------------------------------- HTTP
# http_get URL [TIMEOUT]: print the body; fail unless the answer is 2xx. Sends the bearer token from
# HEYKEN_API_TOKEN when it is set (a core bound to a non-loopback address wants it on reads too).
http_get() {
  local -a args=(-fsS --max-time "${2:-3}")
  [[ -n ${HEYKEN_API_TOKEN:-} ]] && args+=(-H "Authorization: Bearer $HEYKEN_API_TOKEN")
  curl "${args[@]}" "$1" 2>/dev/null
}

# http_request METHOD URL [BODY]: sets HTTP_STATUS (000 when nothing answered) and HTTP_BODY.
# Sends the bearer token from HEYKEN_API_TOKEN when it is set.
# shellcheck disable=SC2034 # HTTP_BODY and STATUS_SOURCE are read by the scripts that source this file
http_request() {
  local method=$1 url=$2 body=${3:-} out
  local -a args=(-sS --max-time "${HTTP_TIMEOUT:-5}" -X "$method" -w '\n%{http_code}')
  [[ -n ${HEYKEN_API_TOKEN:-} ]] && args+=(-H "Authorization: Bearer $HEYKEN_API_TOKEN")
  [[ -n $body ]] && args+=(-H 'Content-Type: application/json' --data-binary "$body")
  out=$(curl "${args[@]}" "$url" 2>/dev/null) || true
  HTTP_STATUS=${out##*$'\n'}
  [[ $HTTP_STATUS =~ ^[0-9]{3}$ ]] || HTTP_STATUS=000
  if [[ $out == *$'\n'* ]]; then HTTP_BODY=${out%$'\n'*}; else HTTP_BODY=''; fi
}

# fetch_status [TIMEOUT]: GET /api/status from the monitor port, else from the inspection ports of
# core-1 and core-2 (they answer while no core is active). Sets STATUS_JSON to the body and
# STATUS_SOURCE to the URL that answered; fails when none did.
# shellcheck disable=SC2034
fetch_status() {
  local base port url
  base=$(MONITOR_PORT)
  for port in "$base" "$(inspection_port "$base" 1)" "$(inspection_port "$base" 2)"; do
    url="http://127.0.0.1:$port/api/status"
    if STATUS_JSON=$(http_get "$url" "${1:-2}") && [[ -n $STATUS_JSON ]]; then
      STATUS_SOURCE=$url
      return 0
    fi
  done
  STATUS_JSON=''
  STATUS_SOURCE=''
  return 1
}

# status_py ARGS...: answer a question about the /api/status JSON on stdin (see lib/status.py).
# Prefers the system python3: a version manager's shim (pyenv) costs ~150 ms per start.
if [[ -z ${HEYKEN_PYTHON:-} ]]; then
  if [[ -x /usr/bin/python3 ]]; then HEYKEN_PYTHON=/usr/bin/python3; else HEYKEN_PYTHON=python3; fi
fi
status_py() { "$HEYKEN_PYTHON" "$HEYKEN_ROOT/scripts/lib/status.py" "$@"; }

# ---------------------------------------------------------------- processes
# Components of one installation: store, core-1, core-2. Each has a supervisor (lib/supervise.sh)
# whose pid is in $RUN/<name>.supervisor.pid and a JVM whose pid is in $RUN/<name>.pid.
pid_file() { echo "$HEYKEN_RUN_DIR/$1.pid"; }
supervisor_pid_file() { echo "$HEYKEN_RUN_DIR/$1.supervisor.pid"; }
log_file() { echo "$HEYKEN_LOG_DIR/$1.log"; }

# read_pid FILE: print the pid in FILE when it is a number.
read_pid() {
  local p
  [[ -r $1 ]] || return 1
  p=$(tr -dc '0-9' <"$1")
  [[ -n $p ]] && echo "$p"
}

# pid_alive PID: the process exists and is not a zombie.
pid_alive() {
  [[ -n ${1:-} ]] && kill -0 "$1" 2>/dev/null || return 1
  local state
  state=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null) || return 1
  [[ $state != Z ]]
}

# pid_of_this_install PID: the process belongs to this installation (it carries our data directory
# in its environment), so a pid recycled by an unrelated process is never signalled.
pid_of_this_install() {
  pid_alive "$1" || return 1
  grep -qxF "HEYKEN_DATA_DIR=$HEYKEN_DATA_DIR" < <(tr '\0' '\n' <"/proc/$1/environ" 2>/dev/null)
}

# live_pid FILE: print the pid in FILE when that process runs and is ours.
live_pid() {
  local p
  p=$(read_pid "$1") || return 1
  pid_of_this_install "$p" || return 1
  echo "$p"
}

# installation_pids: every process of this installation still running (JVMs and supervisors),
# found by command line and checked by environment: covers pid files that were lost.
installation_pids() {
  local p
  for p in $(pgrep -f -- "$HEYKEN_JAR|scripts/lib/supervise.sh" 2>/dev/null); do
    [[ $p == "$$" || $p == "$BASHPID" ]] && continue
    pid_of_this_install "$p" && echo "$p"
  done
  return 0
}

# wait_gone DEADLINE_S PID...: wait until none of the pids runs; fail at the deadline.
wait_gone() {
  local deadline=$1 p left
  shift
  local end=$((SECONDS + deadline))
  while :; do
    left=0
    for p in "$@"; do pid_alive "$p" && left=1; done
    ((left)) || return 0
    ((SECONDS >= end)) && return 1
    sleep 0.2
  done
}

# The class-data sharing archive of the jar (written by run_heyken.sh with the jar's `cds-training`
# command; cores started with it start about a second faster, which shortens a crash failover).
cds_archive() { echo "${HEYKEN_CDS_ARCHIVE:-${HEYKEN_JAR%.jar}.jsa}"; }
# cds_current: the archive exists, belongs to the current jar, and HEYKEN_CDS is not off.
cds_current() {
  local a
  a=$(cds_archive)
  [[ ${HEYKEN_CDS:-on} != off && -s $a && ! $HEYKEN_JAR -nt $a ]]
}

# The JVM options, with a sane default when JAVA_OPTS is unset.
heyken_java_opts() {
  echo "${JAVA_OPTS:--Xms128m -Xmx768m -XX:+ExitOnOutOfMemoryError}"
}

require_java() {
  command -v java >/dev/null || die "java is not installed: install a Java 17 JDK (apt-get install openjdk-17-jdk-headless)."
}

# json_number KEY: the number value of "KEY" in the JSON on stdin, for keys that occur once, such as
# active_core or epoch (a cheap read for tight polling loops, where starting python would dominate).
json_number() {
  sed -nE "s/.*\"$1\"[[:space:]]*:[[:space:]]*(-?[0-9]+).*/\1/p" | head -n 1
}

# Waiting for a start that shows progress. The store and the cores log lines through the logger heyken.progress
# while they open a large file or recover ("heyken.progress - opening store: 45% (100 MB of 224 MB)"). A script
# that waits for them calls `waited_too_long END LOG...` in its loop instead of `((SECONDS >= END))`: it is true
# only when SECONDS is past END *and* no new progress line appeared in any LOG for HEYKEN_START_QUIET seconds
# (default 30); each new progress line is printed once ("  still starting: ..."). `waited_for_progress` says what
# was seen last, for the message of a script that gives up.
_progress_lines=-1
_progress_at=0
_progress_last=''
waited_too_long() {
  local end=$1 n=0 f c line=''
  shift
  for f in "$@"; do
    [[ -f $f ]] || continue
    c=$(grep -c ' heyken.progress - ' "$f" || true)
    n=$((n + c))
    ((c > 0)) && line=$(grep ' heyken.progress - ' "$f" | tail -n 1 | sed 's/.* heyken\.progress - //')
  done
  if ((n != _progress_lines)); then
    ((_progress_lines >= 0 && n > _progress_lines)) && [[ -n $line ]] && printf '\n  still starting: %s\n' "$line"
    _progress_lines=$n
    _progress_at=$SECONDS
    [[ -n $line ]] && _progress_last=$line
  fi
  ((SECONDS >= end && SECONDS - _progress_at >= ${HEYKEN_START_QUIET:-30}))
}
waited_for_progress() {
  if [[ -n $_progress_last ]]; then
    echo "no progress for ${HEYKEN_START_QUIET:-30} s; last: $_progress_last"
  else
    echo "no progress reported"
  fi
}
