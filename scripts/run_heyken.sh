#!/usr/bin/env bash
# Usage: scripts/run_heyken.sh [--no-build] [--no-docker] [--timeout SECONDS]
#
# Starts Heyken on this machine, in the background:
#   heyken-store   the embedded MongoDB-protocol store (skipped when HEYKEN_MONGO_URI is set)
#   heyken-pg      the log store, PostgreSQL (scripts/postgres.sh; skipped when HEYKEN_POSTGRES_URL is set)
#   core-1, core-2 the two cores, each under a supervisor that restarts it at once when it crashes
# First it makes a sandbox available, so that features can be tested, deployed and invoked: bubblewrap
# (apt-get install bubblewrap when missing, as root; ~10 s) and the Docker engine with its images through
# scripts/docker-engine.sh (as root; 1-3 minutes the first time, seconds later), unless --no-docker or
# HEYKEN_SANDBOX_BACKEND=bubblewrap. It says what it installs before it does. When no backend can run,
# the first lines say what to do, and /api/status (./scripts/status.sh) says healthy: false.
# Runs scripts/init.sh first when there is no .env, builds the jar (mvn -q -DskipTests package) when
# it is missing or older than a source, waits until the System Monitor answers and both cores are up,
# then prints the URLs. Logs go to data/logs/, pid files to data/run/.
#
# Running it again while Heyken runs reports what runs and starts only what is missing.
#
#   --no-build         never build; fail when the jar is missing
#   --no-docker        do not start (or install) the Docker engine: the sandbox is bubblewrap
#   --timeout SECONDS  how long to wait for the cores (default 90)
#
# Environment: see README.md (HEYKEN_DATA_DIR, the HEYKEN_*_PORT variables, HEYKEN_MONGO_URI,
# JAVA_OPTS, ...); .env is read too, a variable set in the environment wins.
set -euo pipefail
# shellcheck source=scripts/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

build=1
timeout=90
docker_wanted=1
while (($#)); do
  case $1 in
    -h | --help) print_help "$0"; exit 0 ;;
    --no-build) build=0 ;;
    --no-docker) docker_wanted=0 ;;
    --timeout) timeout=$(number_arg --timeout "${2:-}" "a number of seconds"); shift ;;
    *) usage_error "unknown argument: $1" ;;
  esac
  shift
done

# ---------------------------------------------------------------- sandbox (bubblewrap, Docker engine)
# sandbox_works_bwrap: bubblewrap can create its namespaces here (what the cores' probe needs first).
sandbox_works_bwrap() {
  command -v bwrap >/dev/null &&
    bwrap --unshare-all --die-with-parent --ro-bind /usr /usr --symlink usr/bin /bin --symlink usr/lib /lib \
      --symlink usr/lib64 /lib64 /bin/true 2>/dev/null
}

# sandbox_docker_ready: the engine of DOCKER_HOST answers and has the default image.
sandbox_docker_ready() {
  command -v docker >/dev/null &&
    docker -H "${DOCKER_HOST:-unix:///var/run/docker.sock}" image inspect "${HEYKEN_SANDBOX_IMAGE:-sandbox/python:1}" \
      >/dev/null 2>&1
}

# ensure_sandbox: make at least one sandbox backend work before the cores start (they pick theirs at start:
# auto = Docker when its engine answers, else bubblewrap). Prints what it installs and how long it took; when
# nothing can run feature code, says so first, with what to do. Never fails: Heyken starts anyway.
ensure_sandbox() {
  local backend=${HEYKEN_SANDBOX_BACKEND:-auto} started=$SECONDS problems=() sock
  [[ $backend == bubblewrap ]] && docker_wanted=0
  if ! command -v bwrap >/dev/null; then
    if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
      info "Sandbox: installing bubblewrap (apt-get install bubblewrap; about 10-30 s) ..."
      if DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends bubblewrap \
        >"$HEYKEN_LOG_DIR/apt-bubblewrap.log" 2>&1 ||
        { apt-get update -qq >>"$HEYKEN_LOG_DIR/apt-bubblewrap.log" 2>&1 &&
          DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends bubblewrap \
            >>"$HEYKEN_LOG_DIR/apt-bubblewrap.log" 2>&1; }; then
        ok "Sandbox: installed bubblewrap in $((SECONDS - started)) s."
      else
        problems+=("apt-get could not install bubblewrap (see $HEYKEN_LOG_DIR/apt-bubblewrap.log)")
      fi
    else
      problems+=("bubblewrap is not installed and this is not root: sudo apt-get install bubblewrap")
    fi
  fi
  if command -v bwrap >/dev/null && ! sandbox_works_bwrap; then
    problems+=("bubblewrap is installed but cannot create namespaces here (a container without user namespaces?)")
  fi
  sock=${DOCKER_HOST:-unix:///var/run/docker.sock}
  if ((docker_wanted)) && ! sandbox_docker_ready; then
    if [[ $sock != unix:///var/run/docker.sock ]]; then
      problems+=("the Docker engine at DOCKER_HOST=$sock does not answer or lacks ${HEYKEN_SANDBOX_IMAGE:-sandbox/python:1}: start it there")
    elif [[ $(id -u) != 0 ]]; then
      problems+=("no Docker engine runs and starting one needs root: sudo ./scripts/docker-engine.sh")
    else
      local t=$SECONDS
      info "Sandbox: starting the Docker engine with scripts/docker-engine.sh (installs docker.io, busybox-static and debootstrap"
      info "  when missing and builds the images sandbox/busybox:1 and sandbox/python:1: 1-3 minutes the first time, seconds"
      info "  later; --no-docker skips it, and bubblewrap alone is enough to start) ..."
      if "$HEYKEN_ROOT/scripts/docker-engine.sh" >"$HEYKEN_LOG_DIR/docker-engine.log" 2>&1; then
        ok "Sandbox: the Docker engine runs with its images ($((SECONDS - t)) s)."
      else
        tail -n 5 "$HEYKEN_LOG_DIR/docker-engine.log" | sed 's/^/  docker-engine.sh| /' >&2
        problems+=("scripts/docker-engine.sh failed (see $HEYKEN_LOG_DIR/docker-engine.log)")
      fi
    fi
  fi
  local have=()
  sandbox_works_bwrap && have+=(bubblewrap)
  ((docker_wanted)) && sandbox_docker_ready && have+=(docker)
  if [[ $backend == docker ]] && ! sandbox_docker_ready; then have=(); fi
  if [[ $backend == bubblewrap ]] && ! sandbox_works_bwrap; then have=(); fi
  if ((${#have[@]} == 0)); then
    err "no sandbox can run feature code here: features cannot be tested, deployed or invoked."
    printf '  %s\n' "${problems[@]}" >&2
    if [[ $backend == docker ]]; then
      info "What to do: HEYKEN_SANDBOX_BACKEND=docker needs a Docker engine: start it (sudo ./scripts/docker-engine.sh)," >&2
      info "  or use HEYKEN_SANDBOX_BACKEND=auto (bubblewrap then); then ./scripts/stop.sh and run this again." >&2
    else
      info "What to do: run this as root once (sudo ./scripts/run_heyken.sh installs bubblewrap and starts the Docker engine)," >&2
      info "  or install bubblewrap yourself (apt-get install bubblewrap); then ./scripts/stop.sh and run it again." >&2
    fi
    info "Heyken starts anyway; /api/status and ./scripts/status.sh say healthy: false until a sandbox works." >&2
    echo >&2
    return 0
  fi
  ((${#problems[@]} == 0)) || warn "sandbox: $(printf '%s; ' "${problems[@]}")using ${have[*]}."
  ok "Sandbox: ready ($(IFS=,; echo "${have[*]}" | sed 's/,/, /g'))$( ((SECONDS - started > 1)) && echo " after $((SECONDS - started)) s")."
}

heyken_load_env
# Port numbers first, before anything starts: a port out of range would only show as a crash loop of the JVM that
# binds it. (.env is read again after init.sh below; init.sh writes no ports.)
invalid=()
valid_port() { [[ $1 =~ ^[0-9]{1,5}$ ]] && (($1 >= 1 && $1 <= 65535)); }
port_numbers=("$(STORE_PORT):HEYKEN_STORE_PORT" "${HEYKEN_POSTGRES_PORT:-5442}:HEYKEN_POSTGRES_PORT")
for n in 1 2; do
  port_numbers+=("$(cluster_port "$n"):HEYKEN_CORE${n}_PORT" "$(management_port "$n"):HEYKEN_CORE${n}_MANAGEMENT_PORT")
done
for item in "$(REGISTRY_PORT):HEYKEN_REGISTRY_PORT" "$(SANDBOX_PORT):HEYKEN_SANDBOX_PORT" \
  "$(LOGGER_PORT):HEYKEN_LOGGER_PORT" "$(MONITOR_PORT):HEYKEN_MONITOR_PORT"; do
  port_numbers+=("$item")
  if valid_port "${item%%:*}" && [[ ${HEYKEN_INSPECTION_PORT_OFFSET:-100} =~ ^[0-9]{1,5}$ ]]; then
    for n in 1 2; do
      port_numbers+=("$(inspection_port "${item%%:*}" "$n"):${item#*:} + ${n} x HEYKEN_INSPECTION_PORT_OFFSET (core-$n's inspection port)")
    done
  fi
done
for item in "${port_numbers[@]}"; do
  valid_port "${item%%:*}" || invalid+=("${item%%:*} (${item#*:})")
done
if ((${#invalid[@]})); then
  err "these are not TCP ports (1-65535):"
  printf '  %s\n' "${invalid[@]}" >&2
  info "Set the variables named above so that every port is from 1 to 65535, in $HEYKEN_ENV_FILE or the environment (see README.md, Ports)." >&2
  exit 1
fi
mkdir -p "$HEYKEN_LOG_DIR"
ensure_sandbox

if [[ ! -f $HEYKEN_ENV_FILE ]]; then
  info "No $HEYKEN_ENV_FILE yet: running scripts/init.sh first."
  "$HEYKEN_ROOT/scripts/init.sh"
  echo
fi
heyken_load_env
for d in store git logs run; do mkdir -p "$HEYKEN_DATA_DIR/$d"; done
require_java
for tool in curl python3; do
  command -v "$tool" >/dev/null || die "$tool is not installed: apt-get install $tool"
done

use_store=1
[[ -n ${HEYKEN_MONGO_URI:-} ]] && use_store=0
names=(core-1 core-2)
((use_store)) && names=(store core-1 core-2)

# ---------------------------------------------------------------- what runs already
# state NAME: "supervised" (supervisor and JVM alive, or supervisor restarting it), "unsupervised"
# (only the JVM is left, its supervisor was killed), "stopped".
state() {
  if live_pid "$(supervisor_pid_file "$1")" >/dev/null; then
    echo supervised
  elif live_pid "$(pid_file "$1")" >/dev/null; then
    echo unsupervised
  else
    echo stopped
  fi
}
declare -A before
running=0
for n in "${names[@]}"; do
  before[$n]=$(state "$n")
  [[ ${before[$n]} != stopped ]] && running=$((running + 1))
done

# ---------------------------------------------------------------- build
sources_newer_than_jar() {
  find "$HEYKEN_ROOT" \( -path "$HEYKEN_ROOT/.git" -o -path "$HEYKEN_ROOT/data" -o -path "$HEYKEN_DATA_DIR" \
    -o -name target -o -name node_modules \) -prune -o -type f \
    \( -path '*/src/main/*' -o -name pom.xml -o -name application.conf \) -newer "$HEYKEN_JAR" -print -quit
}
need_build=''
if [[ ! -f $HEYKEN_JAR ]]; then
  need_build='the jar is missing'
elif newer=$(sources_newer_than_jar) && [[ -n $newer ]]; then
  need_build="${newer#"$HEYKEN_ROOT"/} is newer than the jar"
fi
if [[ -n $need_build ]]; then
  if ((!build)); then
    [[ -f $HEYKEN_JAR ]] || die "$need_build and --no-build was given: build with 'mvn -q -DskipTests package'."
    warn "$need_build; not building (--no-build)."
  elif users=$(pgrep -f -- "-jar $HEYKEN_JAR" | paste -sd ' ') && [[ -n $users ]]; then
    # Rebuilding would replace the jar under running JVMs.
    [[ -f $HEYKEN_JAR ]] || die "$need_build, but JVMs ($users) use its path: stop them first."
    warn "$need_build, but JVMs of it run (pids $users): not rebuilding now. Stop (scripts/stop.sh) and run again to use the new code."
  else
    command -v mvn >/dev/null || die "$need_build and Maven is not installed: apt-get install maven"
    info "Building ($need_build): mvn -q -DskipTests package ..."
    build_log=$HEYKEN_LOG_DIR/build.log
    if ! (cd "$HEYKEN_ROOT" && mvn -B -q -DskipTests package) >"$build_log" 2>&1; then
      tail -n 40 "$build_log" >&2
      die "the build failed (full output: $build_log). Fix the error above and run ./scripts/run_heyken.sh again."
    fi
    [[ -f $HEYKEN_JAR ]] || die "the build succeeded but made no $HEYKEN_JAR; check the cores module's packaging."
    ok "Built $HEYKEN_JAR"
  fi
fi

# ---------------------------------------------------------------- class-data sharing archive
# A core's JVM start-up is part of every crash failover (the supervisor restarts it at once), so the
# classes a core loads are archived once per jar. Optional: without it the cores only start slower.
archive=$(cds_archive)
if [[ ${before[core-1]} == stopped || ${before[core-2]} == stopped ]] && [[ ${HEYKEN_CDS:-on} != off ]] &&
  ! cds_current && [[ ! -f $archive.failed || $HEYKEN_JAR -nt $archive.failed ]]; then
  info "Writing the class-data sharing archive for faster core starts (once per build, ~15 s) ..."
  read -r -a opts <<<"$(heyken_java_opts)"
  tmp=$archive.tmp.$$
  if (cd "$HEYKEN_ROOT" && timeout 120 java "${opts[@]}" -XX:ArchiveClassesAtExit="$tmp" -jar "$HEYKEN_JAR" cds-training) \
    >"$HEYKEN_LOG_DIR/cds.log" 2>&1 && [[ -s $tmp ]]; then
    mv -f "$tmp" "$archive"
    rm -f "$archive.failed"
    ok "Wrote $archive"
  else
    rm -f "$tmp"
    touch "$archive.failed"
    warn "could not write the class-data sharing archive (see $HEYKEN_LOG_DIR/cds.log); the cores start without it."
  fi
fi

# ---------------------------------------------------------------- output
redact_uri() { sed -E 's#//[^/@]*@#//***@#' <<<"$1"; }

print_urls() {
  local m r s l
  m=$(MONITOR_PORT) r=$(REGISTRY_PORT) s=$(SANDBOX_PORT) l=$(LOGGER_PORT)
  cat <<EOF

Documented ports (served by the active core):
  System Monitor      http://127.0.0.1:$m/api/status
  Component Registry  http://127.0.0.1:$r/api/components
  Sandbox Manager     http://127.0.0.1:$s/
  Logger API          http://127.0.0.1:$l/api/logs?limit=10
Inspection ports (each core, active or standby):
  core-1              registry $(inspection_port "$r" 1), sandbox $(inspection_port "$s" 1), logger $(inspection_port "$l" 1), monitor http://127.0.0.1:$(inspection_port "$m" 1)/api/status
  core-2              registry $(inspection_port "$r" 2), sandbox $(inspection_port "$s" 2), logger $(inspection_port "$l" 2), monitor http://127.0.0.1:$(inspection_port "$m" 2)/api/status
Cluster management:
  core-1              http://127.0.0.1:$(management_port 1)/cluster/members   (cluster port $(cluster_port 1))
  core-2              http://127.0.0.1:$(management_port 2)/cluster/members   (cluster port $(cluster_port 2))
EOF
  if ((use_store)); then
    echo "Store:                mongodb://127.0.0.1:$(STORE_PORT)/heyken (data in $HEYKEN_DATA_DIR/store)"
  else
    echo "Store:                $(redact_uri "$HEYKEN_MONGO_URI") (HEYKEN_MONGO_URI; no embedded store)"
  fi
  echo "Logs:                 $HEYKEN_LOG_DIR/{$(
    IFS=,
    echo "${names[*]}"
  )}.log"
  if [[ -z ${HEYKEN_POSTGRES_URL:-} ]]; then
    echo "Log store:            heyken-pg, postgresql://127.0.0.1:${HEYKEN_POSTGRES_PORT:-5442}/${HEYKEN_POSTGRES_DATABASE:-heyken} (data in $HEYKEN_DATA_DIR/pg, log $HEYKEN_LOG_DIR/pg.log)"
  else
    echo "Log store:            $(redact_uri "$HEYKEN_POSTGRES_URL") (HEYKEN_POSTGRES_URL; no heyken-pg)"
  fi
  echo "PID files:            $HEYKEN_RUN_DIR/"
  cat <<EOF

Next: ./scripts/status.sh (health table), ./scripts/switch_core.sh 1|2 (planned hand-over),
      ./scripts/stop.sh (stop everything).
EOF
}

print_running() {
  local n p
  for n in "${names[@]}"; do
    p=$(live_pid "$(pid_file "$n")" || echo '-')
    case $(state "$n") in
      supervised) printf '  %-7s JVM pid %s, supervised (supervisor pid %s)\n' "$n" "$p" "$(read_pid "$(supervisor_pid_file "$n")")" ;;
      unsupervised) printf '  %-7s JVM pid %s, NOT supervised: a crash will not be restarted (scripts/stop.sh, then run again)\n' "$n" "$p" ;;
      stopped) printf '  %-7s not running\n' "$n" ;;
    esac
  done
}

fail_with_log() {
  local name=$1
  shift
  err "$*"
  local f
  f=$(log_file "$name")
  if [[ -f $f ]]; then
    echo "--- last lines of $f ---" >&2
    tail -n 30 "$f" >&2
    echo "---" >&2
  fi
  info "What to do: read $f, fix the cause, then ./scripts/stop.sh and ./scripts/run_heyken.sh again." >&2
  exit 1
}

if ((running == ${#names[@]})); then
  ok "Heyken already runs ($HEYKEN_DATA_DIR); nothing started:"
  print_running
  if fetch_status 2; then
    printf '  active core: core-%s, epoch %s (from %s)\n' \
      "$(status_py get active_core <<<"$STATUS_JSON")" "$(status_py get epoch <<<"$STATUS_JSON")" "$STATUS_SOURCE"
  else
    warn "but no core answers /api/status yet: see ./scripts/status.sh and $HEYKEN_LOG_DIR/."
  fi
  print_urls
  exit 0
fi
if ((running)); then
  info "Already running:"
  print_running
  info "Starting what is missing."
fi

start_supervised() { # NAME [--rejoin]
  local what=${1#core-}
  setsid nohup "$BASH" "$HEYKEN_ROOT/scripts/lib/supervise.sh" "$what" "${@:2}" \
    </dev/null >>"$(log_file "$1")" 2>&1 &
}

# Wait until the supervisor of NAME wrote its pid file (it refuses to start twice).
wait_supervisor() {
  local end=$((SECONDS + 10))
  until live_pid "$(supervisor_pid_file "$1")" >/dev/null; do
    ((SECONDS < end)) || fail_with_log "$1" "the supervisor of $1 did not start."
    sleep 0.1
  done
}

# ---------------------------------------------------------------- ports
# Every port a process we are about to start binds must be free: a core that cannot bind would only
# crash-loop, and another installation answering on 5021 would look like ours.
port_owner() { ss -ltnpH "sport = :$1" 2>/dev/null | sed -nE 's/.*users:\(\("([^"]*)",pid=([0-9]+).*/\1 (pid \2)/p' | head -n 1; }
taken=()
check_port() { # PORT WHAT
  local owner
  port_open "$1" || return 0
  owner=$(port_owner "$1")
  taken+=("$1 ($2) is taken by ${owner:-another process}")
}
if ((use_store)) && [[ ${before[store]} == stopped ]]; then
  check_port "$(STORE_PORT)" "store, HEYKEN_STORE_PORT"
fi
documented=("$(REGISTRY_PORT):registry" "$(SANDBOX_PORT):sandbox" "$(LOGGER_PORT):logger" "$(MONITOR_PORT):monitor")
if [[ ${before[core-1]} == stopped && ${before[core-2]} == stopped ]]; then
  for item in "${documented[@]}"; do check_port "${item%%:*}" "${item#*:}, documented port"; done
fi
for n in 1 2; do
  [[ ${before[core-$n]} == stopped ]] || continue
  check_port "$(cluster_port "$n")" "core-$n cluster, HEYKEN_CORE${n}_PORT"
  check_port "$(management_port "$n")" "core-$n management, HEYKEN_CORE${n}_MANAGEMENT_PORT"
  for item in "${documented[@]}"; do
    check_port "$(inspection_port "${item%%:*}" "$n")" "core-$n ${item#*:} inspection port"
  done
done
if ((${#taken[@]})); then
  err "ports Heyken needs are in use:"
  printf '  %s\n' "${taken[@]}" >&2
  info "Another Heyken (or another program) runs with these ports: stop it, or move this installation with the HEYKEN_*_PORT variables in .env (see README.md)." >&2
  exit 1
fi

# ---------------------------------------------------------------- store
if ((use_store)) && [[ ${before[store]} == stopped ]]; then
  port=$(STORE_PORT)
  info "Starting heyken-store on 127.0.0.1:$port ..."
  start_supervised store
  wait_supervisor store
  end=$((SECONDS + 30))
  until port_open "$port"; do
    live_pid "$(supervisor_pid_file store)" >/dev/null || fail_with_log store "the store stopped while starting."
    # a large file takes longer: go on while the store logs progress
    waited_too_long "$end" "$(log_file store)" &&
      fail_with_log store "the store did not open port $port within $((SECONDS - end + 30)) s ($(waited_for_progress))."
    sleep 0.2
  done
  ok "heyken-store listens on 127.0.0.1:$port (pid $(read_pid "$(pid_file store)"))."
elif ((!use_store)); then
  info "HEYKEN_MONGO_URI is set: using $(redact_uri "$HEYKEN_MONGO_URI"), no embedded store."
fi

# ---------------------------------------------------------------- log store (heyken-pg)
# Started (and waited for) by scripts/postgres.sh; the cores would only buffer and drop lines without it.
"$HEYKEN_ROOT/scripts/postgres.sh" start

# ---------------------------------------------------------------- cores
start=$SECONDS
end=$((SECONDS + timeout))
started=()
if [[ ${before[core-1]} == stopped && ${before[core-2]} == stopped ]]; then
  # Cold start: core-1 (the first seed) forms the cluster, then core-2 joins it. Starting both at once
  # makes them compete for the 2 CPUs and lets a slow first seed race the peer's own fallback.
  info "Starting core-1 ..."
  start_supervised core-1
  started+=(core-1)
  wait_supervisor core-1
  ready=http://127.0.0.1:$(management_port 1)/ready
  printf 'Waiting for core-1 to be Up in the cluster (%s) ' "$ready"
  until http_get "$ready" 2 >/dev/null; do
    live_pid "$(supervisor_pid_file core-1)" >/dev/null ||
      { echo; fail_with_log core-1 "core-1 stopped while starting (its supervisor exited)."; }
    if waited_too_long "$end" "$(log_file core-1)"; then
      echo
      warn "core-1 is not Up after $((SECONDS - start))s ($(waited_for_progress)); starting core-2 anyway (see $(log_file core-1))."
      break
    fi
    printf '.'
    sleep 1
  done
  echo " $((SECONDS - start)) s"
  info "Starting core-2 ..."
  start_supervised core-2
  started+=(core-2)
else
  for n in 1 2; do
    name=core-$n
    [[ ${before[$name]} == stopped ]] || continue
    # A core started while its peer runs is a rejoin: it must seed only the peer.
    info "Starting $name (rejoining the running core-$((3 - n))) ..."
    start_supervised "$name" --rejoin
    started+=("$name")
  done
fi
for name in "${started[@]}"; do wait_supervisor "$name"; done

# ---------------------------------------------------------------- wait
monitor=http://127.0.0.1:$(MONITOR_PORT)/api/status
info "Waiting for $monitor and both cores up (up to ${timeout}s after the start) ..."
status=''
problems=''
while :; do
  for name in "${started[@]}"; do
    live_pid "$(supervisor_pid_file "$name")" >/dev/null ||
      fail_with_log "$name" "$name stopped while starting (its supervisor exited)."
  done
  if status=$(http_get "$monitor" 2) && [[ -n $status ]]; then
    problems=$(status_py cores-up <<<"$status") && break
  fi
  logs=()
  for name in "${started[@]}"; do logs+=("$(log_file "$name")"); done
  if waited_too_long "$end" "${logs[@]}"; then
    echo
    if [[ -z $status ]]; then
      for name in "${started[@]}"; do tail -n 15 "$(log_file "$name")" | sed "s/^/  $name| /" >&2; done
      fail_with_log "${started[0]:-core-1}" "$monitor did not answer within ${timeout}s."
    fi
    warn "the System Monitor answers, but Heyken is not healthy after ${timeout}s:"
    echo "  ${problems//$'\n'/$'\n'  }" >&2
    info "The cores may still be joining: check again with ./scripts/status.sh; logs in $HEYKEN_LOG_DIR/."
    print_urls
    exit 1
  fi
  if (((SECONDS - start) % 10 == 9)); then printf ' %ss ' $((SECONDS - start)); else printf '.'; fi
  sleep 1
done
echo
ok "Heyken runs: core-$(status_py get active_core <<<"$status") is active (epoch $(status_py get epoch <<<"$status")), after $((SECONDS - start)) s."
print_running
print_urls
sandbox_problems=$(status_py healthy <<<"$status") || {
  warn "but it is not healthy:"
  echo "  ${sandbox_problems//$'\n'/$'\n'  }" >&2
}
