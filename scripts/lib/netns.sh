# shellcheck shell=bash
# Test hosts in Linux network namespaces (sourced by scripts/partition_hosts.sh, after common.sh).
#
# One set of hosts is named NAME (a short unique prefix per run, so that parallel runs never collide):
#   NAME-sw     the switch: a bridge br0 and one veth end per host; it has no address and no route anywhere
#   NAME-store  10.231.0.10  the store (heyken-store, and PostgreSQL where the cores use it)
#   NAME-core1  10.231.0.11  core-1
#   NAME-core2  10.231.0.12  core-2
#   NAME-link   10.231.0.20  the delay proxy that carries all core-to-core (cluster) traffic
#   NAME-test   10.231.0.30  the test's own client: the gateway the test process reaches through a Unix socket
# The subnet exists only inside these namespaces (no veth reaches the host's namespace, no default route), so
# nothing ever leaves them. Host names (via /etc/netns/NS/hosts, which `ip netns exec` mounts over /etc/hosts):
# core1, core2 and store; on core-1 the name core2 is the delay proxy, on core-2 core1 is, so that the cores
# are configured with plain names as on two machines while their cluster traffic crosses the cuttable link.
# Every iptables rule goes into one of these namespaces: netns_iptables refuses to run without one.

NETNS_SUBNET_PREFIX=10.231.0
NETNS_STATE_ROOT=${HEYKEN_NETNS_STATE:-/run/heyken-netns}
NETNS_HOSTS=(store core1 core2 link test)

netns_addr() {
  case $1 in
    store) echo "$NETNS_SUBNET_PREFIX.10" ;;
    core1) echo "$NETNS_SUBNET_PREFIX.11" ;;
    core2) echo "$NETNS_SUBNET_PREFIX.12" ;;
    link) echo "$NETNS_SUBNET_PREFIX.20" ;;
    test) echo "$NETNS_SUBNET_PREFIX.30" ;;
    *) return 1 ;;
  esac
}

netns_check_name() {
  [[ ${1:-} =~ ^[a-z][a-z0-9]{1,15}$ ]] || die "a test-hosts name is 2-16 characters of a-z and 0-9 starting with a letter, got '${1:-}'"
}

netns_ns() { echo "$1-$2"; }
netns_state_dir() { echo "$NETNS_STATE_ROOT/$1"; }
netns_exists() { [[ -e /run/netns/$1 ]]; }

# netns_require: root, iproute2, iptables and python3, or die saying what is missing.
netns_require() {
  ((EUID == 0)) || die "the test hosts need root (network namespaces, veth pairs, iptables inside them); run as root"
  command -v ip >/dev/null || die "iproute2 is missing: apt-get install iproute2"
  command -v iptables >/dev/null || die "iptables is missing: apt-get install iptables"
  command -v python3 >/dev/null || die "python3 is missing (the delay proxy and the gateway): apt-get install python3"
  ip netns list >/dev/null 2>&1 || die "this kernel or container does not allow network namespaces (ip netns list failed)"
}

# netns_iptables NS ARGS...: iptables inside NS (never the host's own namespace).
netns_iptables() {
  local ns=$1
  shift
  [[ -n $ns ]] && netns_exists "$ns" || die "netns_iptables: no such test namespace '$ns' (refusing to touch the host's iptables)"
  ip netns exec "$ns" iptables -w 5 "$@"
}

netns_hosts_file() {
  local name=$1 host=$2 c1 c2
  c1=$(netns_addr core1)
  c2=$(netns_addr core2)
  [[ $host == core1 ]] && c2=$(netns_addr link)
  [[ $host == core2 ]] && c1=$(netns_addr link)
  printf '127.0.0.1 localhost %s\n::1 localhost ip6-localhost\n%s store\n%s core1\n%s core2\n%s link\n%s test\n' \
    "$(hostname)" "$(netns_addr store)" "$c1" "$c2" "$(netns_addr link)" "$(netns_addr test)"
}

# netns_up NAME CORE1_PORT CORE2_PORT: creates the hosts and starts the delay proxy and the gateway. Idempotent
# only in the sense that an existing set of that name is torn down first.
netns_up() {
  local name=$1 p1=$2 p2=$3 sw host ns state
  netns_check_name "$name"
  netns_require
  netns_down "$name" >/dev/null 2>&1 || true
  state=$(netns_state_dir "$name")
  mkdir -p "$state"
  sw=$(netns_ns "$name" sw)
  ip netns add "$sw"
  ip -n "$sw" link set lo up
  ip -n "$sw" link add br0 type bridge
  ip -n "$sw" link set br0 up
  for host in "${NETNS_HOSTS[@]}"; do
    ns=$(netns_ns "$name" "$host")
    ip netns add "$ns"
    ip -n "$ns" link set lo up
    ip -n "$sw" link add "v-$host" type veth peer name eth0 netns "$ns"
    ip -n "$sw" link set "v-$host" master br0 up
    ip -n "$ns" addr add "$(netns_addr "$host")/24" dev eth0
    ip -n "$ns" link set eth0 up
    mkdir -p "/etc/netns/$ns"
    netns_hosts_file "$name" "$host" >"/etc/netns/$ns/hosts"
    printf '# no DNS inside the heyken test hosts\noptions timeout:1 attempts:1\n' >"/etc/netns/$ns/resolv.conf"
  done
  echo 0 >"$state/delay_ms"
  # the relays run detached, their output in the state directory
  local py=$HEYKEN_ROOT/scripts/lib/netns_relay.py
  ip netns exec "$(netns_ns "$name" link)" setsid python3 "$py" delay-proxy --delay-file "$state/delay_ms" \
    "$(netns_addr link):$p1=$(netns_addr core1):$p1" "$(netns_addr link):$p2=$(netns_addr core2):$p2" \
    >>"$state/delay-proxy.log" 2>&1 </dev/null &
  echo $! >"$state/delay-proxy.pid"
  ip netns exec "$(netns_ns "$name" test)" setsid python3 "$py" gateway "$state/gateway.sock" \
    >>"$state/gateway.log" 2>&1 </dev/null &
  echo $! >"$state/gateway.pid"
  local i
  for ((i = 0; i < 100; i++)); do
    [[ -S $state/gateway.sock && $(grep -c "delay proxy" "$state/delay-proxy.log" 2>/dev/null) == 2 ]] && break
    sleep 0.05
  done
  [[ -S $state/gateway.sock ]] || die "the gateway did not start: $(cat "$state/gateway.log")"
  grep -q "delay proxy" "$state/delay-proxy.log" || die "the delay proxy did not start: $(cat "$state/delay-proxy.log")"
  # check the wiring: the test host and both cores reach the delay proxy across the bridge (no ping here)
  for host in test core1 core2; do
    ip netns exec "$(netns_ns "$name" "$host")" timeout 3 bash -c "exec 3<>/dev/tcp/$(netns_addr link)/$p1" 2>/dev/null ||
      die "$host does not reach the link host ($(netns_addr link):$p1): the bridge in $sw is not forwarding"
  done
}

# netns_down NAME: kills every process inside the hosts, deletes the namespaces (with their veths, bridge and
# rules) and the hosts files. Safe to run again and on a half-made set.
netns_down() {
  local name=$1 host ns pids
  netns_check_name "$name"
  for host in "${NETNS_HOSTS[@]}" sw; do
    ns=$(netns_ns "$name" "$host")
    if netns_exists "$ns"; then
      pids=$(ip netns pids "$ns" 2>/dev/null || true)
      # shellcheck disable=SC2086 # a list of pids
      [[ -n $pids ]] && kill -TERM $pids 2>/dev/null || true
    fi
  done
  sleep 0.3
  for host in "${NETNS_HOSTS[@]}" sw; do
    ns=$(netns_ns "$name" "$host")
    if netns_exists "$ns"; then
      pids=$(ip netns pids "$ns" 2>/dev/null || true)
      # shellcheck disable=SC2086
      [[ -n $pids ]] && kill -KILL $pids 2>/dev/null || true
      ip netns del "$ns" 2>/dev/null || true
    fi
    rm -rf "/etc/netns/$ns"
  done
  rmdir /etc/netns 2>/dev/null || true
  rm -rf "$(netns_state_dir "$name")"
}

# netns_cut NAME A B [one-way]: A and B stop hearing each other (store, core1, core2); one-way: only B stops
# hearing A (A's packets to B are dropped; for two cores, A's cluster connections to B, so A still hears B).
netns_cut() {
  local name=$1 a=$2 b=$3 mode=${4:-both} ns port
  ns=$(netns_ns "$name" "$a")
  netns_addr "$a" >/dev/null && netns_addr "$b" >/dev/null || die "cut: hosts are store, core1 and core2, got '$a' '$b'"
  [[ $a != "$b" ]] || die "cut: a host cannot be cut from itself"
  local -a targets=("$(netns_addr "$b")")
  # the cores reach each other through the delay proxy
  [[ $a == core* && $b == core* ]] && targets+=("$(netns_addr link)")
  [[ $a == store && $b == core* ]] && { netns_cut "$name" "$b" "$a" "$mode"; return; }
  if [[ $mode == one-way ]]; then
    if [[ $a == core* && $b == core* ]]; then
      port=$(cluster_port "${b#core}")
      for t in "${targets[@]}"; do
        netns_iptables "$ns" -A OUTPUT -d "$t" -p tcp --dport "$port" -j DROP
      done
    else
      for t in "${targets[@]}"; do netns_iptables "$ns" -A OUTPUT -d "$t" -j DROP; done
    fi
    return
  fi
  for t in "${targets[@]}"; do
    netns_iptables "$ns" -A OUTPUT -d "$t" -j DROP
    netns_iptables "$ns" -A INPUT -s "$t" -j DROP
  done
}

# netns_heal NAME: removes every rule of every host (the links work again; established connections resume).
netns_heal() {
  local name=$1 host
  for host in store core1 core2; do
    netns_iptables "$(netns_ns "$name" "$host")" -F
  done
}

# netns_rules NAME: the rules in force, per host.
netns_rules() {
  local name=$1 host
  for host in store core1 core2; do
    echo "$host ($(netns_addr "$host")):"
    netns_iptables "$(netns_ns "$name" "$host")" -S | grep -v '^-P' | sed 's/^/  /' || echo "  (no rules)"
  done
  echo "core1<->core2 delay: $(cat "$(netns_state_dir "$name")/delay_ms" 2>/dev/null || echo 0) ms"
}
