# shellcheck shell=bash
# Sourced by the benchmarks, after scripts/lib/common.sh: each runs a separate installation on shifted ports,
# so that a running Heyken is not disturbed.

# bench_shift_ports SHIFT: exports every port of the bench installation as its default + SHIFT.
bench_shift_ports() {
  local shift=$1
  export HEYKEN_STORE_PORT=$((27017 + shift)) HEYKEN_POSTGRES_PORT=$((5442 + shift))
  # a shift that pushes the store's port past 65535 wraps it to just above 1024 (run_heyken.sh refuses a port out
  # of range)
  ((HEYKEN_STORE_PORT <= 65535)) || export HEYKEN_STORE_PORT=$((HEYKEN_STORE_PORT - 65535 + 1024))
  export HEYKEN_CORE1_PORT=$((2551 + shift)) HEYKEN_CORE2_PORT=$((2552 + shift))
  export HEYKEN_CORE1_MANAGEMENT_PORT=$((7626 + shift)) HEYKEN_CORE2_MANAGEMENT_PORT=$((7627 + shift))
  export HEYKEN_REGISTRY_PORT=$((5002 + shift)) HEYKEN_SANDBOX_PORT=$((5010 + shift))
  export HEYKEN_LOGGER_PORT=$((5020 + shift)) HEYKEN_MONITOR_PORT=$((5021 + shift))
  export HEYKEN_INSPECTION_PORT_OFFSET=100
}

# bench_require_free_ports: dies when a port of the bench installation is taken (the store's only when it is the
# embedded one, i.e. HEYKEN_MONGO_URI is unset).
bench_require_free_ports() {
  local ports=("$HEYKEN_CORE1_PORT" "$HEYKEN_CORE2_PORT" "$HEYKEN_CORE1_MANAGEMENT_PORT" "$HEYKEN_CORE2_MANAGEMENT_PORT")
  local base p
  for base in "$HEYKEN_REGISTRY_PORT" "$HEYKEN_SANDBOX_PORT" "$HEYKEN_LOGGER_PORT" "$HEYKEN_MONITOR_PORT"; do
    ports+=("$base" "$(inspection_port "$base" 1)" "$(inspection_port "$base" 2)")
  done
  [[ -z ${HEYKEN_MONGO_URI:-} ]] && ports+=("$HEYKEN_STORE_PORT")
  [[ -z ${HEYKEN_POSTGRES_URL:-} ]] && ports+=("$HEYKEN_POSTGRES_PORT")
  for p in "${ports[@]}"; do
    port_open "$p" && die "port $p is already in use: is another benchmark running? Choose other ports with --port-shift."
    # a port in the kernel's ephemeral range may be held as the local end of another program's outgoing connection
    # (no listener, so the check above passes, but the core's bind then fails for as long as that connection lasts)
    if command -v ss >/dev/null && [[ -n $(ss -Htn state established "( sport = :$p )" 2>/dev/null) ]]; then
      die "port $p is the local end of another program's connection (ss -tn state established 'sport = :$p'): choose other ports with --port-shift (below $(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768) no connection takes them)."
    fi
  done
  return 0
}

# bench_new_dir NAME [MODE]: a new $BENCH_DIR (/tmp/NAME.XXXXXX, then chmod MODE: 711 or o+x when another user, the
# sandbox's uid 65534 or heyken-pg, must pass through it) for the bench installation's data directory and .env
# (HEYKEN_DATA_DIR and HEYKEN_ENV_FILE exported, the paths of common.sh set).
bench_new_dir() {
  BENCH_DIR=$(mktemp -d "/tmp/$1.XXXXXX")
  [[ -z ${2:-} ]] || chmod "$2" "$BENCH_DIR"
  export HEYKEN_DATA_DIR=$BENCH_DIR/data HEYKEN_ENV_FILE=$BENCH_DIR/.env
  heyken_set_paths
}

# bench_start_installation WHAT RUN_HEYKEN_ARGS...: init.sh and run_heyken.sh for the bench installation in
# $BENCH_DIR (HEYKEN_DATA_DIR and HEYKEN_ENV_FILE set by the caller); dies with run_heyken.sh's output on failure.
bench_start_installation() {
  local what=$1
  shift
  "$ROOT/scripts/init.sh" >/dev/null
  heyken_load_env
  info "Starting the $what installation in $BENCH_DIR (monitor port $HEYKEN_MONITOR_PORT) ..."
  if ! "$ROOT/scripts/run_heyken.sh" "$@" >"$BENCH_DIR/run.out" 2>&1; then
    cat "$BENCH_DIR/run.out" >&2
    die "the $what installation did not start."
  fi
}

# bench_stop_installation WHAT RC KEEP [KEPT]: stops the bench installation, keeps $BENCH_DIR when KEEP is 1 (and
# says where, and what is in it: KEPT, default "logs in data/logs/"), removes it otherwise, also after a failure (RC
# not 0: the logs' last lines are printed first); prints the exit status to use (RC, or 1 when stopping failed). Its
# messages go to stderr. In an EXIT trap:
#   exit "$(bench_stop_installation soak "$rc" "$keep")"
bench_stop_installation() {
  local what=$1 rc=$2 keep=$3 kept=${4:-logs in data/logs/}
  echo >&2
  info "Stopping the $what installation ..." >&2
  "$ROOT/scripts/stop.sh" >"$BENCH_DIR/stop.out" 2>&1 || { cat "$BENCH_DIR/stop.out" >&2; rc=1; }
  bench_remove_dir "$BENCH_DIR" "$rc" "$keep" "$kept" >&2
  echo "$rc"
}

# bench_remove_dir DIR RC KEEP KEPT: keeps DIR when KEEP is 1 (says so, with KEPT: what is in it); otherwise removes
# it, after printing the last lines of its logs (DIR/**/logs/*.log) when RC is not 0, so a failure leaves nothing.
bench_remove_dir() {
  local dir=$1 rc=$2 keep=$3 kept=$4 f
  if ((keep)); then
    info "Kept $dir ($kept); remove it with: rm -rf $dir"
    return
  fi
  if ((rc != 0)); then
    while IFS= read -r f; do
      err "last lines of ${f#"$dir"/}:"
      tail -n 20 "$f" || true
    done < <(find "$dir" -path '*/logs/*.log' -type f 2>/dev/null | sort)
    info "Removing $dir; rerun with --keep to keep it ($kept)."
  fi
  rm -rf "$dir"
}

# bench_await_active URL: waits (120 s at most) until URL/api/status names an active core; sets BENCH_STATUS (that
# answer) and BENCH_EPOCH0 (its epoch).
bench_await_active() {
  local deadline=$((SECONDS + 120))
  until BENCH_STATUS=$(http_get "$1/api/status" 2) && [[ -n $(json_number active_core <<<"$BENCH_STATUS") ]]; do
    ((SECONDS < deadline)) || die "no active core on $1 within 120 s"
    sleep 0.5
  done
  BENCH_EPOCH0=$(json_number epoch <<<"$BENCH_STATUS")
}

# bench_lease_losses: how many times the cores' logs say a lease was lost so far
bench_lease_losses() { cat "$HEYKEN_LOG_DIR"/core-*.log | grep -c 'Lease \[.*\] lost by' || true; }

# bench_stop_on_exit WHAT [HOOK]: on exit (also on a failure, INT and TERM) runs the function HOOK if given (the
# benchmark's own load to stop), then bench_stop_installation WHAT with the exit status and $keep; the script exits
# with what it returns.
bench_stop_on_exit() {
  BENCH_WHAT=$1 BENCH_EXIT_HOOK=${2:-}
  trap bench_exit EXIT
  trap 'exit 130' INT TERM
}
bench_exit() {
  local rc=$?
  trap - EXIT INT TERM
  [[ -z $BENCH_EXIT_HOOK ]] || "$BENCH_EXIT_HOOK" || true
  exit "$(bench_stop_installation "$BENCH_WHAT" "$rc" "${keep:-0}")"
}

# bench_java_classes BUILD: with BUILD=1 builds the jar and the test classes (mvn -o -q -DskipTests package) from the
# repository root; then checks they exist and sets BENCH_JAR and BENCH_CLASSPATH (the jar's libraries, the testkit and
# the cores' test classes: where the Java benchmarks live).
bench_java_classes() {
  cd "$HEYKEN_ROOT"
  if (($1)); then
    info "building the jar and the test classes (mvn -o -q -DskipTests package) ..."
    mvn -o -B -q -DskipTests package
  fi
  BENCH_JAR=$HEYKEN_ROOT/cores/target/heyken-core.jar
  [[ -f $BENCH_JAR && -d $HEYKEN_ROOT/cores/target/test-classes && -d $HEYKEN_ROOT/testkit/target/classes ]] ||
    die "the jar or the compiled test classes are missing: run without --no-build"
  BENCH_CLASSPATH=$BENCH_JAR:$HEYKEN_ROOT/testkit/target/classes:$HEYKEN_ROOT/cores/target/test-classes
  export BENCH_JAR BENCH_CLASSPATH
}
