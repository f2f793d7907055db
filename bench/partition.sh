#!/usr/bin/env bash
# Usage: bench/partition.sh [--rounds N] [--slow-minutes N] [--flap-seconds N] [--faults LIST] [--no-build]
#
# Network partition benchmark (needs root, iproute2, iptables, python3). Makes its own test hosts with
# scripts/partition_hosts.sh (the store, core-1 and core-2 in network namespaces of their own, on a subnet that
# exists only inside them: no traffic leaves them, a running Heyken is not disturbed) and runs, while a writer
# registers components and starts feature test runs through the documented ports:
#   - N rounds of each fault: the cores cut from each other; the active core cut from store and peer; the active
#     core cut from the store only; a one-way cut (the standby does not hear the active core);
#   - a link between the cores that flaps every 3 s (--flap-seconds, default 120);
#   - a slow link between the cores, 300 ms each way through the delay proxy (--slow-minutes, default 10).
# Per fault it prints: seconds until exactly one core is active and the documented ports answer (median, max),
# activations, stale-epoch writes refused and accepted (target 0), acknowledged writes lost (target 0), samples
# with two active cores (target 0), seconds until one cluster again after the heal; the slow link's failovers
# (target 0). The history checker reads the journal after every fault. Everything is removed at the end.
#
#   --rounds N         rounds per fault (default 5)
#   --slow-minutes N   length of the slow-link run (default 10)
#   --flap-seconds N   length of the flapping run (default 120)
#   --faults LIST      only these, comma-separated: cores,store-and-peer,store-only,one-way,flap,slow (default all)
#   --no-build         use the jar and the compiled test classes as they are
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=scripts/lib/common.sh
source "$ROOT/scripts/lib/common.sh"
# shellcheck source=bench/lib/installation.sh
source "$ROOT/bench/lib/installation.sh"

rounds=5
slow=10
flap=120
build=1
faults=cores,store-and-peer,store-only,one-way,flap,slow
while (($#)); do
  case $1 in
    -h | --help) print_help "$0"; exit 0 ;;
    --rounds) rounds=$(positive_arg --rounds "${2:-}"); shift ;;
    --slow-minutes) slow=$(positive_arg --slow-minutes "${2:-}"); shift ;;
    --flap-seconds) flap=$(positive_arg --flap-seconds "${2:-}"); shift ;;
    --faults) [[ ${2:-} =~ ^(cores|store-and-peer|store-only|one-way|flap|slow)(,(cores|store-and-peer|store-only|one-way|flap|slow))*$ ]] \
        || die "--faults needs a comma-separated list of cores,store-and-peer,store-only,one-way,flap,slow"
      faults=$2; shift ;;
    --no-build) build=0 ;;
    *) usage_error "unknown argument: $1" ;;
  esac
  shift
done
((EUID == 0)) || die "the partition benchmark needs root (network namespaces); run it as root"
require_java
bench_java_classes "$build"
info "== faults $faults: $rounds rounds each, ${flap} s of flapping, ${slow} min of slow link (this takes a while)"
java -Xmx512m -Dbench.rounds="$rounds" -Dbench.faults="$faults" -Dbench.slow-minutes="$slow" -Dbench.flap-seconds="$flap" \
  -cp "$BENCH_CLASSPATH" heyken.cores.bench.PartitionBench "$BENCH_JAR" "$ROOT" 2>&1 | grep -v --line-buffered " INFO "
