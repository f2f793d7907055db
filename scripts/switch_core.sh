#!/usr/bin/env bash
# Usage: scripts/switch_core.sh 1|2 [--timeout SECONDS]
#
# Planned hand-over: makes core N the active core. The active core leaves the cluster gracefully
# (the CoreManager singleton moves to core N, nothing is lost) and rejoins as standby.
# Refuses (exit 1) when core N is not up or is already active. Sends
#   POST /api/cores/switch {"target_core":N}   with Authorization: Bearer $HEYKEN_API_TOKEN (.env)
# to the System Monitor, then waits (default 30 s) until /api/status on the monitor port reports
# core N as active, and prints how long that took.
set -euo pipefail
# shellcheck source=scripts/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

target=''
timeout=30
while (($#)); do
  case $1 in
    -h | --help) print_help "$0"; exit 0 ;;
    1 | 2) target=$1 ;;
    --timeout) timeout=$(number_arg --timeout "${2:-}" "a number of seconds"); shift ;;
    *) usage_error "unknown argument: $1 (the target core is 1 or 2)" ;;
  esac
  shift
done
[[ -n $target ]] || usage_error
heyken_load_env
[[ -n ${HEYKEN_API_TOKEN:-} || ${HEYKEN_AUTH:-on} == off ]] ||
  die "no HEYKEN_API_TOKEN in $HEYKEN_ENV_FILE: run ./scripts/init.sh (and restart Heyken so the cores use it)."

fetch_status 2 || die "no core answers /api/status: is Heyken running? Check with ./scripts/status.sh, start with ./scripts/run_heyken.sh."
active=$(json_number active_core <<<"$STATUS_JSON")
epoch=$(json_number epoch <<<"$STATUS_JSON")
target_status=$(status_py core "$target" status <<<"$STATUS_JSON")
if [[ $active == "$target" ]]; then
  err "core-$target is already active (epoch $epoch): nothing to do."
  exit 1
fi
if [[ $target_status != up ]]; then
  err "core-$target cannot take over: its cluster status is '${target_status:-absent}', not 'up'."
  info "Check ./scripts/status.sh and $HEYKEN_LOG_DIR/core-$target.log; a restarted core is up again as standby after a few seconds." >&2
  exit 1
fi
if [[ -z $active ]]; then
  err "no core is active right now (a failover is in progress?): try again in a few seconds."
  exit 1
fi

monitor=http://127.0.0.1:$(MONITOR_PORT)
t0=$(now_s)
http_request POST "$monitor/api/cores/switch" "{\"target_core\":$target}"
case $HTTP_STATUS in
  202) ;;
  409)
    detail=$("$HEYKEN_PYTHON" -c 'import json,sys; d=json.load(sys.stdin); print(d.get("detail") or d.get("error"))' <<<"$HTTP_BODY" 2>/dev/null || echo "$HTTP_BODY")
    err "the cores refused the switch to core-$target: $detail"
    exit 1
    ;;
  401 | 403)
    err "the cores refused the API token ($HTTP_STATUS): the token in $HEYKEN_ENV_FILE is not the one the running cores use."
    info "Restart Heyken (./scripts/stop.sh && ./scripts/run_heyken.sh) so that the cores read the current .env." >&2
    exit 1
    ;;
  000) die "the System Monitor ($monitor) did not answer the switch request: the active core may be failing over; check ./scripts/status.sh." ;;
  *) die "unexpected answer $HTTP_STATUS to POST $monitor/api/cores/switch: $HTTP_BODY" ;;
esac
info "Hand-over to core-$target started (from core-$active, epoch $epoch) ..."

end=$(awk -v t="$t0" -v d="$timeout" 'BEGIN { printf "%d", t + d }')
while :; do
  if body=$(http_get "$monitor/api/status" 1) && [[ $(json_number active_core <<<"$body") == "$target" ]]; then
    ok "core-$target is active (epoch $(json_number epoch <<<"$body")) after $(elapsed_s "$t0" "$(now_s)") s."
    exit 0
  fi
  if (($(date +%s) >= end)); then
    err "core-$target did not become active within ${timeout}s."
    info "See ./scripts/status.sh and the logs in $HEYKEN_LOG_DIR/ (core-$active.log, core-$target.log)." >&2
    exit 1
  fi
  sleep 0.05
done
