#!/usr/bin/env bash
# Usage: scripts/partition_hosts.sh [--name NAME] COMMAND [ARGS]
#
# Test hosts for network partitions: the store, core-1 and core-2 each in its own Linux network namespace with
# its own address (10.231.0.10 store, .11 core1, .12 core2), joined by veth pairs and a bridge that lives in a
# namespace of its own, plus a delay proxy (.20) in the path of the core-to-core traffic and a test client (.30)
# that a process in the host's namespace reaches through a Unix socket. The subnet exists only inside these
# namespaces: no traffic leaves them, and no rule is ever added to the host's own iptables. Needs root,
# iproute2, iptables and python3. The integration tests (heyken.testkit.netns.TestHosts) use this script.
#
# Commands:
#   up                 create the hosts (an existing set of the same name is removed first); prints key=value
#   down               kill what runs inside, delete namespaces, links, rules and hosts files (idempotent)
#   cut A B [--one-way]
#                      A and B (store, core1, core2) stop hearing each other; --one-way: only B stops hearing A
#                      (A's packets to B are dropped; between the cores: A's cluster connections to B)
#   heal               remove every cut
#   delay MS           hold every core-to-core chunk MS milliseconds, each way (0: no delay)
#   rules              the cuts and the delay in force
#   exec HOST CMD...   run CMD on HOST (store, core1, core2, link, test), e.g. exec test curl -s core1:5121/api/status
#   list               the sets of test hosts that exist
#
#   --name NAME        which set (default: $HEYKEN_NETNS_NAME, else "heyken"); 2-16 of a-z0-9
# The cluster ports (proxied between the cores) are HEYKEN_CORE1_PORT / HEYKEN_CORE2_PORT (2551 / 2552).
set -euo pipefail
# shellcheck source=scripts/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
# shellcheck source=scripts/lib/netns.sh
source "$HEYKEN_ROOT/scripts/lib/netns.sh"

name=${HEYKEN_NETNS_NAME:-heyken}
while (($#)); do
  case $1 in
    -h | --help) print_help "$0"; exit 0 ;;
    --name) [[ -n ${2:-} ]] || die "--name needs a value"; name=$2; shift 2 ;;
    *) break ;;
  esac
done
(($#)) || usage_error
netns_check_name "$name"
command=$1
shift

need_up() { netns_exists "$(netns_ns "$name" sw)" || die "no test hosts named '$name': run '$0 --name $name up' first"; }

case $command in
  up)
    netns_up "$name" "$(cluster_port 1)" "$(cluster_port 2)"
    state=$(netns_state_dir "$name")
    echo "name=$name"
    for h in store core1 core2 link test; do echo "$h.ns=$(netns_ns "$name" "$h")"; echo "$h.address=$(netns_addr "$h")"; done
    echo "gateway=$state/gateway.sock"
    echo "delay_file=$state/delay_ms"
    ;;
  down) netns_down "$name"; ok "test hosts '$name' removed" ;;
  cut)
    need_up
    [[ $# -ge 2 ]] || die "usage: cut A B [--one-way]"
    mode=both
    [[ ${3:-} == --one-way ]] && mode=one-way
    netns_cut "$name" "$1" "$2" "$mode"
    ;;
  heal) need_up; netns_heal "$name" ;;
  delay)
    need_up
    [[ ${1:-} =~ ^[0-9]+$ ]] || die "usage: delay MS"
    echo "$1" >"$(netns_state_dir "$name")/delay_ms"
    ;;
  rules) need_up; netns_rules "$name" ;;
  exec)
    need_up
    [[ $# -ge 2 ]] || die "usage: exec HOST CMD..."
    netns_addr "$1" >/dev/null || die "exec: hosts are store, core1, core2, link, test"
    ns=$(netns_ns "$name" "$1")
    shift
    exec ip netns exec "$ns" "$@"
    ;;
  list) ip netns list | sed -n 's/^\([a-z0-9]*\)-sw\b.*/\1/p' ;;
  *) usage_error "unknown command: $command" ;;
esac
