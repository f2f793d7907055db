#!/usr/bin/env bash
# Usage: scripts/audit.sh [--since T] [--until T] [--entity E] [--type T] [--feature ID] [--jsonl] [--limit N]
#
# The audit from the command line: Heyken's journal events (features, test runs, core activations,
# deployments, registrations) replayed from MongoDB, oldest first, as a table or as JSON lines.
# It asks GET /api/audit on the Logger API port (5020), else core-1's and core-2's inspection ports,
# and follows the pages until the end (or --limit entries).
#
#   --since T, --until T   ISO-8601 (2026-11-29T10:00:00Z, 2026-11-29) or relative (-30m, -1h, -2d)
#   --entity E             a kind (feature, run, core-manager, catalog, registry) or kind:id (feature:3)
#   --type T               an event name (Deployed, CoreActivated, TestRunFinished, ...)
#   --feature ID           the full history of one feature (its runs and deployments included)
#   --jsonl                one JSON object per line (for export) instead of the table
#   --limit N              at most N entries (default: all)
set -euo pipefail
# shellcheck source=scripts/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

query=()
feature=''
jsonl=0
limit=0
while (($#)); do
  case $1 in
    -h | --help) print_help "$0"; exit 0 ;;
    --since | --until | --entity | --type)
      [[ $# -ge 2 ]] || die "$1 needs a value (see --help)"
      query+=("${1#--}=$2")
      shift
      ;;
    --feature) [[ ${2:-} =~ ^[1-9][0-9]*$ ]] || die "--feature needs a feature id (a number)"; feature=$2; shift ;;
    --jsonl) jsonl=1 ;;
    --limit) limit=$(positive_arg --limit "${2:-}"); shift ;;
    *) usage_error "unknown argument: $1" ;;
  esac
  shift
done
heyken_load_env

# the documented port first, then whichever core answers on its inspection port
bases=("http://127.0.0.1:$(LOGGER_PORT)")
for id in 1 2; do bases+=("http://127.0.0.1:$(inspection_port "$(LOGGER_PORT)" "$id")"); done

get() {
  local path=$1 base
  for base in "${bases[@]}"; do
    HTTP_TIMEOUT=30 http_request GET "$base$path"
    [[ $HTTP_STATUS == 000 ]] && continue
    if [[ $HTTP_STATUS != 200 ]]; then
      die "GET $base$path answered $HTTP_STATUS: $HTTP_BODY"
    fi
    printf '%s' "$HTTP_BODY"
    return 0
  done
  die "no core answers on the Logger API ports (${bases[*]}): is Heyken running? (./scripts/status.sh)"
}

urlencode() { "$HEYKEN_PYTHON" -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$1"; }

tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
if [[ -n $feature ]]; then
  get "/api/audit/features/$feature" | "$HEYKEN_PYTHON" -c 'import json,sys; [print(json.dumps(e)) for e in json.load(sys.stdin)["entries"]]' >"$tmp"
else
  params=''
  for q in "${query[@]}"; do params+="&${q%%=*}=$(urlencode "${q#*=}")"; done
  cursor=''
  while :; do
    page=$(get "/api/audit?limit=1000${params}${cursor:+&cursor=$cursor}")
    cursor=$("$HEYKEN_PYTHON" -c '
import json, sys
page = json.loads(sys.argv[1])
with open(sys.argv[2], "a") as out:
    for e in page["entries"]:
        out.write(json.dumps(e) + "\n")
print(page.get("next") or "")' "$page" "$tmp")
    [[ -z $cursor ]] && break
    ((limit > 0)) && (($(wc -l <"$tmp") >= limit)) && break
  done
fi
((limit > 0)) && { head -n "$limit" "$tmp" >"$tmp.cut"; mv "$tmp.cut" "$tmp"; }

if ((jsonl)); then
  cat "$tmp"
  exit 0
fi
"$HEYKEN_PYTHON" - "$tmp" <<'PY'
import json, sys
rows = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
if not rows:
    print("no events match")
    sys.exit(0)
def summary(e):
    ev = dict(e.get("event") or {})
    for k in ("at", "requestedBy", "core", "epoch"):
        ev.pop(k, None)
    text = ", ".join(f"{k}={v}" for k, v in ev.items() if not isinstance(v, (dict, list)))
    return text[:70] + ("…" if len(text) > 70 else "")
print(f"{'time (UTC)':<24} {'entity':<16} {'event':<20} {'core':>4} {'epoch':>5} {'by':<10} details")
for e in rows:
    print(f"{e['at'][:23]:<24} {e['entity'][:16]:<16} {e['type'][:20]:<20} {str(e.get('core') or ''):>4} "
          f"{str(e.get('epoch') or ''):>5} {str(e.get('requested_by') or '')[:10]:<10} {summary(e)}")
print(f"{len(rows)} events")
PY
