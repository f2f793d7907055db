#!/usr/bin/env bash
# Usage: scripts/status.sh [--json]
#
# Shows the state of this Heyken installation: a table of the store, core-1 and core-2 (JVM pid,
# whether it runs, its cluster status, which core is active, the epoch, uptime) and the components
# (store, Docker engine, Rocket.Chat, Ollama, ...) as the System Monitor reports them, and the log store
# heyken-pg (pid, alive, accepting connections, size of its data; scripts/postgres.sh status).
# It asks GET /api/status on the monitor port (5021), and falls back to the inspection ports of each
# core (5121, 5221), which answer even while no core is active.
#
#   --json   print the JSON of /api/status instead of the table
#
# Exit status: 0 only when healthy (store up, both cores up, exactly one active, a sandbox that can run
# jobs), 1 otherwise; the reasons are printed.
set -euo pipefail
# shellcheck source=scripts/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

json=0
case ${1:-} in
  -h | --help) print_help "$0"; exit 0 ;;
  --json) json=1 ;;
  '') ;;
  *) usage_error "unknown argument: $1" ;;
esac
heyken_load_env

names=(core-1 core-2)
[[ -z ${HEYKEN_MONGO_URI:-} ]] && names=(store core-1 core-2)

# What this machine knows from the pid files: NAME=PID:yes|no, and the problems it shows.
local_items=()
local_problems=()
[[ -n ${HEYKEN_MONGO_URI:-} ]] && local_items+=("store=-:external")
for n in "${names[@]}"; do
  pidf=$(pid_file "$n")
  if p=$(read_pid "$pidf"); then
    if pid_of_this_install "$p"; then
      alive=yes
      live_pid "$(supervisor_pid_file "$n")" >/dev/null || {
        alive=unsupervised
        local_problems+=("$n (pid $p) runs without its supervisor: a crash will not be restarted")
      }
    else
      alive=no
      if live_pid "$(supervisor_pid_file "$n")" >/dev/null; then
        alive=restarting
      else
        local_problems+=("$n is not running (stale pid file $pidf)")
      fi
    fi
    local_items+=("$n=$p:$alive")
  elif live_pid "$(supervisor_pid_file "$n")" >/dev/null; then
    local_items+=("$n=-:starting")
  fi
done

# the log store heyken-pg (unless HEYKEN_POSTGRES_URL points at an external server)
pg_line=$("$HEYKEN_ROOT/scripts/postgres.sh" status 2>&1) || {
  [[ -z ${HEYKEN_POSTGRES_URL:-} ]] && local_problems+=("heyken-pg does not accept connections: log lines are buffered, then dropped ($(log_file pg))")
}

if ! fetch_status 2; then
  ports="$(MONITOR_PORT), $(inspection_port "$(MONITOR_PORT)" 1), $(inspection_port "$(MONITOR_PORT)" 2)"
  if ((json)); then
    printf '{"error":"unreachable","detail":"no core answers /api/status on ports %s"}\n' "$ports"
  else
    status_py table "${local_items[@]}" </dev/null
    echo "$pg_line"
    echo
    for n in 1 2; do
      if http_get "http://127.0.0.1:$(management_port "$n")/ready" 2 >/dev/null; then r=ready
      elif port_open "$(management_port "$n")"; then r='not ready'
      else r='not answering'; fi
      echo "core-$n cluster management :$(management_port "$n"): $r"
    done
    echo
    err "no core answers /api/status on ports $ports."
    if ((${#local_items[@]})); then
      info "If Heyken was just started, the cores may still be starting: try again in a few seconds; logs in $HEYKEN_LOG_DIR/." >&2
    else
      info "Heyken does not run here ($HEYKEN_DATA_DIR): start it with ./scripts/run_heyken.sh" >&2
    fi
  fi
  exit 1
fi

if ((json)); then
  status_py pretty <<<"$STATUS_JSON"
else
  echo "Heyken ($HEYKEN_DATA_DIR), status from $STATUS_SOURCE"
  echo
  status_py table "${local_items[@]}" <<<"$STATUS_JSON"
  echo "$pg_line"
  echo
fi

problems=$(status_py healthy <<<"$STATUS_JSON") || true
for p in "${local_problems[@]}"; do problems+=${problems:+$'\n'}$p; done
if [[ -z $problems ]]; then
  ((json)) || ok "healthy: core-$(status_py get active_core <<<"$STATUS_JSON") is active (epoch $(status_py get epoch <<<"$STATUS_JSON")), both cores up, the sandbox runs jobs."
  exit 0
fi
if ((!json)); then
  err "not healthy:"
  echo "  ${problems//$'\n'/$'\n'  }" >&2
fi
exit 1
