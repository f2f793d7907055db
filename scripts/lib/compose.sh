# shellcheck shell=bash
# The production deployment in docker/ (scripts/deploy.sh, scripts/stop.sh). Source after lib/common.sh.
#
#   HEYKEN_COMPOSE_FILE     default $HEYKEN_ROOT/docker/docker-compose.yml
#   HEYKEN_COMPOSE_PROJECT  the compose project name, default heyken (containers heyken_core-1_1, ...)
#   DOCKER_SOCK             the engine's socket, default /var/run/docker.sock

HEYKEN_COMPOSE_FILE=${HEYKEN_COMPOSE_FILE:-$HEYKEN_ROOT/docker/docker-compose.yml}
HEYKEN_COMPOSE_PROJECT=${HEYKEN_COMPOSE_PROJECT:-heyken}
HEYKEN_DOCKER_SOCK=${DOCKER_SOCK:-/var/run/docker.sock}

hk_docker() { docker -H "unix://$HEYKEN_DOCKER_SOCK" "$@"; }

# docker_engine_up: a Docker engine answers on the socket.
docker_engine_up() { command -v docker >/dev/null && hk_docker version >/dev/null 2>&1; }

# compose_detect: sets COMPOSE to Debian's docker-compose, else the `docker compose` plugin; fails when neither exists.
compose_detect() {
  if command -v docker-compose >/dev/null; then
    COMPOSE=(docker-compose)
  elif command -v docker >/dev/null && docker compose version >/dev/null 2>&1; then
    COMPOSE=(docker compose)
  else
    return 1
  fi
}

# compose ARGS...: docker-compose on Heyken's project, with .env as the source of the variables.
# The file also needs DOCKER_GID (the group of the socket, so that the non-root cores may use it) and an
# absolute HEYKEN_ENV_FILE (env_file of the cores): both are exported here.
compose() {
  [[ -n ${COMPOSE+set} ]] || compose_detect || { err "neither docker-compose nor the docker compose plugin is installed (apt-get install docker-compose)."; return 1; }
  local env_file=$HEYKEN_ENV_FILE
  [[ $env_file == /* ]] || env_file=$PWD/$env_file
  [[ -n ${DOCKER_GID:-} ]] || DOCKER_GID=$(stat -c %g "$HEYKEN_DOCKER_SOCK" 2>/dev/null || echo 0)
  DOCKER_HOST=unix://$HEYKEN_DOCKER_SOCK DOCKER_GID=$DOCKER_GID HEYKEN_ENV_FILE=$env_file \
    "${COMPOSE[@]}" -p "$HEYKEN_COMPOSE_PROJECT" -f "$HEYKEN_COMPOSE_FILE" --env-file "$env_file" "$@"
}

# compose_containers: ids of the deployment's running containers. Uses the labels docker-compose puts on
# them, so it works without docker-compose installed.
compose_containers() {
  docker_engine_up || return 0
  hk_docker ps -q --filter "label=com.docker.compose.project=$HEYKEN_COMPOSE_PROJECT"
}

# compose_running: some container of the deployment runs.
compose_running() { [[ -n $(compose_containers) ]]; }

# compose_container SERVICE: the id of the service's container (running or not), empty when there is none.
compose_container() {
  docker_engine_up || return 0
  hk_docker ps -a -q --filter "label=com.docker.compose.project=$HEYKEN_COMPOSE_PROJECT" \
    --filter "label=com.docker.compose.service=$1" | head -n 1
}
