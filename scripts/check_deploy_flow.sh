#!/usr/bin/env bash
# Usage: scripts/check_deploy_flow.sh
#
# End-to-end check of scripts/deploy.sh and scripts/stop.sh with the real docker/docker-compose.yml, where no
# registry is reachable: MongoDB, Rocket.Chat, Ollama and GitLab are replaced by small local stand-in images
# (through MONGO_IMAGE, ROCKETCHAT_IMAGE, OLLAMA_IMAGE, GITLAB_IMAGE): "mongo" is the project's own store
# (no replica set, so the cores get HEYKEN_MONGO_URI without replicaSet), the others answer the few HTTP calls
# deploy.sh and the healthchecks make. The cores are the real image. Not part of scripts/test.sh (it takes
# minutes); run it after changing the deployment. It checks, in a scratch copy of scripts/ and docker/ with its
# own project name, ports and data directory (a running Heyken is not disturbed):
#   - deploy.sh succeeds, in order, and runs scripts/setup_rocketchat.sh (a stand-in here) against :ROCKETCHAT_PORT;
#   - status.sh is healthy; the cores run as uid 10001; a feature's pipeline runs in a Docker sandbox started by
#     the containerized core through the host's engine (the data directory's same-path mount);
#   - kill -9 of the active core's JVM: the other core becomes active, Docker restarts the dead one;
#   - deploy.sh again changes nothing (same containers); stop.sh removes every container and keeps the volumes.
# Needs root and a Docker engine (scripts/docker-engine.sh) with the image sandbox/busybox:1.
# HEYKEN_FLOW_KEEP=1 leaves the deployment and the scratch directory in place afterwards (for inspection).
set -euo pipefail
# shellcheck source=scripts/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

no_arguments "$@"
{ command -v docker >/dev/null && docker version >/dev/null 2>&1; } || die "no Docker engine answers: run scripts/docker-engine.sh"
docker image inspect sandbox/busybox:1 >/dev/null 2>&1 || die "the image sandbox/busybox:1 is missing: run scripts/docker-engine.sh"

project=hkflow$$
tag=flow$$
scratch=$(mktemp -d)
root=$scratch/root
data=$scratch/data
failures=0
fail() { err "$*"; failures=$((failures + 1)); }
cleanup() {
  if [[ -n ${HEYKEN_FLOW_KEEP:-} ]]; then
    warn "HEYKEN_FLOW_KEEP is set: project $project and $scratch are left for inspection."
    return 0
  fi
  if [[ -d $root/docker ]]; then
    (cd "$root" && HEYKEN_ENV_FILE=$root/.env HEYKEN_COMPOSE_PROJECT=$project HEYKEN_ROOT=$root bash -c '
      source scripts/lib/common.sh; source scripts/lib/compose.sh; compose down -v -t 10' >/dev/null 2>&1) || true
  fi
  docker image rm "heyken/core:$tag" "heyken-fake/mongo:$tag" "heyken-fake/rocketchat:$tag" \
    "heyken-fake/ollama:$tag" "heyken-fake/gitlab:$tag" >/dev/null 2>&1 || true
  rm -rf "$scratch"
}
trap cleanup EXIT

# ---------------------------------------------------------------- images
info "-- images: heyken/core:$tag and the stand-ins"
HEYKEN_CORE_IMAGE=heyken/core:$tag "$HEYKEN_ROOT/scripts/build_images.sh" >/dev/null || die "scripts/build_images.sh failed"
img=$scratch/img
mkdir -p "$img"/{mongo,rocketchat,ollama,gitlab}
cat >"$img/mongo/mongod" <<'EOF'
#!/bin/bash
export HEYKEN_STORE_HOST=0.0.0.0 HEYKEN_STORE_PORT=27017 HEYKEN_DATA_DIR=/data/db
exec java -Xmx256m -jar /opt/heyken/heyken-core.jar store
EOF
cat >"$img/mongo/mongosh" <<'EOF'
#!/bin/bash
hp=127.0.0.1:27017
while (($#)); do [[ $1 == --host ]] && hp=$2; shift; done
exec 3<>"/dev/tcp/${hp%:*}/${hp#*:}" || exit 1
echo "stand-in: no replica set to initiate"
EOF
printf 'FROM heyken/core:%s\nUSER root\nCOPY mongod mongosh /usr/local/bin/\nRUN chmod 755 /usr/local/bin/mongod /usr/local/bin/mongosh\nHEALTHCHECK NONE\nENTRYPOINT []\n' "$tag" >"$img/mongo/Dockerfile"
printf '%s\n' 'FROM sandbox/busybox:1' \
  "RUN mkdir -p /www/api && echo '{\"version\":\"7.12.0\",\"success\":true}' > /www/api/info" \
  'CMD ["httpd","-f","-p","3000","-h","/www"]' >"$img/rocketchat/Dockerfile"
cat >"$img/ollama/ollama" <<'EOF'
#!/bin/sh
case $1 in
  serve) mkdir -p /www && echo ok >/www/index.html && exec httpd -f -p 11434 -h /www ;;
  list) exec wget -q -O /dev/null http://127.0.0.1:11434/ ;;
  pull) echo "stand-in: pulling $2" && exec wget -q -O /dev/null "$OLLAMA_HOST/" ;;
  *) exit 2 ;;
esac
EOF
printf 'FROM sandbox/busybox:1\nCOPY ollama /bin/ollama\nRUN chmod 755 /bin/ollama\nENTRYPOINT ["/bin/ollama"]\nCMD ["serve"]\n' >"$img/ollama/Dockerfile"
printf '%s\n' 'FROM sandbox/busybox:1' 'RUN mkdir -p /www && echo gitlab > /www/index.html' \
  'CMD ["httpd","-f","-p","80","-h","/www"]' >"$img/gitlab/Dockerfile"
for s in mongo rocketchat ollama gitlab; do
  docker build -q -t "heyken-fake/$s:$tag" "$img/$s" >/dev/null 2>"$scratch/build.log" ||
    { cat "$scratch/build.log" >&2; die "building the stand-in $s failed"; }
done

# ---------------------------------------------------------------- a scratch installation
mkdir -p "$root" "$data"
cp -r "$HEYKEN_ROOT/scripts" "$HEYKEN_ROOT/docker" "$root/"
cat >"$root/scripts/setup_rocketchat.sh" <<'EOF'
#!/usr/bin/env bash
# stand-in of the provisioning: records the URL it was given
curl -fsS "$ROCKETCHAT_URL/api/info" >/dev/null && echo "$ROCKETCHAT_URL" >"$(dirname "$0")/../setup-ran"
EOF
chmod +x "$root/scripts/setup_rocketchat.sh"
base=''
for _ in $(seq 1 50); do
  b=$((20000 + RANDOM % 30000))
  taken=0
  for o in $(seq 0 13) 110 111 112 113 210 211 212 213; do port_open $((b + o)) && { taken=1; break; }; done
  ((taken)) || { base=$b; break; }
done
[[ -n $base ]] || die "no free range of ports"
cat >"$root/.env" <<EOF
MONGO_IMAGE=heyken-fake/mongo:$tag
ROCKETCHAT_IMAGE=heyken-fake/rocketchat:$tag
OLLAMA_IMAGE=heyken-fake/ollama:$tag
GITLAB_IMAGE=heyken-fake/gitlab:$tag
HEYKEN_CORE_IMAGE=heyken/core:$tag
HEYKEN_MONGO_PORT=$base
HEYKEN_MONGO_URI=mongodb://mongo:$base/heyken
ROCKETCHAT_PORT=$((base + 1))
ROCKETCHAT_URL=http://127.0.0.1:$((base + 1))
OLLAMA_PORT=$((base + 2))
OLLAMA_URL=http://127.0.0.1:$((base + 2))
GITLAB_PORT=$((base + 3))
GITLAB_SSH_PORT=$((base + 4))
HEYKEN_CORE1_PORT=$((base + 5))
HEYKEN_CORE2_PORT=$((base + 6))
HEYKEN_CORE1_MANAGEMENT_PORT=$((base + 7))
HEYKEN_CORE2_MANAGEMENT_PORT=$((base + 8))
HEYKEN_REGISTRY_PORT=$((base + 10))
HEYKEN_SANDBOX_PORT=$((base + 11))
HEYKEN_LOGGER_PORT=$((base + 12))
HEYKEN_MONITOR_PORT=$((base + 13))
HEYKEN_CORE_JAVA_OPTS="-Xms64m -Xmx384m -XX:+ExitOnOutOfMemoryError"
EOF
export HEYKEN_ENV_FILE=$root/.env HEYKEN_DEPLOY_DATA_DIR=$data HEYKEN_COMPOSE_PROJECT=$project HEYKEN_DATA_DIR=$root/data
run() {
  local script=$1
  shift
  HEYKEN_ROOT=$root "$root/scripts/$script" "$@"
}
cid() { docker ps -a -q --filter "label=com.docker.compose.project=$project" --filter "label=com.docker.compose.service=$1"; }
active_core() { curl -s --max-time 3 "http://127.0.0.1:$((base + 13))/api/status" | json_number active_core; }

# ---------------------------------------------------------------- deploy
info "-- deploy.sh (project $project, ports from $base)"
t0=$(now_s)
run deploy.sh --no-build --timeout 600 >"$scratch/deploy.log" 2>&1 || { tail -n 40 "$scratch/deploy.log" >&2; die "deploy.sh failed (log above)"; }
info "deploy.sh: ok in $(elapsed_s "$t0" "$(now_s)") s"
[[ $(cat "$root/setup-ran" 2>/dev/null) == "http://127.0.0.1:$((base + 1))" ]] || fail "setup_rocketchat.sh did not run against Rocket.Chat"
grep -q "Rocket.Chat      http://.*:$((base + 1))" "$scratch/deploy.log" || fail "deploy.sh did not print Rocket.Chat's URL"
rc_line=$(grep -n 'Rocket.Chat on' "$scratch/deploy.log" | head -n 1 | cut -d: -f1)
core_line=$(grep -n 'core-1 (healthy' "$scratch/deploy.log" | head -n 1 | cut -d: -f1)
((${rc_line:-999} < ${core_line:-0})) || fail "deploy.sh did not wait for Rocket.Chat before the cores"
run status.sh >/dev/null 2>&1 || fail "status.sh is not healthy after deploy.sh"
[[ $(docker exec "$(cid core-1)" id -u) == 10001 ]] || fail "core-1 does not run as uid 10001"

info "-- a pipeline in the Docker sandbox, started by the containerized core"
token=$(sed -n 's/^HEYKEN_API_TOKEN=//p' "$root/.env")
api() { curl -s --max-time 20 -H "Authorization: Bearer $token" -H 'Content-Type: application/json' "$@"; }
sandbox=http://127.0.0.1:$((base + 11))
created=$(api -X POST "$sandbox/api/features/create" -d '{"name":"flowcheck","description":"deploy flow","files":{".gitlab-ci.yml":"test:\n  stage: test\n  image: busybox\n  script:\n    - echo from-sandbox > out.txt\n    - cat out.txt\n"}}')
fid=$(sed -nE 's/.*"feature_id":"([^"]+)".*/\1/p' <<<"$created")
run_json=''
if [[ -z $fid ]]; then
  fail "creating a feature failed: ${created:0:300}"
else
  url=$(api -X POST "$sandbox/api/features/test" -d "{\"feature_id\":\"$fid\"}" | sed -nE 's/.*"status_url":"([^"]+)".*/\1/p')
  deadline=$((SECONDS + 180))
  while [[ -n $url ]] && ((SECONDS < deadline)); do
    run_json=$(api "$sandbox$url")
    [[ $run_json == *'"status":"passed"'* || $run_json == *'"status":"failed"'* ]] && break
    sleep 2
  done
  [[ $run_json == *'"status":"passed"'* && $run_json == *'"backend":"docker"'* && $run_json == *from-sandbox* ]] ||
    fail "the pipeline did not pass in the Docker sandbox: ${run_json:0:400}"
fi

info "-- kill -9 of the active core's JVM"
was=$(active_core)
[[ $was =~ ^[12]$ ]] || die "no active core before the kill"
other=$((3 - was))
kill -9 "$(docker inspect -f '{{.State.Pid}}' "$(cid "core-$was")")"
deadline=$((SECONDS + 180))
until [[ $(active_core) == "$other" ]] || ((SECONDS >= deadline)); do sleep 1; done
[[ $(active_core) == "$other" ]] || fail "core-$other did not become active after core-$was was killed"
until [[ $(docker inspect -f '{{.State.Health.Status}}' "$(cid "core-$was")") == healthy ]] || ((SECONDS >= deadline)); do sleep 2; done
[[ $(docker inspect -f '{{.RestartCount}}' "$(cid "core-$was")") -ge 1 ]] || fail "Docker did not restart core-$was"
[[ $(docker inspect -f '{{.State.Health.Status}}' "$(cid "core-$was")") == healthy ]] || fail "core-$was is not healthy again"

info "-- deploy.sh again, then stop.sh"
before="$(cid core-1) $(cid core-2) $(cid mongo) $(cid rocketchat)"
run deploy.sh --no-build --timeout 600 >"$scratch/deploy2.log" 2>&1 || { tail -n 30 "$scratch/deploy2.log" >&2; fail "deploy.sh failed the second time"; }
[[ "$(cid core-1) $(cid core-2) $(cid mongo) $(cid rocketchat)" == "$before" ]] || fail "deploy.sh again recreated containers"
run stop.sh >"$scratch/stop.log" 2>&1 || { tail -n 20 "$scratch/stop.log" >&2; fail "stop.sh failed"; }
left=$(docker ps -a -q --filter "label=com.docker.compose.project=$project" | wc -l)
((left == 0)) || fail "$left container(s) of the deployment left after stop.sh"
docker volume inspect "${project}_mongo-data" >/dev/null 2>&1 || fail "stop.sh removed the MongoDB volume"

((failures == 0)) || die "$failures check(s) of the deployment flow failed (see above)."
ok "deployment flow: deploy, provisioning, sandbox through the host's engine, failover with restart, idempotent redeploy, stop — all ok ($(elapsed_s "$t0" "$(now_s)") s)"
