#!/usr/bin/env bash
# What a SQLite store with many consumers costs at start: load time and memory per key.
#
# Creates a store with llmgw's own migrations, fills it with N consumers of one key each
# (bulk SQL through the sqlite3 shell: the admin API would take longer than the bench),
# then starts llmgw on it and on an empty store and reports:
#   load time      from the process start until /readyz answers 200 (keys in memory)
#   memory per key (RSS with N keys - RSS with none) / N, after the load
# Usage: bench/store_load.sh [N]   (default 100000). Loopback only; everything it starts
# is stopped at the end. The plain-path throughput comparison is bench/run.sh's job.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
LLMGW_BIN=$ROOT/build/src/llmgw
N=${1:-100000}
WORK=$(mktemp -d /tmp/llmgw-store-bench.XXXXXX)
# The llmgw processes started (one a line): start() runs in a subshell.
cleanup() {
  stop_all
  rm -rf "$WORK"
}
trap cleanup EXIT

command -v sqlite3 >/dev/null || { echo "needs the sqlite3 shell (apt-get install sqlite3)" >&2; exit 1; }
[[ -x $LLMGW_BIN ]] || { echo "build llmgw first ($LLMGW_BIN)" >&2; exit 1; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

config() {  # config DB PORT ADMIN_PORT
  cat <<YAML
server: { listen: "127.0.0.1:$2", workers: 1 }
admin: { listen: "127.0.0.1:$3" }
logging: { level: warn, access_log: "off" }
tiers: { free: {} }
backends: { vllm: { endpoints: [ { url: "http://127.0.0.1:9" } ] } }
routes: [ { name: chat, backend: vllm, match: { path_prefix: /v1/ } } ]
store: { url: "sqlite://$1" }
YAML
}

# start DB: prints "load_ms rss_kib" once /readyz answers, leaves the process running.
start() {
  local port admin started pid
  port=$(free_port); admin=$(free_port)
  config "$1" "$port" "$admin" > "$1.yaml"
  started=$(date +%s%N)
  "$LLMGW_BIN" --config "$1.yaml" >/dev/null 2>"$1.log" & pid=$!
  echo "$pid" >> "$WORK/pids"
  until curl -sf "http://127.0.0.1:$admin/readyz" >/dev/null 2>&1; do
    kill -0 "$pid" 2>/dev/null || { cat "$1.log" >&2; exit 1; }
    sleep 0.01
  done
  echo "$(( ($(date +%s%N) - started) / 1000000 )) $(awk '/VmRSS/ {print $2}' "/proc/$pid/status")"
}

stop_all() {
  [[ -f $WORK/pids ]] || return 0
  while read -r pid; do
    kill "$pid" 2>/dev/null || true
    while kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
  done < "$WORK/pids"
  rm -f "$WORK/pids"
}

# The schema, made by llmgw itself.
start "$WORK/empty.db" >/dev/null; stop_all
cp "$WORK/empty.db" "$WORK/full.db"

echo "filling the store with $N consumers..." >&2
python3 "$ROOT/bench/fill_store.py" "$N" | sqlite3 "$WORK/full.db"

read -r empty_ms empty_rss < <(start "$WORK/empty.db"); stop_all
read -r full_ms full_rss < <(start "$WORK/full.db"); stop_all
per_key=$(( (full_rss - empty_rss) * 1024 / N ))
cat <<REPORT
| store | consumers (one key each) | start to ready | RSS |
| --- | --- | --- | --- |
| SQLite, empty | 0 | ${empty_ms} ms | $((empty_rss / 1024)) MiB |
| SQLite | $N | ${full_ms} ms | $((full_rss / 1024)) MiB |

Memory per consumer with one key: about ${per_key} bytes.
REPORT
