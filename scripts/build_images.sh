#!/usr/bin/env bash
# Usage: scripts/build_images.sh [--base-only] [--jar FILE]
#
# Builds the images of the production deployment (docker/) locally: no image registry is needed.
#   heyken/base-jre:1  a Debian bookworm minbase root with openjdk-17-jre-headless, curl and ca-certificates
#                      (debootstrap), brought up to date from bookworm-security when that mirror answers,
#                      imported with `docker import`. The root tarball is cached under /var/cache/heyken/,
#                      so that a rebuild takes seconds; delete it to get a fresh JRE.
#   heyken/core:1      docker/Dockerfile on top of it: the fat jar (cores/target/heyken-core.jar, built with
#                      `mvn -B -DskipTests package` when missing), run as the non-root user heyken.
# Needs a running Docker engine (scripts/docker-engine.sh starts one) and root for debootstrap.
# Idempotent: an existing base image is kept; the core image is rebuilt (Docker's layer cache makes an
# unchanged jar cost about a second).
#
#   --base-only  build only heyken/base-jre:1
#   --jar FILE   put FILE into heyken/core:1 instead of cores/target/heyken-core.jar
#
# Environment: DOCKER_SOCK (default /var/run/docker.sock), HEYKEN_DEBIAN_MIRROR (default: the Debian mirror
#   of /etc/apt/sources.list*, else deb.debian.org), HEYKEN_BASE_IMAGE, HEYKEN_CORE_IMAGE (image names).
set -euo pipefail
# shellcheck source=scripts/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

SOCK=${DOCKER_SOCK:-/var/run/docker.sock}
CACHE_DIR=/var/cache/heyken
BASE_IMAGE=${HEYKEN_BASE_IMAGE:-heyken/base-jre:1}
CORE_IMAGE=${HEYKEN_CORE_IMAGE:-heyken/core:1}
BASE_ROOTFS=$CACHE_DIR/jre17-bookworm-rootfs.tar
base_only=0
jar=$HEYKEN_JAR
while (($#)); do
  case $1 in
    -h | --help) print_help "$0"; exit 0 ;;
    --base-only) base_only=1 ;;
    --jar)
      [[ $# -ge 2 ]] || die "--jar needs a file"
      jar=$2
      shift
      ;;
    *) usage_error "unknown argument: $1" ;;
  esac
  shift
done

docker_() { docker -H "unix://$SOCK" "$@"; }
command -v docker >/dev/null || die "the docker command is missing: run scripts/docker-engine.sh (installs docker.io and starts the engine)."
docker_ version >/dev/null 2>&1 ||
  die "no Docker engine answers on $SOCK: start one with scripts/docker-engine.sh (or set DOCKER_SOCK)."

tmp=$(mktemp -d)
# --one-file-system: a debootstrap that died may have left /proc or /sys mounted inside its root
trap 'rm -rf --one-file-system "$tmp"' EXIT

# The Debian mirror apt already uses on this machine (reachable by definition), else Debian's own.
debian_mirror() {
  if [[ -n ${HEYKEN_DEBIAN_MIRROR:-} ]]; then echo "$HEYKEN_DEBIAN_MIRROR"; return; fi
  local url
  url=$(apt_sources | grep -oE 'https?://[^[:space:]]+/debian/?' | grep -v -- '-security' | head -n 1 || true)
  echo "${url:-http://deb.debian.org/debian}"
}
debian_security_mirror() {
  local url
  url=$(apt_sources | grep -oE 'https?://[^[:space:]]+/debian-security/?' | head -n 1 || true)
  echo "${url:-http://deb.debian.org/debian-security}"
}
apt_sources() {
  cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null |
    grep -E '^[[:space:]]*(deb[[:space:]]|URIs:)' || true
}

java_check() { docker_ run --rm --network none --user 65534:65534 "$BASE_IMAGE" java -version >/dev/null 2>&1; }

# ---------------------------------------------------------------- base image
if docker_ image inspect "$BASE_IMAGE" >/dev/null 2>&1 && ! java_check; then
  warn "the image $BASE_IMAGE does not run java: rebuilding it."
  docker_ image rm -f "$BASE_IMAGE" >/dev/null 2>&1 || true
fi
if docker_ image inspect "$BASE_IMAGE" >/dev/null 2>&1; then
  info "Base image $BASE_IMAGE exists."
else
  mkdir -p "$CACHE_DIR" 2>/dev/null || die "cannot create $CACHE_DIR: run this as root."
  if [[ ! -s $BASE_ROOTFS ]]; then
    [[ $(id -u) == 0 ]] || die "building $BASE_IMAGE needs root (debootstrap)."
    if ! command -v debootstrap >/dev/null; then
      info "Installing debootstrap (apt-get) ..."
      { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null; } ||
        die "apt-get could not install debootstrap (output above)."
    fi
    mirror=$(debian_mirror)
    root=$tmp/rootfs
    info "Building the root of $BASE_IMAGE: debootstrap bookworm minbase + openjdk-17-jre-headless from $mirror (about 1-2 min) ..."
    t0=$(now_s)
    if ! debootstrap --variant=minbase --include=openjdk-17-jre-headless,curl,ca-certificates bookworm "$root" "$mirror" \
      >"$tmp/debootstrap.log" 2>&1; then
      tail -n 30 "$tmp/debootstrap.log" >&2
      [[ -f $root/debootstrap/debootstrap.log ]] && tail -n 30 "$root/debootstrap/debootstrap.log" >&2
      die "debootstrap of $BASE_IMAGE failed (log above); set HEYKEN_DEBIAN_MIRROR to a reachable Debian mirror."
    fi
    # Security updates (the JRE gets them often). Not fatal: a mirror without bookworm-security leaves the
    # point release's JRE, and the build says so.
    security=$(debian_security_mirror)
    echo "deb $security bookworm-security main" >"$root/etc/apt/sources.list.d/security.list"
    mount -t proc proc "$root/proc" 2>/dev/null || true # the JRE's postinst scripts run java
    if chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive \
      sh -c 'apt-get update -qq && apt-get upgrade -y -qq' >"$tmp/upgrade.log" 2>&1; then
      upgraded=1
    else
      upgraded=0
    fi
    umount "$root/proc" 2>/dev/null || true
    if ((upgraded)); then
      info "Security updates from $security applied."
    else
      tail -n 10 "$tmp/upgrade.log" >&2
      warn "could not apply the updates of $security (output above): the image has bookworm's point-release JRE."
    fi
    # Packages, apt lists, docs and man pages are not needed at run time.
    rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* "$root"/usr/share/doc/* \
      "$root"/usr/share/man/* "$root"/usr/share/locale/*
    info "Caching the root as $BASE_ROOTFS ..."
    tar -C "$root" --numeric-owner -cf "$BASE_ROOTFS.part" .
    mv "$BASE_ROOTFS.part" "$BASE_ROOTFS"
    info "Root built in $(elapsed_s "$t0" "$(now_s)") s."
  else
    info "Using the cached root $BASE_ROOTFS."
  fi
  info "Importing $BASE_IMAGE ..."
  if ! docker_ import -c 'ENV LANG=C.UTF-8' -c 'CMD ["/bin/bash"]' "$BASE_ROOTFS" "$BASE_IMAGE" >"$tmp/import.log" 2>&1; then
    cat "$tmp/import.log" >&2
    die "docker import of $BASE_IMAGE failed (output above); delete $BASE_ROOTFS to rebuild it."
  fi
  if ! java_check; then
    docker_ image rm "$BASE_IMAGE" >/dev/null 2>&1 || true
    die "$BASE_IMAGE does not run java; delete $BASE_ROOTFS and run this again."
  fi
  ok "Base image $BASE_IMAGE built."
fi
((base_only)) && exit 0

# ---------------------------------------------------------------- core image
if [[ ! -s $jar ]]; then
  [[ $jar == "$HEYKEN_JAR" ]] || die "no jar at $jar"
  command -v mvn >/dev/null || die "no jar at $jar and Maven is missing: apt-get install maven, then mvn -B -DskipTests package"
  info "Building the fat jar (mvn -B -q -DskipTests package) ..."
  (cd "$HEYKEN_ROOT" && mvn -B -q -DskipTests package) || die "the Maven build failed (output above)."
fi
ctx=$tmp/core
mkdir "$ctx"
cp "$HEYKEN_ROOT/docker/Dockerfile" "$HEYKEN_ROOT/docker/entrypoint.sh" "$HEYKEN_ROOT/docker/healthcheck.sh" "$ctx/"
cp "$jar" "$ctx/heyken-core.jar"
info "Building $CORE_IMAGE from $BASE_IMAGE ..."
if ! docker_ build --network host --build-arg "BASE_IMAGE=$BASE_IMAGE" -t "$CORE_IMAGE" "$ctx" >"$tmp/build.log" 2>&1; then
  cat "$tmp/build.log" >&2
  die "docker build of $CORE_IMAGE failed (output above)."
fi
ok "Core image $CORE_IMAGE built ($(docker_ image inspect -f '{{.Size}}' "$CORE_IMAGE" | awk '{ printf "%.0f MB", $1 / 1e6 }'))."
