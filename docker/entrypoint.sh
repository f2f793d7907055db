#!/bin/sh
# Entry point of the heyken/core image: runs the fat jar with the given subcommand (default `core`).
# Temporary files go to $HEYKEN_DATA_DIR/tmp: the Docker sandbox hands directories from there to sandbox
# containers, which the host's engine can only mount when they are on the data volume.
set -eu
: "${HEYKEN_DATA_DIR:=/var/lib/heyken}"
export HEYKEN_DATA_DIR
if ! mkdir -p "$HEYKEN_DATA_DIR/tmp" 2>/dev/null || [ ! -w "$HEYKEN_DATA_DIR" ]; then
  echo "heyken: the data directory $HEYKEN_DATA_DIR is not writable by uid $(id -u): chown it to $(id -u):$(id -g) on the host" >&2
  exit 1
fi
[ $# -gt 0 ] || set -- core
# JAVA_OPTS is a list of options: split on spaces on purpose
# shellcheck disable=SC2086
exec java ${JAVA_OPTS:-} -Djava.io.tmpdir="$HEYKEN_DATA_DIR/tmp" -jar /opt/heyken/heyken-core.jar "$@"
