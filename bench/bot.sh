#!/usr/bin/env bash
# Usage: bench/bot.sh [--messages N] [--kind question|command|both] [--no-build]
#
# heyken_bot's reply latency without the language model's time (a benchmark, not a test). Starts the
# Rocket.Chat and Ollama stand-ins (testkit; Ollama answers at once) and a temporary Heyken installation
# (the embedded store and both cores as real JVMs from the fat jar, on free ports, in a temporary data
# directory), so a running installation is never disturbed. Each message is a DM question to heyken_bot
# through the real path: Rocket.Chat stand-in -> realtime push -> chat gateway -> the room's conversation
# (sharded, persisted) -> status context and the model client -> REST post back to the stand-in; the
# latency runs from the user's message being stored to the bot's reply being stored. Rooms wait for
# their reply before the next message and run in parallel.
# The reply is there when the bot's message holds the whole answer (a question that waited for the model
# is first told its place in the queue, then edited). Prints p50/p99/max/mean over N messages (default
# 200) with 1 room and with 20 rooms, after 40 warm-up messages, for questions (through the model client)
# and for commands (whoami: no model). Targets: p50 <= 50 ms, p99 <= 200 ms.
#
#   --messages N   messages per run (default 200)
#   --kind K       question, command or both (default both)
#   --no-build     use the jar and compiled test classes as they are
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=scripts/lib/common.sh
source "$ROOT/scripts/lib/common.sh"
# shellcheck source=bench/lib/installation.sh
source "$ROOT/bench/lib/installation.sh"

messages=200
kinds=(question command)
build=1
while (($#)); do
  case $1 in
    -h | --help) print_help "$0"; exit 0 ;;
    --messages) messages=$(positive_arg --messages "${2:-}"); shift ;;
    --kind)
      case ${2:-} in
        question | command) kinds=("$2") ;;
        both) kinds=(question command) ;;
        *) die "--kind needs question, command or both" ;;
      esac
      shift
      ;;
    --no-build) build=0 ;;
    *) usage_error "unknown argument: $1" ;;
  esac
  shift
done
require_java
bench_java_classes "$build"
jar=$BENCH_JAR
# the stand-ins and the bench run on the jar's libraries plus the testkit's classes; each kind gets a fresh
# installation
figures=()
for kind in "${kinds[@]}"; do
  info "== $kind: $messages messages with 1 room, then with 20 rooms"
  out=$(java -Xmx512m -Dbench.messages="$messages" -Dbench.kind="$kind" \
    -cp "$jar:$ROOT/testkit/target/classes:$ROOT/cores/target/test-classes" heyken.cores.bench.BotBench "$jar" 2>&1 | grep -v --line-buffered " INFO " |
    tee /dev/stderr) || die "the $kind run failed"
  while IFS= read -r line; do figures+=("$line"); done < <(grep -E '^  (questions|commands)' <<<"$out")
done
echo
echo "heyken_bot reply latency, language model excluded (the Ollama stand-in answers at once):"
printf '%s\n' "${figures[@]}"
