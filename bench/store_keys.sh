#!/usr/bin/env bash
# Usage: bench/store_keys.sh [--entries N[,N...]] [--no-build]
#
# What a lookup and an insert cost in one of the store's unique indexes (every collection's _id index, the journal's
# unique index; a benchmark, not a timed test): bench/lib/UniqueIndexKeys.java fills an index of KeyValue(ObjectId)
# keys with --entries entries (default 100000; 1000000 takes some 5 minutes to fill) in a temporary MVStore file with
# the store's settings (16 keys per page, 64 MB cache), and opens it once with H2's ObjectDataType (what the store used
# before: it serialized both keys with Java serialization on every compare) and once with the store's
# UniqueIndexKeyType (same file, same order), printing microseconds and bytes allocated per lookup of a recent key
# (the hot path: a lease renewal, the journal's newest entries), per lookup of any key and per insert.
# A lookup of any key mostly reads its pages from the file, whatever the key type: ObjectDataType counts an object it
# has not written yet at 10,000 bytes, so the 64 MB cache holds few of the pages read after an open.
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
dir=$(mktemp -d "${TMPDIR:-/tmp}/heyken-store-keys.XXXXXX")
trap 'rm -rf "$dir"' EXIT
IFS=, read -r -a sizes <<<"$entries"
java -Xmx1g -cp "$jar" "$ROOT/bench/lib/UniqueIndexKeys.java" "$dir" "${sizes[@]}"
