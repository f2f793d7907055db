#!/usr/bin/env bash
# Usage: bench/store_types.sh [--entries N[,N...]] [--no-build]
#
# What the store's data types cost against H2's ObjectDataType, which every version before used for every map (a
# benchmark, not a timed test; bench/lib/StoreTypes.java says exactly what it runs). ObjectDataType stores
# mongo-java-server's documents and index keys with Java serialization, through a new ObjectOutputStream per object,
# and orders a unique index's keys (KeyValue, not Comparable) by serializing both at every compare. The store now
# keys a unique index with UniqueIndexKeyType (the same order, each key serialized once per lookup) and writes
# documents and index values with StoreObjectType (the same bytes, through one reused stream per thread), so the
# files are the same either way.
#
# With the store's settings (16 keys per page, 64 MB cache), it prints per operation the time and the bytes
# allocated of: a lookup of a recent key (the hot path: a lease renewal, the journal's newest entries), a lookup of
# any key and an insert in a unique index of --entries entries (default 100000; 1000000 takes some 5 minutes to
# fill), and a journal document written with a commit every 50. A lookup of any key mostly reads its pages from the
# file whatever the type: 100,000 keys and values, counted in the cache at twice their serialized size, do not fit
# in 64 MB.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=scripts/lib/common.sh
source "$ROOT/scripts/lib/common.sh"

entries=100000
build=1
while (($#)); do
  case $1 in
    -h | --help) print_help "$0"; exit 0 ;;
    --entries) [[ ${2:-} =~ ^[0-9]+(,[0-9]+)*$ ]] || usage_error "--entries takes N[,N...], not '${2:-}'"
      entries=$2; shift ;;
    --no-build) build=0 ;;
    *) usage_error "unknown argument: $1" ;;
  esac
  shift
done

jar="$ROOT/cores/target/heyken-core.jar"
if ((build)) || [[ ! -f $jar ]]; then
  (cd "$ROOT" && mvn -B -ntp -q -DskipTests package) || die "the build failed: see the Maven output above."
fi
dir=$(mktemp -d "${TMPDIR:-/tmp}/heyken-store-types.XXXXXX")
trap 'rm -rf "$dir"' EXIT
IFS=, read -r -a sizes <<<"$entries"
java -Xmx1g -cp "$jar" "$ROOT/bench/lib/StoreTypes.java" "$dir" "${sizes[@]}"
