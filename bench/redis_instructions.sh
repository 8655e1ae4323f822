#!/usr/bin/env bash
# Instructions redis-server executes per admission for `redis.admission: exact`, counted by
# callgrind: steady on a busy machine, where redis-server's CPU time per request is not. For
# deciding whether a change to the admission script helps.
#
# Usage: bench/redis_instructions.sh [CALLS]
#   CALLS  a file of recorded script calls to replay (one JSON list of arguments a line, as
#          bench/redis_calls.py captures them; gzipped too: bench/redis_calls.jsonl.gz is the
#          recording of docs/benchmarks.md). Without it, the calls are first recorded:
#          llmgw (one worker, bench/llmgw-limits.yaml plus `redis.admission: exact`, not under
#          valgrind) serves bench/chat.lua's request on 8 connections (CONNECTIONS) for 2 s of warm-up, then
#          3 s during which redis-server's MONITOR records every EVALSHA llmgw sends, into
#          bench/results/redis_calls.jsonl.
# Then the calls are replayed, one at a time, to a fresh redis-server under callgrind running
# the batch script of this worktree's src/limits/limit_scripts.cpp (or of SCRIPT_SOURCE, such
# as another version's: `git show main:src/limits/limit_scripts.cpp >/tmp/main.cpp`). Replaying one file keeps
# the batches (how many admissions, settles and usage records each call carries) the same
# from one script to the next. Prints redis-server's instructions per admission: all of them
# (network, parsing, the script) and those inside EVALSHA alone; keeps callgrind's output in
# bench/results/callgrind.redis.out. Loopback only.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CALLS=${1:-}
BUILD=${BUILD:-$ROOT/build}  # where llmgw and the fake model server were built
BIN=$BUILD/src/llmgw
FAKE=$BUILD/tools/fake_model_server/llmgw-fake-model
OUT=$ROOT/bench/results/callgrind.redis.out
mkdir -p "$ROOT/bench/results"
BENCH_NAME=redis_instructions.sh
source "$ROOT/bench/common.sh"
require_tools valgrind callgrind_control callgrind_annotate wrk redis-server
redis_args=(--bind 127.0.0.1 --save '' --appendonly no --dir "$WORK" --daemonize no --logfile '')

capture() { # capture FILE
  "$FAKE" --listen 127.0.0.1:0 --threads 1 --id redis-instructions >"$WORK/fake.log" 2>&1 &
  PIDS+=($!)
  for _ in $(seq 100); do grep -q '^listening on' "$WORK/fake.log" && break; sleep 0.05; done
  export UPSTREAM_PORT=$(sed -n 's/^listening on .*:\([0-9][0-9]*\)$/\1/p' "$WORK/fake.log")
  local api_key redis_port port admin_port
  api_key="sk-llmgw-$(openssl rand -hex 32)"
  export BENCH_KEY_SHA256=$(printf %s "$api_key" | sha256sum | cut -d' ' -f1)
  redis_port=$(free_port)
  redis-server "${redis_args[@]}" --port "$redis_port" >/dev/null &
  PIDS+=($!)
  wait_port "$redis_port"
  port=$(free_port)
  admin_port=$(free_port)
  sed -e "/^server:/,/^[^ #]/ s/^\( *listen:\).*/\1 \"127.0.0.1:$port\"/" \
    -e "/^admin:/,/^[^ #]/ s/^\( *listen:\).*/\1 \"127.0.0.1:$admin_port\"/" \
    "$ROOT/bench/llmgw-limits.yaml" >"$WORK/llmgw.yaml"
  printf 'redis:\n  url: "redis://127.0.0.1:%s/0"\n  admission: exact\n' "$redis_port" >>"$WORK/llmgw.yaml"
  "$BIN" --config "$WORK/llmgw.yaml" >"$WORK/llmgw.log" 2>&1 &
  PIDS+=($!)
  wait_port "$port"
  BENCH_API_KEY=$api_key wrk -t1 -c"${CONNECTIONS:-8}" -d5s -s "$ROOT/bench/chat.lua" \
    "http://127.0.0.1:$port/v1/chat/completions" >"$WORK/wrk.log" &
  local load=$!
  sleep 2
  python3 "$ROOT/bench/redis_calls.py" capture "$redis_port" 3 "$1"
  wait "$load"
  grep -q ' non2xx=0 ' "$WORK/wrk.log" || { echo "redis_instructions.sh: load failed" >&2; cat "$WORK/wrk.log" >&2; exit 1; }
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  PIDS=()
}

if [[ -z $CALLS ]]; then
  CALLS=$ROOT/bench/results/redis_calls.jsonl
  capture "$CALLS"
fi
port=$(free_port)
valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$OUT" \
  redis-server "${redis_args[@]}" --port "$port" >"$WORK/redis.log" 2>&1 &
REDIS=$!
PIDS+=($REDIS)
wait_port "$port"
sha=$(python3 "$ROOT/bench/redis_calls.py" load "$port" "${SCRIPT_SOURCE:-$ROOT/src/limits/limit_scripts.cpp}" "${SCRIPT_CALL:-function}")
callgrind_control -i on "$REDIS" >/dev/null 2>&1
counts=$(python3 "$ROOT/bench/redis_calls.py" replay "$port" "$CALLS" "$sha")
callgrind_control -i off "$REDIS" >/dev/null 2>&1
kill -TERM "$REDIS"
wait "$REDIS" 2>/dev/null || true
total=$(sed -n 's/^totals: \([0-9]*\).*/\1/p;s/^summary: \([0-9]*\).*/\1/p' "$OUT"* | awk '{s+=$1} END {print s+0}')
script=$(callgrind_annotate --inclusive=yes "$OUT" 2>/dev/null | awk '/:(evalShaCommand|fcallCommand) / && !found {gsub(",", "", $1); print $1; found = 1}')
admissions=$(sed -n 's/.*admissions=\([0-9]*\).*/\1/p' <<<"$counts")
((admissions > 0)) || { echo "redis_instructions.sh: no admission replayed" >&2; exit 1; }
calls=$(sed -n 's/.*calls=\([0-9]*\).*/\1/p' <<<"$counts")
echo "redis instructions/admission=$((total / admissions)) in the call=$((${script:-0} / admissions)) per call=$((total / calls)) $counts"
