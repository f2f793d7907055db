#!/usr/bin/env bash
# Usage: scripts/deploy.sh [--no-build] [--timeout SECONDS]
#
# Starts Heyken's production deployment (docker/docker-compose.yml) in the documented order:
#   1. .env: scripts/init.sh (secrets), plus GITLAB_ROOT_PASSWORD and DOCKER_GID when missing;
#   2. checks: a Docker engine, docker-compose, every image present (pulled when a registry answers,
#      otherwise the error says how to load it), no Heyken of scripts/run_heyken.sh running;
#   3. the core image heyken/core:1 (scripts/build_images.sh; --no-build keeps the existing one);
#   4. MongoDB, the replica set rs0 and Rocket.Chat; waits until Rocket.Chat answers /api/info;
#   5. scripts/setup_rocketchat.sh: the Rocket.Chat accounts and channels of Heyken;
#   6. Ollama (the model OLLAMA_MODEL, default llama3, is pulled on the first start), GitLab CE and the cores;
#      waits until both cores are healthy (Pekko Management /ready) and one is active;
#   7. prints the URLs.
# Safe to run again: what runs is kept, what is missing is started. Stop it with scripts/stop.sh.
#
#   --no-build         do not rebuild heyken/core:1 (it must exist)
#   --timeout SECONDS  how long each wait may take (default 900: Rocket.Chat's and GitLab's first starts are slow)
#
# Environment: HEYKEN_ENV_FILE (default .env), HEYKEN_DEPLOY_DATA_DIR (the cores' data, default /var/lib/heyken),
#   ROCKETCHAT_PORT (3100), GITLAB_PORT (8080), HEYKEN_PUBLIC_HOST (the host name printed in the URLs),
#   DOCKER_SOCK (default /var/run/docker.sock). docs/production.md describes the deployment.
set -euo pipefail
# shellcheck source=scripts/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
# shellcheck source=scripts/lib/compose.sh
source "$HEYKEN_ROOT/scripts/lib/compose.sh"

build=1
timeout=900
while (($#)); do
  case $1 in
    -h | --help) print_help "$0"; exit 0 ;;
    --no-build) build=0 ;;
    --timeout) timeout=$(number_arg --timeout "${2:-}" "a number of seconds"); shift ;;
    *) usage_error "unknown argument: $1" ;;
  esac
  shift
done
t_start=$(now_s)

# ---------------------------------------------------------------- 1. .env
"$HEYKEN_ROOT/scripts/init.sh" >/dev/null || die "scripts/init.sh failed (output above)."
# add_key KEY VALUE: append KEY=VALUE to .env unless KEY is set there (never overwrites a value).
add_key() {
  grep -qE "^[[:space:]]*(export[[:space:]]+)?$1=" "$HEYKEN_ENV_FILE" && return 0
  printf '%s=%s\n' "$1" "$2" >>"$HEYKEN_ENV_FILE"
  info "Added $1 to $HEYKEN_ENV_FILE."
}
add_key GITLAB_ROOT_PASSWORD "$(od -An -vtx1 -N 16 /dev/urandom | tr -d ' \n')"
heyken_load_env
DATA=${HEYKEN_DEPLOY_DATA_DIR:-/var/lib/heyken}
RC_PORT=${ROCKETCHAT_PORT:-3100}
PUBLIC=${HEYKEN_PUBLIC_HOST:-$(hostname -f 2>/dev/null || hostname)}

# ---------------------------------------------------------------- 2. checks
command -v docker >/dev/null ||
  die "Docker is not installed. Install it (apt-get install docker.io) and start the engine (systemctl start docker, or scripts/docker-engine.sh on a machine without systemd)."
docker_engine_up ||
  die "no Docker engine answers on $HEYKEN_DOCKER_SOCK. Start it (systemctl start docker, or scripts/docker-engine.sh), or set DOCKER_SOCK."
add_key DOCKER_GID "$(stat -c %g "$HEYKEN_DOCKER_SOCK")"
heyken_load_env
if ! compose_detect; then
  if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
    info "Installing docker-compose (apt-get) ..."
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker-compose >/dev/null; } ||
      die "apt-get could not install docker-compose (output above)."
    compose_detect || die "docker-compose is still missing after apt-get."
  else
    die "docker-compose is missing: apt-get install docker-compose (or install the docker compose plugin)."
  fi
fi
compose config -q || die "docker/docker-compose.yml does not accept this .env (docker-compose's message above)."
mapfile -t local_pids < <(installation_pids)
if ((${#local_pids[@]})); then
  die "a Heyken started by scripts/run_heyken.sh runs here (pids ${local_pids[*]}); it uses the same ports. Stop it first: scripts/stop.sh"
fi

# Every image except the one built here must be present; pull what is missing when a registry answers.
mapfile -t images < <(compose config | sed -nE 's/^[[:space:]]+image:[[:space:]]*//p' | tr -d "'\"" | sort -u)
core_image=${HEYKEN_CORE_IMAGE:-heyken/core:1}
missing=()
for image in "${images[@]}"; do
  [[ $image == "$core_image" ]] && continue
  hk_docker image inspect "$image" >/dev/null 2>&1 && continue
  info "Pulling $image ..."
  if ! hk_docker pull -q "$image" >/dev/null 2>&1; then
    missing+=("$image")
  fi
done
if ((${#missing[@]})); then
  err "these images are not on this machine and no registry answered to pull them:"
  for image in "${missing[@]}"; do err "  $image"; done
  err "On a machine that reaches the registries: docker pull IMAGE && docker save IMAGE | gzip > image.tar.gz;"
  err "copy the files here and load each: docker load -i image.tar.gz (or override an image in .env:"
  err "MONGO_IMAGE, ROCKETCHAT_IMAGE, OLLAMA_IMAGE, GITLAB_IMAGE). Then run this again."
  exit 1
fi

# ---------------------------------------------------------------- 3. core image, data directory
if ((build)); then
  HEYKEN_CORE_IMAGE=$core_image DOCKER_SOCK=$HEYKEN_DOCKER_SOCK "$HEYKEN_ROOT/scripts/build_images.sh" ||
    die "building the core image failed (output above)."
else
  hk_docker image inspect "$core_image" >/dev/null 2>&1 ||
    die "--no-build, but there is no image $core_image: run scripts/build_images.sh (or drop --no-build)."
fi
mkdir -p "$DATA" || die "cannot create the data directory $DATA (set HEYKEN_DEPLOY_DATA_DIR)."
# the image's user heyken (uid 10001) owns it
if [[ $(stat -c %u "$DATA") != 10001 ]]; then
  chown 10001:10001 "$DATA" 2>/dev/null || die "the cores run as uid 10001 and cannot write $DATA: chown 10001:10001 $DATA (as root)."
fi

# wait_for WHAT SECONDS COMMAND...: poll COMMAND every 2 s until it succeeds; fail at the deadline.
wait_for() {
  local what=$1 limit=$2 t0=$SECONDS
  shift 2
  info "Waiting for $what (up to ${limit}s) ..."
  until "$@"; do
    ((SECONDS - t0 < limit)) || return 1
    sleep 2
  done
  ok "$what after $((SECONDS - t0)) s."
}
# exited_badly SERVICE: its container stopped with a non-zero status, or has been restarted 3 times or more.
exited_badly() {
  local id status code restarts
  id=$(compose_container "$1")
  [[ -n $id ]] || return 1
  read -r status code restarts < <(hk_docker inspect -f '{{.State.Status}} {{.State.ExitCode}} {{.RestartCount}}' "$id" 2>/dev/null) ||
    return 1
  [[ ($status == exited && $code != 0) || ${restarts:-0} -ge 3 ]]
}
show_logs() {
  local id
  id=$(compose_container "$1")
  [[ -n $id ]] && hk_docker logs --tail "${2:-40}" "$id" >&2 2>&1
  return 0
}

# ---------------------------------------------------------------- 4. MongoDB, Rocket.Chat
info "Starting MongoDB (replica set rs0) and Rocket.Chat ..."
if ! compose up -d rocketchat; then
  show_logs mongo
  show_logs mongo-init-replica
  die "MongoDB or its replica set did not come up (logs above: docker-compose -p $HEYKEN_COMPOSE_PROJECT logs mongo mongo-init-replica)."
fi
rc_info() {
  if exited_badly rocketchat; then return 0; fi
  [[ $(curl -fsS --max-time 5 "http://127.0.0.1:$RC_PORT/api/info" 2>/dev/null) == *'"success":true'* ]]
}
if ! wait_for "Rocket.Chat on :$RC_PORT (/api/info)" "$timeout" rc_info || exited_badly rocketchat; then
  show_logs rocketchat 60
  die "Rocket.Chat did not answer http://127.0.0.1:$RC_PORT/api/info (its log above)."
fi

# ---------------------------------------------------------------- 5. Rocket.Chat provisioning
info "Provisioning Rocket.Chat (scripts/setup_rocketchat.sh) ..."
[[ -x $HEYKEN_ROOT/scripts/setup_rocketchat.sh ]] || die "scripts/setup_rocketchat.sh is missing or not executable."
ROCKETCHAT_URL=http://127.0.0.1:$RC_PORT "$HEYKEN_ROOT/scripts/setup_rocketchat.sh" ||
  die "the Rocket.Chat provisioning failed (output above); fix it and run scripts/deploy.sh again (it is idempotent)."

# ---------------------------------------------------------------- 6. the rest
info "Starting Ollama, GitLab and the cores (core-2 once core-1 is healthy) ..."
if ! compose up -d; then
  show_logs core-1 60
  die "docker-compose up failed (output above; core-1's log above that)."
fi
core_healthy() {
  local id
  id=$(compose_container "core-$1")
  [[ -n $id && $(hk_docker inspect -f '{{.State.Health.Status}}' "$id" 2>/dev/null) == healthy ]]
}
# status.sh's own verdict: both cores up in one cluster, exactly one active.
healthy_cluster() { "$HEYKEN_ROOT/scripts/status.sh" >/dev/null 2>&1; }
for n in 1 2; do
  if ! wait_for "core-$n (healthy: /ready)" "$timeout" core_healthy "$n"; then
    show_logs "core-$n" 60
    die "core-$n did not become healthy (its log above; docker-compose -p $HEYKEN_COMPOSE_PROJECT logs core-$n)."
  fi
done
if ! wait_for "one cluster of both cores with one active (scripts/status.sh)" "$timeout" healthy_cluster; then
  "$HEYKEN_ROOT/scripts/status.sh" >&2 || true
  die "both cores run but do not form one healthy cluster (scripts/status.sh above); docker-compose -p $HEYKEN_COMPOSE_PROJECT logs core-1 core-2 shows why."
fi
fetch_status 2 || true
if exited_badly ollama-pull; then
  show_logs ollama-pull 20
  warn "pulling the model ${OLLAMA_MODEL:-llama3} failed (log above): the bot answers without a model until it is pulled (docker-compose -p $HEYKEN_COMPOSE_PROJECT up ollama-pull)."
fi

# ---------------------------------------------------------------- 7. URLs
ok "Heyken is deployed ($(elapsed_s "$t_start" "$(now_s)") s); active core: $(json_number active_core <<<"$STATUS_JSON")."
cat <<EOF
  Rocket.Chat      http://$PUBLIC:$RC_PORT          (admin: ${ROCKETCHAT_ADMIN_USERNAME:-admin}, password in $HEYKEN_ENV_FILE; talk to @${ROCKETCHAT_BOT_USERNAME:-heyken_bot})
  GitLab CE        http://$PUBLIC:${GITLAB_PORT:-8080}          (root, GITLAB_ROOT_PASSWORD in $HEYKEN_ENV_FILE; its first start takes minutes)
  Ollama           http://127.0.0.1:${OLLAMA_PORT:-11434}        (model ${OLLAMA_MODEL:-llama3}; the first pull runs in the background: docker-compose -p $HEYKEN_COMPOSE_PROJECT logs -f ollama-pull)
  System Monitor   http://127.0.0.1:$(MONITOR_PORT)/api/status    (web console chat: POST :$(MONITOR_PORT)/api/chat)
  Registry :$(REGISTRY_PORT)  Sandbox Manager :$(SANDBOX_PORT)  Logger API :$(LOGGER_PORT)   (bearer token HEYKEN_API_TOKEN in $HEYKEN_ENV_FILE)
  Data             $DATA (cores), docker volumes ${HEYKEN_COMPOSE_PROJECT}_mongo-data, _rocketchat-uploads, _ollama-models, _gitlab-*
Status: scripts/status.sh    Switch: scripts/switch_core.sh 1|2    Stop: scripts/stop.sh
EOF
