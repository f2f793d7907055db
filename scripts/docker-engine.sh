#!/usr/bin/env bash
# Usage: scripts/docker-engine.sh [--stop]
#
# Starts a Docker engine for Heyken's sandboxes and dynamic services on a machine without systemd
# (needs root), and builds the local sandbox image `sandbox/busybox:1` (no registry is reachable:
# FROM scratch + /bin/busybox from busybox-static). Installs docker.io and busybox-static with
# apt-get when they are missing. The engine runs without touching the host's network:
#   dockerd --iptables=false --ip-masq=false --bridge=none
# Not started by run_heyken.sh: without an engine the sandboxes use bubblewrap and the System
# Monitor shows the Docker engine as "down". Run this once, then (re)start Heyken.
#
#   --stop   stop the engine this script started (and its containerd)
#
# Environment: DOCKER_SOCK (default /var/run/docker.sock), DOCKERD_LOG (default /tmp/dockerd.log).
set -euo pipefail

SOCK=${DOCKER_SOCK:-/var/run/docker.sock}
LOG=${DOCKERD_LOG:-/tmp/dockerd.log}
PIDFILE=/var/run/docker-heyken.pid
case ${1:-} in
  -h | --help) awk 'NR == 1 { next } /^#/ { sub(/^# ?/, ""); print; next } { exit }' "$0"; exit 0 ;;
  --stop)
    pid=$(cat "$PIDFILE" 2>/dev/null || true)
    if [[ -n $pid ]] && kill "$pid" 2>/dev/null; then
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
      echo "Docker engine stopped."
    else
      echo "No Docker engine started by this script runs."
    fi
    exit 0
    ;;
  '') ;;
  *) echo "unknown argument: $1 (see --help)" >&2; exit 64 ;;
esac

docker_() { docker -H "unix://$SOCK" "$@"; }
export DEBIAN_FRONTEND=noninteractive
if ! command -v dockerd >/dev/null || [[ ! -x /bin/busybox ]]; then
  [[ $(id -u) == 0 ]] || { echo "error: docker.io and busybox-static are missing; run this as root to install them." >&2; exit 1; }
  echo "Installing docker.io and busybox-static (apt-get) ..."
  apt-get update -qq && apt-get install -y -qq --no-install-recommends docker.io busybox-static >/dev/null
fi
if docker_ version >/dev/null 2>&1; then
  echo "A Docker engine already answers on $SOCK."
else
  [[ $(id -u) == 0 ]] || { echo "error: starting dockerd needs root." >&2; exit 1; }
  echo "Starting dockerd (log: $LOG) ..."
  # No systemd here: start it directly (it spawns containerd).
  nohup dockerd --iptables=false --ip-masq=false --bridge=none -H "unix://$SOCK" \
    --pidfile "$PIDFILE" >"$LOG" 2>&1 &
  for _ in $(seq 1 120); do docker_ version >/dev/null 2>&1 && break; sleep 0.25; done
  if ! docker_ version >/dev/null 2>&1; then
    tail -n 50 "$LOG" >&2
    echo "error: dockerd did not answer on $SOCK within 30 s (log above: $LOG)." >&2
    exit 1
  fi
fi
if ! docker_ image inspect sandbox/busybox:1 >/dev/null 2>&1; then
  echo "Building the sandbox image sandbox/busybox:1 ..."
  ctx=$(mktemp -d)
  trap 'rm -rf "$ctx"' EXIT
  cp /bin/busybox "$ctx/"
  printf 'FROM scratch\nCOPY busybox /bin/busybox\nRUN ["/bin/busybox","--install","-s","/bin"]\nCMD ["/bin/sh"]\n' >"$ctx/Dockerfile"
  if ! docker_ build -q -t sandbox/busybox:1 "$ctx" >"$ctx/build.log" 2>&1; then
    cat "$ctx/build.log" >&2
    echo "error: building sandbox/busybox:1 failed (output above)." >&2
    exit 1
  fi
fi
echo "Docker engine ready on unix://$SOCK with image sandbox/busybox:1."
if [[ $SOCK != /var/run/docker.sock ]]; then
  echo "The cores look at DOCKER_HOST (default unix:///var/run/docker.sock): put DOCKER_HOST=unix://$SOCK in .env."
fi
echo "Next: restart Heyken (./scripts/stop.sh; ./scripts/run_heyken.sh) so that the cores use it."
echo "Stop the engine with: $0 --stop"
