#!/usr/bin/env bash
# Usage: scripts/lib/test_store_opts.sh
#
# Checks the JVM options supervise.sh gives each process: JAVA_OPTS to the store and the cores,
# HEYKEN_STORE_JAVA_OPTS after them to the store only. A fake `java` first on the PATH records its
# arguments and exits 0 (a deliberate stop: the supervisor exits too). Run by scripts/test.sh.
set -euo pipefail
# shellcheck source=scripts/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
case ${1:-} in
  -h | --help) print_help "$0"; exit 0 ;;
esac

dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
mkdir -p "$dir/bin"
cat >"$dir/bin/java" <<'FAKE'
#!/usr/bin/env bash
printf '%s\n' "$*" >>"$FAKE_JAVA_ARGS"
FAKE
chmod +x "$dir/bin/java"
: >"$dir/heyken-core.jar"

run() { # NAME: supervise NAME once with the fake java; prints the arguments java got
  : >"$dir/args"
  PATH=$dir/bin:$PATH FAKE_JAVA_ARGS=$dir/args HEYKEN_DATA_DIR=$dir/data HEYKEN_ENV_FILE=$dir/no.env \
    HEYKEN_JAR=$dir/heyken-core.jar HEYKEN_CDS=off JAVA_OPTS="-Xmx64m -Dheyken.check=all" \
    HEYKEN_STORE_JAVA_OPTS="-XX:+UseSerialGC -Dheyken.check=store" \
    timeout 30 "$HEYKEN_ROOT/scripts/lib/supervise.sh" "$1" || { err "supervise.sh $1 failed"; return 1; }
  cat "$dir/args"
}

failures=0
expect() { # WHAT ACTUAL EXPECTED
  if [[ $2 != "$3" ]]; then
    err "$1: java got '$2', expected '$3'"
    failures=$((failures + 1))
  fi
}
expect "the store" "$(run store)" \
  "-Xmx64m -Dheyken.check=all -XX:+UseSerialGC -Dheyken.check=store -jar $dir/heyken-core.jar store"
expect "core 1" "$(run 1)" "-Xmx64m -Dheyken.check=all -jar $dir/heyken-core.jar core --id 1"
((failures == 0)) || exit 1
ok "supervise.sh: JAVA_OPTS for every JVM, HEYKEN_STORE_JAVA_OPTS for the store only"
