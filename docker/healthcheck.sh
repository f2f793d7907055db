#!/bin/bash
# HEALTHCHECK of the heyken/core image. For a core: GET /ready on its Pekko Management port (200 once the
# core is an Up cluster member). For the store: its MongoDB port accepts connections.
# The subcommand and the core id are read from the command line of the container's main process.
set -u
mapfile -d '' -t args </proc/1/cmdline 2>/dev/null || args=()
cmd='' id=${HEYKEN_CORE_ID:-1}
for ((i = 0; i < ${#args[@]}; i++)); do
  case ${args[i]} in
    core | store) [[ -z $cmd ]] && cmd=${args[i]} ;;
    --id) id=${args[i + 1]:-$id} ;;
  esac
done
host=${HEYKEN_BIND_HOST:-127.0.0.1}
[[ $host == 0.0.0.0 || $host == :: ]] && host=127.0.0.1
if [[ $cmd == store ]]; then
  exec 3<>"/dev/tcp/${HEYKEN_STORE_HOST:-127.0.0.1}/${HEYKEN_STORE_PORT:-27017}" || exit 1
  exit 0
fi
case $id in
  1) port=${HEYKEN_CORE1_MANAGEMENT_PORT:-7626} ;;
  2) port=${HEYKEN_CORE2_MANAGEMENT_PORT:-7627} ;;
  *) echo "unknown core id $id" >&2; exit 1 ;;
esac
exec curl -fsS --max-time 4 -o /dev/null "http://$host:$port/ready"
