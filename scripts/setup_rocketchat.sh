#!/usr/bin/env bash
# Usage: scripts/setup_rocketchat.sh
#
# Provisions Rocket.Chat for Heyken (the active core also does it at start when ROCKETCHAT_URL is set):
# finishes the setup wizard, creates the bot (ROCKETCHAT_BOT_USERNAME, default heyken_bot) and the human
# user (ROCKETCHAT_HUMAN_USERNAME, default user) with unverified emails (no email 2FA), the channels
# heyken-system and heyken-logs and the private group heyken-sandbox (members given at creation), and adds
# missing members to those and to the existing general. Prints every step; idempotent: a second run
# changes nothing and says so.
#
# Reads .env (scripts/init.sh writes the accounts): ROCKETCHAT_URL, ROCKETCHAT_ADMIN_USERNAME/_PASSWORD,
# ROCKETCHAT_BOT_USERNAME/_PASSWORD, ROCKETCHAT_HUMAN_USERNAME/_PASSWORD.
# Exit status: 0 done or nothing to do, 1 a step needs a person (printed), 2 not configured or refused.
set -euo pipefail
# shellcheck source=scripts/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

no_arguments "$@"
heyken_load_env
require_java
[[ -n ${ROCKETCHAT_URL:-} ]] || die "ROCKETCHAT_URL is not set: add it to $HEYKEN_ENV_FILE (e.g. ROCKETCHAT_URL=http://127.0.0.1:3100)."
[[ -f $HEYKEN_JAR ]] || die "$HEYKEN_JAR is missing: build it with mvn -B -q -DskipTests package (or ./scripts/run_heyken.sh)."

# shellcheck disable=SC2046 # the options are words
exec java $(heyken_java_opts) -jar "$HEYKEN_JAR" setup-rocketchat
