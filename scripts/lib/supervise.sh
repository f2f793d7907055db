#!/usr/bin/env bash
# Usage: scripts/lib/supervise.sh 1|2|store|pg [--rejoin]
#
# Supervisor of one process of a Heyken installation, started in the background by run_heyken.sh
# (you do not normally run it by hand). It runs in the foreground:
#   1|2    java $JAVA_OPTS -jar heyken-core.jar core --id N     (log: data/logs/core-N.log)
#   store  java $JAVA_OPTS $HEYKEN_STORE_JAVA_OPTS -jar heyken-core.jar store   (log: data/logs/store.log)
#   pg     scripts/postgres.sh run: the log store heyken-pg       (log: data/logs/pg.log); a stop request
#          reaches it as SIGINT (PostgreSQL's fast shutdown: SIGTERM would wait for every client to leave)
# and writes the JVM's own pid to data/run/<name>.pid (rewritten on every restart) and its own pid
# to data/run/<name>.supervisor.pid.
#
# When the JVM crashes (non-zero exit or killed by a signal) it is restarted AT ONCE, a core with
# --rejoin (it seeds only its peer; the new incarnation makes the survivor drop the old one, which is
# the fast path of a crash failover). More than 3 crashes within 30 s back off 1, 2, 5, 10 s.
# Exit 0 of the JVM (or its death by a SIGTERM sent to it directly) is a deliberate stop: the
# supervisor exits too. Exit 2 (the JVM refused to start: a port is taken, the configuration is
# wrong) is retried twice after 5 s, then the supervisor gives up.
# SIGTERM/SIGINT to the supervisor: it forwards SIGTERM to the JVM (a core leaves the cluster
# gracefully), waits up to HEYKEN_STOP_TIMEOUT (30 s), then SIGKILL, and exits.
#
# Exit 3 of a core JVM is a restart it asked for (an upgrade restarts the standby): started again at once
# with --rejoin, not counted as a crash.
# Which jar a core runs: the path in data/run/core-N.jar when that file names an existing jar (written
# by an upgrade: the new jar, or the old one on a rollback), else $HEYKEN_JAR. Read on every (re)start.
#
#   --rejoin   the first start is already a rejoin (the peer core runs): seed only the peer.
set -euo pipefail
# shellcheck source=scripts/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

case ${1:-} in
  -h | --help) print_help "$0"; exit 0 ;;
  1 | 2) name=core-$1; jvm_args=(core --id "$1") ;;
  store) name=store; jvm_args=(store) ;;
  pg) name=pg; jvm_args=() ;;
  *) print_help "$0" >&2; exit 64 ;;
esac
rejoin=0
[[ ${2:-} == --rejoin ]] && rejoin=1

heyken_load_env
cd "$HEYKEN_ROOT"
mkdir -p "$HEYKEN_LOG_DIR" "$HEYKEN_RUN_DIR"
log=$(log_file "$name")
pidf=$(pid_file "$name")
spidf=$(supervisor_pid_file "$name")
stop_timeout=${HEYKEN_STOP_TIMEOUT:-30}
stop_signal=TERM
[[ $name == pg ]] && stop_signal=INT

say() { printf '%s [supervisor %s pid %s] %s\n' "$(now_iso)" "$name" "$$" "$*" >>"$log"; }

if other=$(live_pid "$spidf") && [[ $other != "$$" ]]; then
  err "$name is already supervised (supervisor pid $other)."
  exit 1
fi
if other=$(live_pid "$pidf"); then
  err "$name runs without its supervisor (JVM pid $other): stop it with scripts/stop.sh first."
  exit 1
fi
[[ $name == pg || -f $HEYKEN_JAR ]] || die "no jar at $HEYKEN_JAR: build it with 'mvn -q -DskipTests package' (run_heyken.sh does)."
echo "$$" >"$spidf"

child=''
stopping=0
on_signal() {
  stopping=1
  if [[ -n $child ]] && pid_alive "$child"; then
    say "received a stop request: sending SIG$stop_signal to the JVM (pid $child)"
    kill "-$stop_signal" "$child" 2>/dev/null || true
  fi
}
trap on_signal TERM INT HUP
cleanup() {
  # Remove our pid files, but only while they still name us / our last JVM.
  [[ $(read_pid "$spidf" 2>/dev/null) == "$$" ]] && rm -f "$spidf"
  [[ -n $child && $(read_pid "$pidf" 2>/dev/null) == "$child" ]] && rm -f "$pidf"
  return 0
}
trap cleanup EXIT

describe_exit() {
  if (($1 > 128)); then
    echo "killed by signal SIG$(kill -l $(($1 - 128)) 2>/dev/null || echo $(($1 - 128))) (status $1)"
  else
    echo "exit status $1"
  fi
}

# ---- upgrade: the jar of this start (data/run/core-N.jar names it; see scripts/upgrade.sh) ----
jar_of_start() {
  local f=$HEYKEN_RUN_DIR/$name.jar named
  if [[ $name == core-* && -f $f ]]; then
    named=$(head -n 1 "$f" 2>/dev/null || true)
    if [[ -n $named && -f $named ]]; then
      echo "$named"
      return
    fi
    say "$f names '${named}', which is not a file: running $HEYKEN_JAR"
  fi
  echo "$HEYKEN_JAR"
}
# ---- end upgrade ----

# Run the JVM once; sets rc to its exit status. Waits through signals to us; once a stop was
# requested, waits at most stop_timeout seconds and then kills it.
run_jvm() {
  local -a opts args=("${jvm_args[@]}")
  local jar
  jar=$(jar_of_start)
  read -r -a opts <<<"$(heyken_java_opts)"
  if [[ $name == store && -n ${HEYKEN_STORE_JAVA_OPTS:-} ]]; then
    local -a more
    read -r -a more <<<"$HEYKEN_STORE_JAVA_OPTS"
    opts+=("${more[@]}")
  fi
  if [[ $name == core-* ]]; then
    ((rejoin)) && args+=(--rejoin)
    # the archive belongs to $HEYKEN_JAR: another jar (an upgrade's) starts without it
    [[ $jar == "$HEYKEN_JAR" ]] && cds_current && opts+=("-XX:SharedArchiveFile=$(cds_archive)")
  fi
  if [[ $name == pg ]]; then
    "$BASH" "$HEYKEN_ROOT/scripts/postgres.sh" run >>"$log" 2>&1 </dev/null &
    child=$!
    echo "$child" >"$pidf"
    say "started heyken-pg pid $child: scripts/postgres.sh run"
  else
    java "${opts[@]}" -jar "$jar" "${args[@]}" >>"$log" 2>&1 </dev/null &
    child=$!
    echo "$child" >"$pidf"
    say "started JVM pid $child: java ${opts[*]} -jar $jar ${args[*]}"
  fi
  # A stop request that came in while the JVM was being started.
  ((stopping)) && { kill "-$stop_signal" "$child" 2>/dev/null || true; }
  local end
  while :; do
    rc=0
    wait "$child" || rc=$?
    pid_alive "$child" || break
    if ((stopping)); then
      end=$((SECONDS + stop_timeout))
      while pid_alive "$child" && ((SECONDS < end)); do sleep 0.2; done
      if pid_alive "$child"; then
        say "the JVM (pid $child) did not stop within ${stop_timeout}s: SIGKILL"
        kill -KILL "$child" 2>/dev/null || true
      fi
      rc=0
      wait "$child" || rc=$?
      break
    fi
  done
}

# pause SECONDS: sleep, but exit at once on a stop request.
pause() {
  local sleeper
  sleep "$1" &
  sleeper=$!
  wait "$sleeper" || true
  kill "$sleeper" 2>/dev/null || true
  if ((stopping)); then
    say "stop requested while waiting to restart; supervisor exits"
    exit 0
  fi
}

crash_times=()
backoffs=(1 2 5 10)
config_failures=0
while :; do
  run_jvm
  if ((stopping)); then
    say "JVM pid $child ended on request ($(describe_exit "$rc")); supervisor exits"
    exit 0
  fi
  if ((rc == 0 || rc == 143)); then
    # 143: someone sent the JVM itself a SIGTERM, which is a request to stop, not a crash.
    say "JVM pid $child stopped ($(describe_exit "$rc")), a deliberate stop; supervisor exits"
    exit 0
  fi
  if ((rc == 3)) && [[ $name == core-* ]]; then
    rejoin=1
    say "JVM pid $child asked to be restarted (exit status 3, an upgrade): starting it again at once with --rejoin"
    continue
  fi
  if ((rc == 2)); then
    # Status 2: the JVM refused to start (a port is taken, the configuration is wrong). A restart cannot
    # help unless the port was still held by the incarnation that just died: retry a few times only.
    config_failures=$((config_failures + 1))
    if ((config_failures >= 3)); then
      say "JVM pid $child exited with status 2 ${config_failures} times in a row (a port is taken or the configuration is wrong, see above): giving up"
      exit 2
    fi
    say "JVM pid $child exited with status 2 (a port is taken or the configuration is wrong, see above): retrying in 5s"
    pause 5
    continue
  fi
  config_failures=0
  now=$SECONDS
  recent=()
  for t in "${crash_times[@]}"; do ((now - t < 30)) && recent+=("$t"); done
  recent+=("$now")
  crash_times=("${recent[@]}")
  n=${#crash_times[@]}
  rejoin=1
  if ((n <= 3)); then
    how='at once'
    [[ $name == core-* ]] && how='at once with --rejoin'
    say "JVM pid $child crashed ($(describe_exit "$rc")): restarting $how"
  else
    i=$((n - 4))
    ((i >= ${#backoffs[@]})) && i=$((${#backoffs[@]} - 1))
    delay=${backoffs[$i]}
    say "JVM pid $child crashed ($(describe_exit "$rc")), $n crashes within 30 s: restarting in ${delay}s"
    pause "$delay"
  fi
done
