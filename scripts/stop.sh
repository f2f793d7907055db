#!/usr/bin/env bash
# Usage: scripts/stop.sh
#
# Stops this Heyken installation: first the standby core, then the active one (SIGTERM to each
# core's supervisor, which forwards it: the core leaves the cluster gracefully and hands the
# CoreManager over), then the log store heyken-pg (fast shutdown), then the store. Each gets HEYKEN_STOP_TIMEOUT + 10 s (default 40 s) before it is
# killed with SIGKILL. Afterwards no process of this installation (this data directory) is left, and
# stale pid files are removed. Safe to run again: says "nothing runs" when nothing does.
# The Docker deployment of scripts/deploy.sh (docker/), when it runs, is stopped too: its cores in the same
# order, then its other services (docker-compose down; the data volumes are kept).
set -euo pipefail
# shellcheck source=scripts/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

no_arguments "$@"
heyken_load_env
[[ -d $HEYKEN_RUN_DIR ]] || mkdir -p "$HEYKEN_RUN_DIR"
deadline=$((${HEYKEN_STOP_TIMEOUT:-30} + 10))
stopped_any=0

# stop_one NAME: SIGTERM to its supervisor (or to the JVM when it has none), wait, then SIGKILL.
stop_one() {
  local name=$1 sup jvm t0
  sup=$(live_pid "$(supervisor_pid_file "$name")") || sup=''
  jvm=$(live_pid "$(pid_file "$name")") || jvm=''
  [[ -z $sup && -z $jvm ]] && return 0
  stopped_any=1
  t0=$SECONDS
  if [[ -n $sup ]]; then
    info "Stopping $name (supervisor pid $sup${jvm:+, JVM pid $jvm}) ..."
    kill -TERM "$sup" 2>/dev/null || true
  else
    info "Stopping $name (JVM pid $jvm, no supervisor) ..."
    kill -TERM "$jvm" 2>/dev/null || true
  fi
  # shellcheck disable=SC2086 # $sup and $jvm are single pids or empty
  if ! wait_gone "$deadline" $sup $jvm; then
    warn "$name did not stop within ${deadline}s: SIGKILL."
    # shellcheck disable=SC2086
    kill -KILL $sup $jvm 2>/dev/null || true
    # shellcheck disable=SC2086
    wait_gone 5 $sup $jvm || err "$name (pids $sup $jvm) survived SIGKILL."
  fi
  ok "$name stopped ($((SECONDS - t0)) s)."
}

# The standby core first, so the active one hands over only once, to nobody.
first=2
if fetch_status 1; then
  active=$(json_number active_core <<<"$STATUS_JSON")
  [[ $active == 2 ]] && first=1
fi
stop_one "core-$first"
stop_one "core-$((3 - first))"
# the log store heyken-pg: its supervisor turns the SIGTERM into PostgreSQL's fast shutdown
stop_one pg
stop_one store

# The production deployment of scripts/deploy.sh (docker/docker-compose.yml), when it runs: the standby core first,
# then the active one (each leaves the cluster on SIGTERM), then the other services. Its data is kept (the named
# volumes and HEYKEN_DEPLOY_DATA_DIR); scripts/deploy.sh starts it again.
# shellcheck source=scripts/lib/compose.sh
source "$HEYKEN_ROOT/scripts/lib/compose.sh"
if compose_running; then
  stopped_any=1
  t0=$SECONDS
  info "Stopping the Docker deployment (project $HEYKEN_COMPOSE_PROJECT) ..."
  if compose_detect && [[ -f $HEYKEN_ENV_FILE ]] && compose stop -t "$deadline" "core-$first" "core-$((3 - first))" &&
    compose down; then
    ok "Docker deployment stopped ($((SECONDS - t0)) s); data kept in its volumes."
  else
    warn "docker-compose could not stop the deployment (above): stopping its containers with docker stop."
    for svc in "core-$first" "core-$((3 - first))"; do
      id=$(compose_container "$svc")
      [[ -n $id ]] && hk_docker stop -t "$deadline" "$id" >/dev/null
    done
    mapfile -t ids < <(compose_containers)
    ((${#ids[@]} == 0)) || hk_docker stop -t "$deadline" "${ids[@]}" >/dev/null
  fi
  compose_running && die "containers of the Docker deployment still run: $(compose_containers | tr '\n' ' ')"
fi

# Anything left of this installation (pid files lost, a JVM orphaned by a killed supervisor ...).
mapfile -t left < <(installation_pids)
if ((${#left[@]})); then
  stopped_any=1
  warn "processes of this installation without pid files: ${left[*]}: SIGTERM."
  kill -TERM "${left[@]}" 2>/dev/null || true
  if ! wait_gone "$deadline" "${left[@]}"; then
    kill -KILL "${left[@]}" 2>/dev/null || true
    wait_gone 5 "${left[@]}" || true
  fi
fi

for f in "$HEYKEN_RUN_DIR"/*.pid; do
  [[ -e $f ]] || continue
  live_pid "$f" >/dev/null || rm -f "$f"
done

mapfile -t left < <(installation_pids)
if ((${#left[@]})); then
  err "still running after the stop: ${left[*]} ($(ps -o pid=,args= -p "$(
    IFS=,
    echo "${left[*]}"
  )" | cut -c1-120 | tr '\n' ';'))"
  exit 1
fi
if ((stopped_any)); then
  ok "Heyken stopped ($HEYKEN_DATA_DIR); nothing of it runs. Start again with ./scripts/run_heyken.sh"
else
  info "Nothing runs ($HEYKEN_DATA_DIR)."
fi
