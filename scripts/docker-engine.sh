#!/usr/bin/env bash
# Usage: scripts/docker-engine.sh [--stop]
#
# Prepares both sandbox backends on a machine without systemd (needs root):
#   - installs docker.io, busybox-static, bubblewrap and debootstrap with apt-get when missing;
#   - starts a Docker engine for Heyken's sandboxes and dynamic services, without touching the
#     host's network:  dockerd --iptables=false --ip-masq=false --bridge=none
#   - builds the local sandbox images (no registry is reachable):
#       sandbox/busybox:1  FROM scratch + /bin/busybox from busybox-static
#       sandbox/python:1   a Debian bookworm minbase root with python3 and its standard library (debootstrap), imported
#                          with `docker import`; the root tarball is cached under /var/cache/heyken/
#                          so that a rebuild takes seconds.
# bubblewrap needs no image: it runs jobs on the host's read-only /usr.
# run_heyken.sh runs it (as root) unless --no-docker or HEYKEN_SANDBOX_BACKEND=bubblewrap: without an
# engine the sandboxes use bubblewrap and the System Monitor shows the Docker engine as "down". Run by
# hand: then (re)start Heyken. Idempotent.
#
#   --stop   stop the engine this script started (and its containerd)
#
# Environment: DOCKER_SOCK (default /var/run/docker.sock), DOCKERD_LOG (default /tmp/dockerd.log),
#   HEYKEN_DEBIAN_MIRROR (default: the Debian mirror of /etc/apt/sources.list*, else deb.debian.org).
set -euo pipefail

SOCK=${DOCKER_SOCK:-/var/run/docker.sock}
LOG=${DOCKERD_LOG:-/tmp/dockerd.log}
PIDFILE=/var/run/docker-heyken.pid
CACHE_DIR=/var/cache/heyken
PYTHON_IMAGE=sandbox/python:1
PYTHON_ROOTFS=$CACHE_DIR/python3-bookworm-rootfs.tar
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

# ---------------------------------------------------------------- packages
missing=()
command -v dockerd >/dev/null || missing+=(docker.io)
[[ -x /bin/busybox ]] || missing+=(busybox-static)
command -v bwrap >/dev/null || missing+=(bubblewrap)
command -v debootstrap >/dev/null || missing+=(debootstrap)
if ((${#missing[@]} > 0)); then
  [[ $(id -u) == 0 ]] || { echo "error: ${missing[*]} missing; run this as root to install them." >&2; exit 1; }
  echo "Installing ${missing[*]} (apt-get) ..."
  if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; }; then
    echo "error: apt-get could not install ${missing[*]} (output above); check the apt sources and the network." >&2
    exit 1
  fi
fi

# ---------------------------------------------------------------- engine
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

# ---------------------------------------------------------------- images
tmp=$(mktemp -d)
# --one-file-system: a debootstrap that died may have left /proc or /sys mounted inside its root
trap 'rm -rf --one-file-system "$tmp"' EXIT
if ! docker_ image inspect sandbox/busybox:1 >/dev/null 2>&1; then
  echo "Building the sandbox image sandbox/busybox:1 ..."
  ctx=$tmp/busybox
  mkdir "$ctx"
  cp /bin/busybox "$ctx/"
  printf 'FROM scratch\nCOPY busybox /bin/busybox\nRUN ["/bin/busybox","--install","-s","/bin"]\nCMD ["/bin/sh"]\n' >"$ctx/Dockerfile"
  if ! docker_ build -q -t sandbox/busybox:1 "$ctx" >"$tmp/build.log" 2>&1; then
    cat "$tmp/build.log" >&2
    echo "error: building sandbox/busybox:1 failed (output above)." >&2
    exit 1
  fi
fi

# The Debian mirror apt already uses on this machine (reachable by definition), else Debian's own.
debian_mirror() {
  if [[ -n ${HEYKEN_DEBIAN_MIRROR:-} ]]; then echo "$HEYKEN_DEBIAN_MIRROR"; return; fi
  local url
  url=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null |
    grep -E '^[[:space:]]*(deb[[:space:]]|URIs:)' | grep -oE 'https?://[^[:space:]]+/debian/?' |
    grep -v -- '-security' | head -n 1 || true)
  echo "${url:-http://deb.debian.org/debian}"
}

# python3-minimal (the first version of this image) has no standard library: no json, no unittest
python_check='import json, unittest, subprocess, urllib.parse; print("ok")'
if docker_ image inspect "$PYTHON_IMAGE" >/dev/null 2>&1 &&
  ! docker_ run --rm --network none --user 65534:65534 "$PYTHON_IMAGE" python3 -c "$python_check" >/dev/null 2>&1; then
  echo "The image $PYTHON_IMAGE lacks python3's standard library: rebuilding it."
  docker_ image rm -f "$PYTHON_IMAGE" >/dev/null 2>&1 || true
fi
if ! docker_ image inspect "$PYTHON_IMAGE" >/dev/null 2>&1; then
  [[ $(id -u) == 0 ]] || { echo "error: building $PYTHON_IMAGE needs root (debootstrap)." >&2; exit 1; }
  mkdir -p "$CACHE_DIR"
  if [[ ! -s $PYTHON_ROOTFS ]]; then
    mirror=$(debian_mirror)
    echo "Building the root of $PYTHON_IMAGE: debootstrap bookworm minbase + python3 from $mirror (about 30 s) ..."
    root=$tmp/rootfs
    if ! debootstrap --variant=minbase --include=python3 bookworm "$root" "$mirror" >"$tmp/debootstrap.log" 2>&1; then
      tail -n 30 "$tmp/debootstrap.log" >&2
      [[ -f $root/debootstrap/debootstrap.log ]] && tail -n 30 "$root/debootstrap/debootstrap.log" >&2
      echo "error: debootstrap of $PYTHON_IMAGE failed (log above); set HEYKEN_DEBIAN_MIRROR to a reachable Debian mirror." >&2
      exit 1
    fi
    # Packages and apt lists are not needed at run time: 30 MB less per image.
    rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
    echo "Caching the root as $PYTHON_ROOTFS ..."
    tar -C "$root" --numeric-owner -cf "$PYTHON_ROOTFS.part" .
    mv "$PYTHON_ROOTFS.part" "$PYTHON_ROOTFS"
  else
    echo "Using the cached root $PYTHON_ROOTFS."
  fi
  echo "Importing $PYTHON_IMAGE ..."
  if ! docker_ import -c 'CMD ["/bin/sh"]' "$PYTHON_ROOTFS" "$PYTHON_IMAGE" >"$tmp/import.log" 2>&1; then
    cat "$tmp/import.log" >&2
    echo "error: docker import of $PYTHON_IMAGE failed (output above); delete $PYTHON_ROOTFS to rebuild it." >&2
    exit 1
  fi
  if ! docker_ run --rm --network none --user 65534:65534 "$PYTHON_IMAGE" python3 -c "$python_check" >/dev/null 2>&1; then
    docker_ image rm "$PYTHON_IMAGE" >/dev/null 2>&1 || true
    echo "error: $PYTHON_IMAGE does not run python3; delete $PYTHON_ROOTFS and run this again." >&2
    exit 1
  fi
fi
if ! bwrap --unshare-all --die-with-parent --ro-bind /usr /usr --symlink usr/bin /bin --symlink usr/lib /lib \
  --symlink usr/lib64 /lib64 /bin/true 2>"$tmp/bwrap.log"; then
  cat "$tmp/bwrap.log" >&2
  echo "error: bubblewrap is installed but cannot create its namespaces here (output above)." >&2
  exit 1
fi
echo "Docker engine ready on unix://$SOCK with images sandbox/busybox:1 and $PYTHON_IMAGE; bubblewrap works."
if [[ $SOCK != /var/run/docker.sock ]]; then
  echo "The cores look at DOCKER_HOST (default unix:///var/run/docker.sock): put DOCKER_HOST=unix://$SOCK in .env."
fi
echo "Next: restart Heyken (./scripts/stop.sh; ./scripts/run_heyken.sh) so that the cores use it."
echo "Stop the engine with: $0 --stop"
