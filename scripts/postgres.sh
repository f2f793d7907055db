#!/usr/bin/env bash
# Usage: scripts/postgres.sh --install | start | stop | status | run
#
# The embedded log store of an installation: a PostgreSQL server "heyken-pg" for the log lines, the access log,
# bot decisions and sandbox job output (the journal and the lease stay in the MongoDB store).
#   --install  installs Debian's postgresql with apt-get when its server binaries are missing (says so first)
#   start      starts heyken-pg under its supervisor (scripts/lib/supervise.sh pg: restarted at once when it
#              crashes; log data/logs/pg.log, pid data/run/pg.pid) and waits until it accepts connections.
#              On the first start it creates the cluster (initdb) in $HEYKEN_DATA_DIR/pg/ with the superuser
#              HEYKEN_POSTGRES_USER / HEYKEN_POSTGRES_PASSWORD of .env (scripts/init.sh) and the database heyken.
#   stop       fast shutdown (open sessions are ended, every commit is kept), then the supervisor exits
#   status     pid, alive, accepting connections, size of the data
#   run        (for the supervisor) prepares the data directory and runs the server in the foreground
# It listens on HEYKEN_BIND_HOST (default 127.0.0.1) port HEYKEN_POSTGRES_PORT (default 5442, not a system
# PostgreSQL's 5432), fsync on. PostgreSQL refuses to run as root: as root it runs as the system user heyken-pg
# (created with useradd --system), which owns $HEYKEN_DATA_DIR/pg/.
# When HEYKEN_POSTGRES_URL is set the cores use that external server and start/stop do nothing.
#
# Environment: HEYKEN_POSTGRES_PORT, HEYKEN_POSTGRES_USER (heyken), HEYKEN_POSTGRES_PASSWORD,
#   HEYKEN_POSTGRES_DATABASE (heyken), HEYKEN_POSTGRES_START_TIMEOUT (60 s without progress), HEYKEN_POSTGRES_BIN
#   (the directory of initdb/postgres; default the newest /usr/lib/postgresql/N/bin), HEYKEN_POSTGRES_NICE (10: the
#   server's CPU priority below the store's and the cores', which carry the control plane; 0..19).
set -euo pipefail
# shellcheck source=scripts/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

SYSTEM_USER=heyken-pg

action=${1:-}
case $action in
  -h | --help) print_help "$0"; exit 0 ;;
  --install | start | stop | status | run) ;;
  '') usage_error "an action is needed" ;;
  *) usage_error "unknown argument: $1" ;;
esac

# pg_bin: the directory of the server programs, or nothing.
pg_bin() {
  local d
  for d in ${HEYKEN_POSTGRES_BIN:-} $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k4 -rn); do
    [[ -x $d/initdb && -x $d/postgres ]] && { echo "$d"; return 0; }
  done
  if command -v pg_config >/dev/null && d=$(pg_config --bindir 2>/dev/null) && [[ -x $d/initdb && -x $d/postgres ]]; then
    echo "$d"
    return 0
  fi
  return 1
}

install_binaries() {
  local bin
  if bin=$(pg_bin); then
    ok "PostgreSQL server binaries found in $bin."
    return 0
  fi
  [[ $(id -u) == 0 ]] || die "the PostgreSQL server is not installed; run this as root to install it (apt-get install postgresql)."
  info "Installing postgresql (Debian's PostgreSQL server, apt-get) ..."
  export DEBIAN_FRONTEND=noninteractive
  if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends postgresql >/dev/null; }; then
    die "apt-get could not install postgresql (output above); check the apt sources and the network."
  fi
  bin=$(pg_bin) || die "postgresql was installed but no initdb/postgres is in /usr/lib/postgresql/*/bin."
  ok "Installed PostgreSQL ($bin)."
}

heyken_load_env
PG_DIR=$HEYKEN_DATA_DIR/pg
PG_PORT=${HEYKEN_POSTGRES_PORT:-5442}
PG_HOST=${HEYKEN_BIND_HOST:-127.0.0.1}
# the control plane first: heyken-pg holds bulk data only, so on a busy machine it yields the CPU to the store and
# the cores (a lease renewal or a status request never waits behind a log COPY); 0 gives it an equal share
PG_NICE=${HEYKEN_POSTGRES_NICE:-10}
[[ $PG_NICE =~ ^[0-9]+$ ]] && ((PG_NICE <= 19)) || die "HEYKEN_POSTGRES_NICE must be 0..19 (a nice value), not '$PG_NICE'."
PG_USER=${HEYKEN_POSTGRES_USER:-heyken}
PG_DATABASE=${HEYKEN_POSTGRES_DATABASE:-heyken}
[[ $PG_HOST == 0.0.0.0 || $PG_HOST == '*' ]] && probe_host=127.0.0.1 || probe_host=$PG_HOST

# as_owner CMD...: run CMD as the user that owns the cluster (heyken-pg when we are root).
as_owner() {
  if [[ $(id -u) == 0 ]]; then
    setpriv --reuid="$SYSTEM_USER" --regid="$SYSTEM_USER" --clear-groups -- "$@"
  else
    "$@"
  fi
}

ensure_system_user() {
  [[ $(id -u) == 0 ]] || return 0
  id -u "$SYSTEM_USER" >/dev/null 2>&1 && return 0
  info "Creating the system user $SYSTEM_USER (PostgreSQL refuses to run as root) ..."
  useradd --system --no-create-home --shell /usr/sbin/nologin "$SYSTEM_USER" 2>/dev/null ||
    id -u "$SYSTEM_USER" >/dev/null 2>&1 || die "useradd could not create $SYSTEM_USER."
}

# The owner must reach its data directory: every directory above it needs search (x) permission for it.
check_reachable() {
  local d
  [[ $(id -u) == 0 ]] || return 0
  as_owner test -x "$PG_DIR" && return 0
  d=$PG_DIR
  while [[ $d != / ]]; do
    d=$(dirname "$d")
    if ! as_owner test -x "$d"; then
      die "$SYSTEM_USER cannot reach $PG_DIR: $d is closed to other users. Give it search permission (chmod o+x $d), or move HEYKEN_DATA_DIR below a directory it can reach."
    fi
  done
}

pg_accepting() {
  local bin
  bin=$(pg_bin) || return 1
  "$bin/pg_isready" -q -h "$probe_host" -p "$PG_PORT" -t 2 >/dev/null 2>&1
}

# The server in the foreground (exec: the supervisor's child is the postmaster itself).
run_server() {
  local bin
  bin=$(pg_bin) || { err "the PostgreSQL server is not installed: run scripts/postgres.sh --install"; exit 2; }
  [[ -n ${HEYKEN_POSTGRES_PASSWORD:-} ]] ||
    { err "HEYKEN_POSTGRES_PASSWORD is not set: run scripts/init.sh (it adds it to $HEYKEN_ENV_FILE)"; exit 2; }
  ensure_system_user
  mkdir -p "$PG_DIR"
  [[ $(id -u) == 0 ]] && chown "$SYSTEM_USER:$SYSTEM_USER" "$PG_DIR"
  chmod 700 "$PG_DIR"
  check_reachable
  if [[ ! -s $PG_DIR/PG_VERSION ]]; then
    echo "$(now_iso) heyken-pg: creating the database cluster in $PG_DIR (initdb, superuser $PG_USER)"
    local pwfile
    pwfile=$(mktemp)
    printf '%s\n' "$HEYKEN_POSTGRES_PASSWORD" >"$pwfile"
    [[ $(id -u) == 0 ]] && chown "$SYSTEM_USER" "$pwfile"
    if ! as_owner "$bin/initdb" -D "$PG_DIR" -U "$PG_USER" -A scram-sha-256 --pwfile="$pwfile" -E UTF8 \
      --locale=C.UTF-8 >/dev/null; then
      rm -f "$pwfile"
      err "initdb failed in $PG_DIR (above); remove the directory after fixing the cause."
      exit 2
    fi
    rm -f "$pwfile"
    if [[ $PG_HOST != 127.0.0.1 && $PG_HOST != localhost ]]; then
      # the cores of another machine connect over the network (with the password)
      echo "host all all all scram-sha-256" >>"$PG_DIR/pg_hba.conf"
    fi
    cat >>"$PG_DIR/postgresql.conf" <<'EOF'

# --- Heyken (scripts/postgres.sh): port and address are given on the command line at each start
max_connections = 100
shared_buffers = 256MB
work_mem = 16MB
maintenance_work_mem = 128MB
wal_compression = on
max_wal_size = 2GB
checkpoint_timeout = 15min
log_min_messages = warning
log_line_prefix = '%m [%p] '
EOF
    echo "CREATE DATABASE $PG_DATABASE" | as_owner "$bin/postgres" --single -D "$PG_DIR" postgres >/dev/null ||
      { err "could not create the database $PG_DATABASE"; exit 2; }
    echo "$(now_iso) heyken-pg: created database $PG_DATABASE"
  fi
  # sessions only over TCP (the cores and pg_isready): no socket file whose path could be too long
  exec_cmd=(nice -n "$PG_NICE" "$bin/postgres" -D "$PG_DIR" -c "port=$PG_PORT" -c "listen_addresses=$PG_HOST" -c "unix_socket_directories=")
  if [[ $(id -u) == 0 ]]; then
    exec setpriv --reuid="$SYSTEM_USER" --regid="$SYSTEM_USER" --clear-groups -- "${exec_cmd[@]}"
  fi
  exec "${exec_cmd[@]}"
}

external() {
  if [[ -n ${HEYKEN_POSTGRES_URL:-} ]]; then
    info "HEYKEN_POSTGRES_URL is set: the cores use $(sed -E 's#(password=)[^&]*#\1***#' <<<"$HEYKEN_POSTGRES_URL"); no heyken-pg here."
    return 0
  fi
  return 1
}

start_server() {
  external && return 0
  mkdir -p "$HEYKEN_LOG_DIR" "$HEYKEN_RUN_DIR"
  if live_pid "$(supervisor_pid_file pg)" >/dev/null; then
    if pg_accepting; then
      ok "heyken-pg already runs on $PG_HOST:$PG_PORT (pid $(read_pid "$(pid_file pg)" || echo '-'))."
      return 0
    fi
  else
    pg_bin >/dev/null || die "the PostgreSQL server is not installed: run scripts/postgres.sh --install (as root)."
    [[ -n ${HEYKEN_POSTGRES_PASSWORD:-} ]] || die "HEYKEN_POSTGRES_PASSWORD is not set: run scripts/init.sh first."
    if port_open "$PG_PORT"; then
      die "port $PG_PORT (HEYKEN_POSTGRES_PORT) is taken by another program: stop it or set HEYKEN_POSTGRES_PORT in $HEYKEN_ENV_FILE."
    fi
    info "Starting heyken-pg on $PG_HOST:$PG_PORT (data in $PG_DIR) ..."
    setsid nohup "$BASH" "$HEYKEN_ROOT/scripts/lib/supervise.sh" pg </dev/null >>"$(log_file pg)" 2>&1 &
  fi
  # Wait while the server makes progress (its log grows, e.g. crash recovery of a large WAL); give up only
  # after HEYKEN_POSTGRES_START_TIMEOUT seconds without any.
  local quiet=${HEYKEN_POSTGRES_START_TIMEOUT:-60} last_size=-1 size idle_since=$SECONDS
  until pg_accepting; do
    if ! live_pid "$(supervisor_pid_file pg)" >/dev/null && ((SECONDS - idle_since > 3)); then
      tail -n 20 "$(log_file pg)" >&2 || true
      die "heyken-pg stopped while starting (log above: $(log_file pg))."
    fi
    size=$(stat -c %s "$(log_file pg)" 2>/dev/null || echo 0)
    if [[ $size != "$last_size" ]]; then
      last_size=$size
      idle_since=$SECONDS
    elif ((SECONDS - idle_since >= quiet)); then
      tail -n 20 "$(log_file pg)" >&2 || true
      die "heyken-pg does not accept connections on $probe_host:$PG_PORT and showed no progress for ${quiet}s (log above)."
    fi
    sleep 0.2
  done
  ok "heyken-pg accepts connections on $PG_HOST:$PG_PORT (pid $(read_pid "$(pid_file pg)" || echo '-'))."
}

stop_server() {
  local sup pid
  sup=$(live_pid "$(supervisor_pid_file pg)") || sup=''
  pid=$(live_pid "$(pid_file pg)") || pid=''
  if [[ -z $sup && -z $pid ]]; then
    info "heyken-pg does not run."
    return 0
  fi
  info "Stopping heyken-pg (supervisor pid ${sup:--}, server pid ${pid:--}) ..."
  if [[ -n $sup ]]; then kill -TERM "$sup" 2>/dev/null || true; else kill -INT "$pid" 2>/dev/null || true; fi
  # shellcheck disable=SC2086 # single pids or empty
  if ! wait_gone "$((${HEYKEN_STOP_TIMEOUT:-30} + 10))" $sup $pid; then
    warn "heyken-pg did not stop in time: SIGKILL (it recovers from its WAL at the next start)."
    # shellcheck disable=SC2086
    kill -KILL $sup $pid 2>/dev/null || true
  fi
  ok "heyken-pg stopped."
}

status_server() {
  external && return 0
  local pid alive=no accepting=no size=-
  pid=$(read_pid "$(pid_file pg)") || pid=-
  [[ $pid != - ]] && pid_of_this_install "$pid" && alive=yes
  pg_accepting && accepting=yes
  [[ -d $PG_DIR ]] && size=$(du -sh "$PG_DIR" 2>/dev/null | cut -f1)
  printf 'heyken-pg  pid %s  alive %s  accepting %s  %s:%s  data %s (%s)\n' "$pid" "$alive" "$accepting" "$PG_HOST" \
    "$PG_PORT" "$PG_DIR" "$size"
  [[ $accepting == yes ]]
}

case $action in
  --install) install_binaries ;;
  run) run_server ;;
  start) start_server ;;
  stop) stop_server ;;
  status) status_server ;;
esac
