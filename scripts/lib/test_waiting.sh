#!/usr/bin/env bash
# Usage: scripts/lib/test_waiting.sh
#
# Checks waited_too_long (scripts/lib/common.sh) with a fake log: a wait whose deadline has passed goes on while
# progress lines keep arriving, and gives up once none arrived for HEYKEN_START_QUIET seconds. Run by scripts/test.sh.
set -euo pipefail
# shellcheck source=scripts/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
case ${1:-} in
  -h | --help) print_help "$0"; exit 0 ;;
esac

dir=$(mktemp -d)
trap 'kill "$writer" 2>/dev/null || true; rm -rf "$dir"' EXIT
log=$dir/store.log
: >"$log"
export HEYKEN_START_QUIET=2
# the fake store: a progress line every 0.5 s for 4 s, then silence (a start that hangs)
(
  for i in 1 2 3 4 5 6 7 8; do
    echo "2026-12-06T20:00:0$i.000Z INFO  [core-?] heyken.progress - opening store: $((i * 12))% ($i MB of 8 MB)" >>"$log"
    sleep 0.5
  done
) &
writer=$!
start=$SECONDS
end=$((SECONDS + 1)) # the script's own wait is over after 1 s
gave_up=0
while :; do
  if waited_too_long "$end" "$log" >/dev/null; then
    gave_up=$((SECONDS - start))
    break
  fi
  ((SECONDS - start < 30)) || break
  sleep 0.2
done
echo
failures=0
# progress moved until ~4 s, then 2 s of silence: it must give up no earlier than 5 s and well before 30 s
if ((gave_up < 5 || gave_up > 15)); then
  err "waited_too_long gave up after ${gave_up}s; expected between 5 and 15 s (progress until 4 s, quiet 2 s)"
  failures=1
fi
msg=$(waited_for_progress)
if [[ $msg != *"opening store: 96% (8 MB of 8 MB)"* ]]; then
  err "waited_for_progress does not name the last progress line: $msg"
  failures=1
fi
# without any progress line the deadline alone decides
: >"$dir/quiet.log"
_progress_lines=-1 _progress_last=''
start=$SECONDS
end=$((SECONDS + 1))
until waited_too_long "$end" "$dir/quiet.log"; do sleep 0.2; done
if ((SECONDS - start > 5)); then
  err "a wait without progress lines went on for $((SECONDS - start)) s"
  failures=1
fi
((failures == 0)) || exit 1
ok "waited_too_long keeps waiting while progress moves and gives up after ${gave_up}s of a hanging start"
