#!/usr/bin/env bash
# Usage: bench/upgrade.sh [--port-shift N] [--window DURATION] [--keep]
#
# The self-upgrade benchmark. Starts a separate installation (ports shifted by N, default 30000; a
# temporary data directory and .env), derives two variant jars from the built one (bench/lib/variant_jar.py:
# another revision = a passing build; another cluster name = a core that never becomes ready), keeps a
# constant load on the documented ports (a registration on :5002 and a GET /api/status on :5021 every
# 100 ms each) and then
#   1. upgrades to the passing jar (scripts/upgrade.sh --follow): duration of each step, requests failed
#      during the whole upgrade, the longest gap (targets: 0 failed outside the hand-over, gap <= 1 s);
#   2. upgrades to the never-ready jar: seconds from the failed step to the rollback's end, i.e. both
#      cores on the old version again (target <= 10 s; the old version stays active throughout).
# Prints the figures. Needs the built jar (cores/target/heyken-core.jar), curl and python3. About 10 min.
#
#   --port-shift N     shift of every port (default 30000)
#   --window DURATION  the verification window (HEYKEN_UPGRADE_WINDOW, default 30s)
#   --keep             keep the temporary directory (logs) and print its path
set -euo pipefail
# shellcheck source=scripts/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib/common.sh"
# shellcheck source=bench/lib/installation.sh
source "$HEYKEN_ROOT/bench/lib/installation.sh"

shift_by=30000
window=30s
keep=0
while (($#)); do
  case $1 in
    -h | --help) print_help "$0"; exit 0 ;;
    --port-shift) shift_by=${2:?--port-shift needs a number}; shift ;;
    --window) window=${2:?--window needs a duration, e.g. 30s}; shift ;;
    --keep) keep=1 ;;
    *) err "unknown argument: $1"; print_help "$0" >&2; exit 64 ;;
  esac
  shift
done
jar=$HEYKEN_ROOT/cores/target/heyken-core.jar
[[ -f $jar ]] || die "no $jar: build it first (mvn -B -q -o -pl cores -am package -DskipTests)"

tmp=$(mktemp -d /tmp/heyken-bench-upgrade.XXXXXX)
chmod 755 "$tmp"
bench_shift_ports "$shift_by"
export HEYKEN_DATA_DIR=$tmp/data HEYKEN_ENV_FILE=$tmp/.env HEYKEN_UPGRADE_WINDOW=$window HEYKEN_CDS=off
export HEYKEN_UPGRADE_SMOKE=${HEYKEN_UPGRADE_SMOKE:-true}
heyken_set_paths
bench_require_free_ports
load_pids=()
cleanup() {
  for p in "${load_pids[@]}"; do kill "$p" 2>/dev/null || true; done
  "$HEYKEN_ROOT/scripts/stop.sh" >/dev/null 2>&1 || true
  if ((keep)); then info "kept $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT

# the installation runs a copy: a rebuild of cores/target meanwhile must not replace the jar under its JVMs
cp "$jar" "$tmp/heyken-core.jar"
jar=$tmp/heyken-core.jar
export HEYKEN_JAR=$jar
info "Deriving the variant jars ..."
python3 "$HEYKEN_ROOT/bench/lib/variant_jar.py" "$jar" "$tmp/v2.jar" --revision bench-v2
python3 "$HEYKEN_ROOT/bench/lib/variant_jar.py" "$jar" "$tmp/never-ready.jar" --revision bench-never-ready \
  --append-conf 'heyken.cluster.system-name = "heyken-elsewhere"'
info "Starting the bench installation (ports +$shift_by, $tmp) ..."
"$HEYKEN_ROOT/scripts/run_heyken.sh" --no-build --timeout 240 >"$tmp/run.log" 2>&1 ||
  { tail -20 "$tmp/run.log"; die "the bench installation did not start"; }
heyken_load_env
# healthy, and both cores say which version they run
until fetch_status 2 && [[ $(status_py get healthy <<<"$STATUS_JSON") == true ]] &&
  [[ -n $(status_py core 1 version <<<"$STATUS_JSON") && -n $(status_py core 2 version <<<"$STATUS_JSON") ]]; do
  sleep 1
done

monitor=http://127.0.0.1:$(MONITOR_PORT)
registry=http://127.0.0.1:$(REGISTRY_PORT)
# load: one line per request "epoch_seconds status" in a file per kind
load() { # KIND
  local n=0 code
  while :; do
    if [[ $1 == register ]]; then
      code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 -X POST "$registry/api/components" \
        -H "Authorization: Bearer $HEYKEN_API_TOKEN" -H 'Content-Type: application/json' \
        -d "{\"name\":\"bench-up-$n\",\"url\":\"http://127.0.0.1:1\",\"version\":\"1\"}" || true)
    else
      code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$monitor/api/status" || true)
    fi
    echo "$(date +%s.%N) $code" >>"$tmp/load-$1.log"
    n=$((n + 1))
    sleep 0.1
  done
}
load register &
load_pids+=($!)
load status &
load_pids+=($!)

figures() { # KIND_OF_RUN T0 T1
  python3 - "$tmp" "$2" "$3" "$1" <<'PY'
import sys, time
tmp, t0, t1, what = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
def hms(t): return time.strftime("%H:%M:%S", time.gmtime(t)) + ".%02d" % int((t % 1) * 100)
for kind in ("register", "status"):
    rows = [l.split() for l in open("%s/load-%s.log" % (tmp, kind))]
    rows = [(float(t), c) for t, c in rows if t0 <= float(t) <= t1]
    failed = [t for t, c in rows if not c.startswith("2")]
    # each run of failed requests: from the last success before it to the first success after it
    windows, cur, last_ok = [], None, t0
    for t, c in rows:
        if c.startswith("2"):
            if cur is not None:
                cur["gap"] = t - cur["last_ok"]
                windows.append(cur)
                cur = None
            last_ok = t
        else:
            if cur is None:
                cur = {"start": t, "last_ok": last_ok, "codes": {}}
            cur["codes"][c] = cur["codes"].get(c, 0) + 1
    if cur is not None:
        cur["gap"] = t1 - cur["last_ok"]
        windows.append(cur)
    gap = max([w["gap"] for w in windows], default=0.0)
    print("  %-8s %5d requests, %3d failed, longest gap %.2f s" % (kind, len(rows), len(failed), gap))
    for w in windows:
        print("             %s UTC (+%.1f s): %d failed %s, gap %.2f s" % (hms(w["start"]), w["start"] - t0,
              sum(w["codes"].values()), ",".join("%sx%d" % kv for kv in sorted(w["codes"].items())), w["gap"]))
PY
}
steps() {
  python3 - "$monitor" "$tmp" <<'PY'
import json, sys, urllib.request
from datetime import datetime
d = json.load(urllib.request.urlopen(sys.argv[1] + "/api/upgrade", timeout=5))["upgrade"]
if not d:
    print("  (no upgrade ran)"); sys.exit(0)
def ts(s): return datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()
for s in d["steps"]:
    dur = ts(s["finished_at"]) - ts(s["started_at"]) if s.get("finished_at") else float("nan")
    print("  %-16s %-7s %6.1f s  %s" % (s["name"], s["state"], dur, (s.get("detail") or s.get("reason") or "")[:90]))
print("STATE %s" % d["state"])
failed = [s for s in d["steps"] if s["state"] == "failed"]
restores = [s for s in d["steps"] if s["name"] == "restore" and s["state"] == "ok"]
if failed and restores:
    t_failed = ts(failed[0]["finished_at"])
    # the old version serving: the first registration the documented port acknowledged after the failed step
    # (the upgrade runs on the active core, which is the old version again once the restore hands back)
    ok = [float(t) for t, c in (l.split() for l in open(sys.argv[2] + "/load-register.log"))
          if float(t) >= t_failed and c.startswith("2")]
    if ok:
        print("  from the failed step to the old version serving (first registration acknowledged): %.1f s"
              % (ok[0] - t_failed))
    print("  from the failed step to both cores on the old version (restore ok): %.1f s"
          % (ts(restores[-1]["finished_at"]) - t_failed))
PY
}

run_upgrade() { # N WHAT JAR KIND
  echo
  info "$1. Upgrade to $2 ..."
  local t0 t1
  t0=$(date +%s.%N)
  "$HEYKEN_ROOT/scripts/upgrade.sh" "$3" --follow --timeout 900 >"$tmp/upgrade-$1.log" 2>&1 || true
  t1=$(date +%s.%N)
  tail -n 1 "$tmp/upgrade-$1.log"
  printf '  total %.1f s\n' "$(awk -v a="$t0" -v b="$t1" 'BEGIN{print b-a}')"
  steps | grep -v '^STATE'
  figures "$4" "$t0" "$t1"
}
run_upgrade 1 "a passing build (window $window) under load" "$tmp/v2.jar" passing
run_upgrade 2 "a build whose core never becomes ready" "$tmp/never-ready.jar" failing
fetch_status 2 && "$HEYKEN_ROOT/scripts/status.sh" | sed -n 3,6p
