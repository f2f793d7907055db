# shellcheck shell=bash
# Sourced by the benchmarks, after scripts/lib/common.sh: each runs a separate installation on shifted ports,
# so that a running Heyken is not disturbed.

# bench_shift_ports SHIFT: exports every port of the bench installation as its default + SHIFT.
bench_shift_ports() {
  local shift=$1
  export HEYKEN_STORE_PORT=$((27017 + shift)) HEYKEN_POSTGRES_PORT=$((5442 + shift))
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
  done
  return 0
}
