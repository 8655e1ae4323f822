#!/usr/bin/env bash
# What a SQLite store with N consumers costs a request: llmgw with one API key in the config
# file against llmgw with a store of N consumers (one key each), the same key coming from
# the store (so every request also adds its row to the usage ledger).
#
# Alternates the two setups RUNS times (one llmgw worker on CPU 0; wrk, 32 connections, and
# the fake model server on CPU 1; 2 s warm-up, then DURATION seconds) and prints, per pair,
# requests/s and llmgw's CPU time per request (all threads, /proc/PID/task/*/schedstat),
# then the median (min–max) of the store / file ratios.
# Usage: bench/store_path.sh [N]   (default 100000)   RUNS=3 DURATION=10
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
B=$ROOT/build
N=${1:-100000}
RUNS=${RUNS:-3}
DURATION=${DURATION:-10}
W=$(mktemp -d /tmp/llmgw-store-path.XXXXXX)
PIDS=()
cleanup() {
  local pid
  for pid in "${PIDS[@]+"${PIDS[@]}"}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM  # so the EXIT trap stops what was started
for tool in wrk curl sqlite3 taskset python3; do command -v $tool >/dev/null || { echo "needs $tool" >&2; exit 1; }; done
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
cpu_ns() { cat /proc/"$1"/task/*/schedstat | awk '{ n += $1 } END { printf "%.0f", n }'; }

taskset -c 1 "$B/tools/fake_model_server/llmgw-fake-model" --listen 127.0.0.1:0 --threads 1 >"$W/fake.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 50); do UP=$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$W/fake.log"); [[ -n $UP ]] && break; sleep 0.1; done
PORT=$(free_port); ADMIN=$(free_port)
KEY=llmgw_$(printf '%048x' 0)  # customer-000000's key in the store
export BENCH_API_KEY=$KEY
conf() {  # conf NAME EXTRA_YAML
  cat >"$W/$1.yaml" <<YAML
server: { listen: "127.0.0.1:$PORT", workers: 1 }
admin: { listen: "127.0.0.1:$ADMIN" }
logging: { level: warn, access_log: off }
tiers: { free: {} }
backends: { fake: { endpoints: [ { url: "http://127.0.0.1:$UP" } ] } }
routes: [ { name: bench, backend: fake, match: { path_prefix: / } } ]
$2
YAML
}
conf file "consumers: [ { name: file, tier: free, keys: [ { sha256: \"$(printf %s "$KEY" | sha256sum | cut -d' ' -f1)\" } ] } ]"
conf store "store: { url: \"sqlite://$W/store.db\" }"
PID=
start() {
  taskset -c 0 "$B/src/llmgw" --config "$W/$1.yaml" >"$W/$1.log" 2>&1 & PID=$!
  PIDS+=("$PID")
  until curl -sf "http://127.0.0.1:$ADMIN/readyz" >/dev/null 2>&1; do
    kill -0 "$PID" 2>/dev/null || { cat "$W/$1.log" >&2; exit 1; }
    sleep 0.05
  done
}
stop() { kill "$PID"; wait "$PID" 2>/dev/null || true; }

start store; stop  # the schema, made by llmgw
echo "filling the store with $N consumers..." >&2
python3 "$ROOT/bench/fill_store.py" "$N" | sqlite3 "$W/store.db"

measure() {  # measure NAME: sets RPS and CPU_US
  start "$1"
  local code line t0 n
  code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $KEY" -X POST \
    "http://127.0.0.1:$PORT/v1/chat/completions" -d '{"model":"fake-model","messages":[{"role":"user","content":"hi"}]}')
  [[ $code == 200 ]] || { echo "$1: the key got $code" >&2; exit 1; }
  taskset -c 1 wrk -t1 -c32 -d2s -s "$ROOT/bench/chat.lua" "http://127.0.0.1:$PORT" >/dev/null
  t0=$(cpu_ns "$PID")
  line=$(taskset -c 1 wrk -t1 -c32 -d"${DURATION}s" --latency -s "$ROOT/bench/chat.lua" "http://127.0.0.1:$PORT" | grep '^BENCH ')
  n=$(sed -n 's/.* requests=\([0-9]*\).*/\1/p' <<<"$line")
  RPS=$(sed -n 's/.* rps=\([^ ]*\).*/\1/p' <<<"$line")
  CPU_US=$(awk -v t=$(( $(cpu_ns "$PID") - t0 )) -v n="$n" 'BEGIN { printf "%.1f", t / 1000 / n }')
  stop
}

echo "| pair | load average | file key: req/s | µs CPU/req | store ($N): req/s | µs CPU/req | req/s ratio | CPU ratio |"
echo "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |"
RATIOS=(); CPUS=()
for run in $(seq "$RUNS"); do
  measure file; f_rps=$RPS; f_cpu=$CPU_US
  measure store; s_rps=$RPS; s_cpu=$CPU_US
  r=$(awk -v a="$s_rps" -v b="$f_rps" 'BEGIN { printf "%.2f", a / b }'); RATIOS+=("$r")
  c=$(awk -v a="$s_cpu" -v b="$f_cpu" 'BEGIN { printf "%.2f", a / b }'); CPUS+=("$c")
  echo "| $run | $(cut -d' ' -f1-3 /proc/loadavg) | $f_rps | $f_cpu | $s_rps | $s_cpu | $r | $c |"
done
median() { printf '%s\n' "$@" | sort -n | awk '{ r[NR] = $1 } END { printf "%s (%s–%s)", r[int((NR + 1) / 2)], r[1], r[NR] }'; }
echo
echo "store / file over $RUNS pairs: requests/s $(median "${RATIOS[@]}"), CPU per request $(median "${CPUS[@]}")"
