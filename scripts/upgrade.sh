#!/usr/bin/env bash
# Usage: scripts/upgrade.sh <git-ref | path/to/heyken-core.jar> [--follow] [--timeout SECONDS]
#
# Upgrades the running Heyken to a git ref of its own repository (built offline in data/upgrade/<id>/)
# or to a built jar: POST /api/upgrade on the System Monitor with the API token of .env. The cores
# check the new version against the journal and the cluster protocol, restart the standby on it, hand
# over, verify it for HEYKEN_UPGRADE_WINDOW and then upgrade the other core, or roll back on any failure.
# An argument that names an existing file is a jar (sent as its absolute path); anything else a ref.
#
#   --follow           print each step as it changes until the upgrade ends; exit 0 only when committed
#   --timeout SECONDS  how long --follow waits (default 1800)
#
# Exit: 0 accepted (or committed with --follow), 1 refused / failed / rolled back, 64 usage.
# GET /api/upgrade shows the steps at any time; README "Upgrades" describes them.
set -euo pipefail
# shellcheck source=scripts/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

target=''
follow=0
timeout=1800
while (($#)); do
  case $1 in
    -h | --help) print_help "$0"; exit 0 ;;
    --follow) follow=1 ;;
    --timeout)
      [[ ${2:-} =~ ^[0-9]+$ ]] || die "--timeout needs a number of seconds"
      timeout=$2
      shift
      ;;
    -*) err "unknown option: $1"; print_help "$0" >&2; exit 64 ;;
    *)
      [[ -z $target ]] || { err "give one ref or jar, not '$target' and '$1'"; exit 64; }
      target=$1
      ;;
  esac
  shift
done
[[ -n $target ]] || { print_help "$0" >&2; exit 64; }
heyken_load_env
[[ -n ${HEYKEN_API_TOKEN:-} || ${HEYKEN_AUTH:-on} == off ]] ||
  die "no HEYKEN_API_TOKEN in $HEYKEN_ENV_FILE: run ./scripts/init.sh (and restart Heyken so the cores use it)."

if [[ -f $target ]]; then
  jar=$(cd "$(dirname "$target")" && pwd)/$(basename "$target")
  body=$("$HEYKEN_PYTHON" -c 'import json,sys; print(json.dumps({"jar_path": sys.argv[1]}))' "$jar")
  what="jar $jar"
else
  body=$("$HEYKEN_PYTHON" -c 'import json,sys; print(json.dumps({"ref": sys.argv[1]}))' "$target")
  what="ref $target"
fi
monitor=http://127.0.0.1:$(MONITOR_PORT)
HTTP_TIMEOUT=60 http_request POST "$monitor/api/upgrade" "$body"
detail() { "$HEYKEN_PYTHON" -c 'import json,sys; d=json.load(sys.stdin); print(d.get("detail") or d.get("error") or d)' <<<"$HTTP_BODY" 2>/dev/null || echo "$HTTP_BODY"; }
case $HTTP_STATUS in
  202) ;;
  400 | 409 | 503) err "the upgrade to $what was refused ($HTTP_STATUS): $(detail)"; exit 1 ;;
  401 | 403) die "the cores refused the API token ($HTTP_STATUS): the token in $HEYKEN_ENV_FILE is not the one the running cores use." ;;
  000) die "the System Monitor ($monitor) did not answer: is Heyken running? Check ./scripts/status.sh." ;;
  *) die "unexpected answer $HTTP_STATUS to POST $monitor/api/upgrade: $HTTP_BODY" ;;
esac
id=$("$HEYKEN_PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["id"])' <<<"$HTTP_BODY")
ok "Upgrade $id to $what started. Steps: curl -s $monitor/api/upgrade"
((follow)) || exit 0

# Follow: the monitor port moves with the active core during the hand-over; the inspection ports answer too.
end=$(($(date +%s) + timeout))
seen=''
while :; do
  json=''
  for port in "$(MONITOR_PORT)" "$(inspection_port "$(MONITOR_PORT)" 1)" "$(inspection_port "$(MONITOR_PORT)" 2)"; do
    if json=$(http_get "http://127.0.0.1:$port/api/upgrade" 3) && [[ -n $json ]]; then break; fi
    json=''
  done
  if [[ -n $json ]]; then
    report=$(UPGRADE_JSON=$json "$HEYKEN_PYTHON" - "$id" "$seen" <<'PY'
import json, os, sys
upgrade_id, seen = sys.argv[1], set(filter(None, sys.argv[2].split("|")))
d = json.loads(os.environ["UPGRADE_JSON"])
u = d.get("upgrade") or {}
if u.get("id") != upgrade_id:
    print("STATE\trunning"); sys.exit(0)
for s in u.get("steps", []):
    key = "%s:%s:%s" % (s["name"], s["state"], s["started_at"])
    if key in seen:
        continue
    line = "%-16s %-8s %s" % (s["name"] + (" (core %s)" % s["core"] if s.get("core") else ""), s["state"],
                              s.get("detail") or s.get("reason") or "")
    print("LINE\t" + line.replace("\n", " "))
    print("SEEN\t" + key)
print("STATE\t" + u.get("state", "running") + "\t" + (u.get("reason") or "") + "\t" + (u.get("to_version") or ""))
PY
)
    state=running
    while IFS=$'\t' read -r kind a b c; do
      case $kind in
        LINE) info "  $a" ;;
        SEEN) seen="$seen|$a" ;;
        STATE) state=$a; reason=$b; version=$c ;;
      esac
    done <<<"$report"
    case $state in
      committed) ok "Upgrade $id committed: both cores run $version."; exit 0 ;;
      rolled_back) err "Upgrade $id rolled back: $reason"; exit 1 ;;
      failed) err "Upgrade $id failed: $reason"; exit 1 ;;
    esac
  fi
  (($(date +%s) < end)) || die "the upgrade $id did not end within ${timeout}s; it goes on: curl -s $monitor/api/upgrade"
  sleep 1
done
