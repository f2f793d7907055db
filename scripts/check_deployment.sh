#!/usr/bin/env bash
# Usage: scripts/check_deployment.sh
#
# The CI check of the production deployment in docker/ (scripts/test.sh runs it). No image registry is
# reachable here, so the full stack cannot be pulled; instead:
#   1. `docker-compose config` (Debian's docker-compose, installed with apt-get when missing) validates
#      docker/docker-compose.yml with a sample .env made by scripts/init.sh, and the rendered file is checked
#      for what the deployment promises (its services, the replica set, the ports, the cores' settings);
#   2. the core image is built locally (scripts/build_images.sh: the base image heyken/base-jre:1 from a
#      cached debootstrap root, then docker/Dockerfile with the fat jar) and run once, on free ports with the
#      host's network, against the project's own store (`heyken-core.jar store`) run from the same image in a
#      second container, until the core's /ready answers 200 and Docker reports the container healthy;
#      both containers and the scratch data are removed afterwards.
# Fails loudly when no Docker engine answers (start one with scripts/docker-engine.sh).
#
# Environment: DOCKER_SOCK (default /var/run/docker.sock), HEYKEN_CHECK_TIMEOUT (seconds to wait for
#   /ready, default 180), HEYKEN_CHECK_IMAGE (tag of the image built and run, default heyken/core:check).
set -euo pipefail
# shellcheck source=scripts/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

no_arguments "$@"

SOCK=${DOCKER_SOCK:-/var/run/docker.sock}
IMAGE=${HEYKEN_CHECK_IMAGE:-heyken/core:check}
TIMEOUT=${HEYKEN_CHECK_TIMEOUT:-180}
COMPOSE_FILE=$HEYKEN_ROOT/docker/docker-compose.yml
docker_() { docker -H "unix://$SOCK" "$@"; }
t_start=$(now_s)

command -v docker >/dev/null || die "the docker command is missing: run scripts/docker-engine.sh first."
docker_ version >/dev/null 2>&1 ||
  die "no Docker engine answers on $SOCK: the deployment check needs one (scripts/docker-engine.sh starts it)."

scratch=$(mktemp -d)
suffix=$$-$RANDOM
store_name=heyken-check-store-$suffix
core_name=heyken-check-core-$suffix
cleanup() {
  docker_ rm -f "$core_name" "$store_name" >/dev/null 2>&1 || true
  docker_ image rm "$IMAGE" >/dev/null 2>&1 || true
  rm -rf "$scratch"
}
trap cleanup EXIT

# ---------------------------------------------------------------- 1. docker-compose config
info "-- docker-compose config"
if ! command -v docker-compose >/dev/null; then
  [[ $(id -u) == 0 ]] || die "docker-compose is missing: apt-get install docker-compose (as root)."
  info "Installing docker-compose (apt-get) ..."
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker-compose >/dev/null; } ||
    die "apt-get could not install docker-compose (output above)."
fi
HEYKEN_ENV_FILE=$scratch/.env HEYKEN_DATA_DIR=$scratch/init-data "$HEYKEN_ROOT/scripts/init.sh" >/dev/null
printf 'DOCKER_GID=%s\nGITLAB_ROOT_PASSWORD=%s\n' "$(stat -c %g "$SOCK")" sample-password >>"$scratch/.env"
# Only the sample file may feed the interpolation: variables of the caller's environment would win over it.
compose_config() {
  env -i PATH="$PATH" HOME="$scratch" HEYKEN_ENV_FILE="$scratch/.env" \
    docker-compose -p heyken-check -f "$COMPOSE_FILE" --env-file "$scratch/.env" config "$@"
}
if ! compose_config >"$scratch/compose.yml" 2>"$scratch/compose.err"; then
  cat "$scratch/compose.err" >&2
  die "docker-compose config rejects $COMPOSE_FILE (output above)."
fi
problems=()
expect() { grep -qE -- "$1" "$scratch/compose.yml" || problems+=("$2"); }
services=$(compose_config --services 2>/dev/null | sort | tr '\n' ' ')
[[ $services == "core-1 core-2 gitlab mongo mongo-init-replica ollama ollama-pull postgres rocketchat " ]] ||
  problems+=("services are '$services'")
expect '--replSet' 'mongod does not run as a replica set'
expect "rs\.initiate" 'nothing initiates the replica set'
expect 'published: 3100|:3100:3000' 'Rocket.Chat is not published on :3100'
expect 'image: postgres:15' 'the log store is not a postgres:15 service'
expect 'published: 5442|:5442:5432' 'PostgreSQL is not published on :5442'
expect 'published: 11434|:11434:11434' 'Ollama is not published on :11434'
expect 'published: 8080|:8080:80' 'GitLab is not published on :8080'
expect 'MONGO_OPLOG_URL: mongodb://mongo:27017/local\?replicaSet=rs0' 'Rocket.Chat has no MONGO_OPLOG_URL on the replica set'
expect 'image: registry\.rocket\.chat/rocketchat/rocket\.chat:7\.' 'the Rocket.Chat image is not a 7.x'
expect 'image: mongo:([5-9]|[1-9][0-9])\.' 'the MongoDB image is older than 5'
expect "command:.*pull|- pull" 'nothing pulls the Ollama model'
expect 'HEYKEN_MONGO_URI: mongodb://mongo:27017/heyken\?replicaSet=rs0' 'the cores have no HEYKEN_MONGO_URI'
expect 'HEYKEN_CORE2_HOST: ' 'the cores have no seed nodes (HEYKEN_CORE1_HOST/HEYKEN_CORE2_HOST)'
expect 'HEYKEN_POSTGRES_URL: jdbc:postgresql://' 'the cores have no HEYKEN_POSTGRES_URL (the postgres service)'
expect "HEYKEN_API_TOKEN: $(sed -n 's/^HEYKEN_API_TOKEN=//p' "$scratch/.env")" 'the secrets of .env do not reach the cores'
expect '/var/run/docker.sock:/var/run/docker.sock' 'the cores do not get the Docker socket'
[[ $(grep -c 'HEYKEN_CORE_ID' "$scratch/compose.yml") == 2 ]] || problems+=('core-1 and core-2 do not both set HEYKEN_CORE_ID')
# without the secrets the file must refuse to render instead of starting a Rocket.Chat without an admin password
sed -i '/^ROCKETCHAT_ADMIN_PASSWORD=/d' "$scratch/.env"
if compose_config >/dev/null 2>"$scratch/compose.err"; then
  problems+=('docker-compose config accepts a .env without ROCKETCHAT_ADMIN_PASSWORD')
elif ! grep -q 'ROCKETCHAT_ADMIN_PASSWORD' "$scratch/compose.err"; then
  problems+=("a .env without ROCKETCHAT_ADMIN_PASSWORD fails without naming it: $(head -c 300 "$scratch/compose.err")")
fi
if ((${#problems[@]})); then
  for p in "${problems[@]}"; do err "docker/docker-compose.yml: $p"; done
  die "${#problems[@]} problem(s) in the deployment file (rendered by docker-compose config: see above)."
fi
ok "docker-compose config: valid, services $services"

# ---------------------------------------------------------------- 2. the core image
info "-- the core image (scripts/build_images.sh)"
t_build=$(now_s)
HEYKEN_CORE_IMAGE=$IMAGE DOCKER_SOCK=$SOCK "$HEYKEN_ROOT/scripts/build_images.sh" ||
  die "building the core image failed (output above)."
info "images ready in $(elapsed_s "$t_build" "$(now_s)") s"

# free_base: a port B with B, B+1 .. B+13, B+110 .. B+113 and B+210 .. B+213 all free on the loopback.
free_base() {
  local b o p taken
  for _ in $(seq 1 50); do
    b=$((20000 + RANDOM % 30000))
    taken=0
    for o in 0 1 2 3 4 10 11 12 13 110 111 112 113 210 211 212 213; do
      p=$((b + o))
      if port_open "$p"; then taken=1; break; fi
    done
    ((taken)) || { echo "$b"; return 0; }
  done
  return 1
}
base=$(free_base) || die "found no free range of ports on 127.0.0.1."
store_port=$base
mgmt_port=$((base + 3))
data=$scratch/data
mkdir -p "$data"
chown 10001:10001 "$data" 2>/dev/null || chmod 0777 "$data"
# The same variables docker-compose.yml gives the cores, on free ports; the host's network like in production.
env_args=(
  -e HEYKEN_DATA_DIR="$data" -e HEYKEN_BIND_HOST=127.0.0.1 -e HEYKEN_API_TOKEN="check-$suffix"
  -e HEYKEN_STORE_PORT="$store_port" -e HEYKEN_MONGO_URI="mongodb://127.0.0.1:$store_port/heyken"
  -e HEYKEN_CORE1_HOST=127.0.0.1 -e HEYKEN_CORE2_HOST=127.0.0.1
  -e HEYKEN_CORE1_PORT=$((base + 1)) -e HEYKEN_CORE2_PORT=$((base + 2))
  -e HEYKEN_CORE1_MANAGEMENT_PORT="$mgmt_port" -e HEYKEN_CORE2_MANAGEMENT_PORT=$((base + 4))
  -e HEYKEN_REGISTRY_PORT=$((base + 10)) -e HEYKEN_SANDBOX_PORT=$((base + 11))
  -e HEYKEN_LOGGER_PORT=$((base + 12)) -e HEYKEN_MONITOR_PORT=$((base + 13))
  -e HEYKEN_INSPECTION_PORT_OFFSET=100 -e OLLAMA_URL=http://127.0.0.1:1
  -e JAVA_OPTS="-Xms64m -Xmx384m -XX:+ExitOnOutOfMemoryError -XX:TieredStopAtLevel=1"
)
info "-- running the image: store on :$store_port, core-1 with management on :$mgmt_port"
t_run=$(now_s)
docker_ run -d --name "$store_name" --network host -v "$data:$data" "${env_args[@]}" "$IMAGE" store >/dev/null ||
  die "could not start the store container from $IMAGE."
for _ in $(seq 1 120); do port_open "$store_port" && break; sleep 0.25; done
if ! port_open "$store_port"; then
  docker_ logs --tail 40 "$store_name" >&2 || true
  die "the store in $IMAGE did not open :$store_port within 30 s (its log above)."
fi
docker_ run -d --name "$core_name" --network host -v "$data:$data" "${env_args[@]}" \
  --health-interval 2s --health-start-period 120s "$IMAGE" core --id 1 >/dev/null ||
  die "could not start the core container from $IMAGE."
[[ $(docker_ inspect -f '{{.Config.User}}' "$core_name") == heyken ]] || die "the core container does not run as the user heyken."
ready=0 health=''
deadline=$((SECONDS + TIMEOUT))
while ((SECONDS < deadline)); do
  state=$(docker_ inspect -f '{{.State.Status}}' "$core_name" 2>/dev/null || echo gone)
  [[ $state == running ]] || break
  if ((!ready)) && [[ $(curl -s -o /dev/null -w '%{http_code}' --max-time 3 "http://127.0.0.1:$mgmt_port/ready" || true) == 200 ]]; then
    ready=1
    t_ready=$(now_s)
  fi
  health=$(docker_ inspect -f '{{.State.Health.Status}}' "$core_name" 2>/dev/null || true)
  ((ready)) && [[ $health == healthy ]] && break
  sleep 1
done
if ((!ready)) || [[ $health != healthy ]]; then
  docker_ logs --tail 60 "$core_name" >&2 || true
  die "the core in $IMAGE did not become ready (state ${state:-?}, /ready 200: $ready, health '${health:-none}') within ${TIMEOUT}s (its log above)."
fi
uid=$(docker_ exec "$core_name" sh -c 'id -u')
[[ $uid != 0 ]] || die "the core runs as root inside its container."
status=$(curl -fsS --max-time 5 "http://127.0.0.1:$((base + 13))/api/status" 2>/dev/null || true)
[[ $(json_number active_core <<<"$status") == 1 ]] || die "the core answers /ready but its System Monitor (:$((base + 13))/api/status) does not show it active: ${status:0:300}"
ok "core image: /ready 200 after $(elapsed_s "$t_run" "$t_ready") s, healthy, user heyken (uid $uid), System Monitor answers"
docker_ stop -t 30 "$core_name" >/dev/null
code=$(docker_ inspect -f '{{.State.ExitCode}}' "$core_name")
# 143: the JVM's own status after SIGTERM once its shutdown hooks ran (the core left the cluster); 137 would mean
# docker stop had to SIGKILL it.
[[ $code == 0 || $code == 143 ]] ||
  { docker_ logs --tail 30 "$core_name" >&2; die "the core exited with $code on SIGTERM (docker stop), expected 0 or 143."; }
# the log is read whole before grep: with pipefail, grep -q leaving at the first match could fail the pipeline
# (docker logs killed by SIGPIPE while it still wrote)
shutdown_log=$(docker_ logs --tail 200 "$core_name" 2>&1)
grep -q 'Successfully shut down' <<<"$shutdown_log" ||
  die "the core did not leave the cluster gracefully on docker stop (no 'Successfully shut down' in its log)."
ok "deployment check passed in $(elapsed_s "$t_start" "$(now_s)") s (core stopped cleanly by docker stop)"
