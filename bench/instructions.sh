#!/usr/bin/env bash
# Instructions llmgw executes per request, counted by callgrind: user space only, and steady
# on a busy machine where requests/s and CPU time are not (a compile next door moves them by
# half). For deciding whether a change to the request path helps; bench/run.sh gives the
# throughput figures.
#
# Usage: bench/instructions.sh SETUP [SECONDS]
#   SETUP    plain | limits | exact | lease | trace1 | trace0.01 | cache
#            (the setups of bench/run.sh: llmgw, llmgw+limits, llmgw+redis, llmgw+redis-lease,
#            llmgw+trace1, llmgw+trace0.01, llmgw+cache)
#   SECONDS  measured (default 5), after a 2 s warm-up; 8 connections
#   LLMGW_BIN=PATH  another llmgw build to count (a before/after pair)
# Prints `instructions/request=N requests=N` and keeps callgrind's output in
# bench/results/callgrind.SETUP.out (read it with callgrind_annotate). Loopback only.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SETUP=${1:?usage: bench/instructions.sh SETUP [SECONDS]}
SECONDS_MEASURED=${2:-5}
BIN=${LLMGW_BIN:-$ROOT/build/src/llmgw}  # LLMGW_BIN: another build (a before/after pair)
FAKE=$ROOT/build/tools/fake_model_server/llmgw-fake-model
OUT=$ROOT/bench/results/callgrind.$SETUP.out
mkdir -p "$ROOT/bench/results"
BENCH_NAME=instructions.sh
source "$ROOT/bench/common.sh"
require_tools valgrind callgrind_control wrk redis-server

"$FAKE" --listen 127.0.0.1:0 --threads 1 --id instructions >"$WORK/fake.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 100); do grep -q '^listening on' "$WORK/fake.log" && break; sleep 0.05; done
export UPSTREAM_PORT=$(sed -n 's/^listening on .*:\([0-9][0-9]*\)$/\1/p' "$WORK/fake.log")
PORT=$(free_port)
ADMIN_PORT=$(free_port)
export BENCH_KEY_SHA256=
API_KEY= # not exported: only wrk gets it (below)
source_config=$ROOT/bench/llmgw.yaml
extra=
case $SETUP in
  plain) ;;
  limits | exact | lease)
    source_config=$ROOT/bench/llmgw-limits.yaml
    API_KEY="sk-llmgw-$(openssl rand -hex 32)"
    BENCH_KEY_SHA256=$(printf %s "$API_KEY" | sha256sum | cut -d' ' -f1)
    if [[ $SETUP != limits ]]; then
      redis_port=$(free_port)
      redis-server --bind 127.0.0.1 --port "$redis_port" --save '' --appendonly no \
        --dir "$WORK" --daemonize no --logfile '' >/dev/null &
      PIDS+=($!)
      wait_port "$redis_port"
      extra=$(printf 'redis:\n  url: "redis://127.0.0.1:%s/0"\n  admission: %s' "$redis_port" "$SETUP")
    fi ;;
  trace1 | trace0.01)
    sink_port=$(free_port)
    "$ROOT/build/tools/otlp_sink/llmgw-otlp-sink" "$sink_port" >"$WORK/sink.log" 2>&1 &
    PIDS+=($!)
    wait_port "$sink_port"
    extra=$(printf 'tracing:\n  endpoint: "http://127.0.0.1:%s/v1/traces"\n  sample_ratio: %s' "$sink_port" "${SETUP#trace}") ;;
  cache) source_config=$ROOT/bench/llmgw-cache.yaml ;;
  *) echo "instructions.sh: unknown setup $SETUP" >&2; exit 2 ;;
esac
sed -e "/^server:/,/^[^ #]/ s/^\( *listen:\).*/\1 \"127.0.0.1:$PORT\"/" \
  -e "/^admin:/,/^[^ #]/ s/^\( *listen:\).*/\1 \"127.0.0.1:$ADMIN_PORT\"/" \
  "$source_config" >"$WORK/llmgw.yaml"
[[ -n $extra ]] && printf '%s\n' "$extra" >>"$WORK/llmgw.yaml"
# The malloc tuning llmgw gives itself by re-executing (src/server/malloc_tuning.cpp), given
# here instead: callgrind does not follow an exec.
GLIBC_TUNABLES=glibc.malloc.tcache_count=256 \
  valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$OUT" \
  "$BIN" --config "$WORK/llmgw.yaml" >"$WORK/llmgw.log" 2>&1 &
GW=$!
PIDS+=($GW)
wait_port "$PORT"
load() { BENCH_API_KEY=$API_KEY wrk -t1 -c8 -d"$1s" -s "$ROOT/bench/chat.lua" "http://127.0.0.1:$PORT/v1/chat/completions"; }
load 2 >/dev/null
callgrind_control -i on "$GW" >/dev/null 2>&1
requests=$(load "$SECONDS_MEASURED" | sed -n 's/.*BENCH requests=\([0-9]*\).*/\1/p')
callgrind_control -i off "$GW" >/dev/null 2>&1
kill -TERM "$GW"
wait "$GW" 2>/dev/null || true
total=$(sed -n 's/^totals: \([0-9]*\).*/\1/p;s/^summary: \([0-9]*\).*/\1/p' "$OUT"* | awk '{s+=$1} END {print s+0}')
((requests > 0)) || { echo "instructions.sh: no request measured" >&2; cat "$WORK/llmgw.log" >&2; exit 1; }
echo "instructions/request=$((total / requests)) requests=$requests setup=$SETUP"
