#!/usr/bin/env bash
# Memory per held SSE stream, in about a minute: bench/run.sh's streaming setup for one proxy.
# A fake model server (one thread) sends each stream its first event, pauses HOLD_MS, then a
# few more events; llmgw-bench-client holds STREAMS of them open at once through the proxy.
# Prints the proxy's VmRSS idle (after one verified stream) and with every stream open, the
# difference per stream, its CPU time per event, and the streams lost.
#
# Usage: bench/stream_memory.sh [llmgw|nginx] [STREAMS]   (default: llmgw 2000)
#   LLMGW_BIN=...        the llmgw binary (default build/src/llmgw)
#   HOLD_MS=8000         pause after each stream's first event
#   HEAPTRACK=1          run llmgw under heaptrack (its output in the temp dir, path printed)
#   LLMGW_ENV='A=1 B=2'  environment for llmgw only (LD_PRELOAD=..., GLIBC_TUNABLES=...)
#   KEEP_RUNNING=1       do not stop the streams' proxy until Enter (to look at it meanwhile)
# Loopback only; every process started here is stopped on exit.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PROXY=${1:-llmgw}
STREAMS=${2:-2000}
HOLD_MS=${HOLD_MS:-8000}
EVENTS=5
INTERVAL_MS=100
LLMGW_BIN=${LLMGW_BIN:-$ROOT/build/src/llmgw}
FAKE_BIN=${FAKE_BIN:-$ROOT/build/tools/fake_model_server/llmgw-fake-model}
CLIENT_BIN=${CLIENT_BIN:-$ROOT/build/tools/bench_client/llmgw-bench-client}
HOST=127.0.0.1
BODY='{"model":"fake-model","messages":[{"role":"user","content":"Say hello."}],"max_tokens":16,"stream":true,"stream_options":{"include_usage":true}}'

WORK=$(mktemp -d /tmp/llmgw-stream-memory.XXXXXX)
PIDS=()
cleanup() {
  local p
  # heaptrack's llmgw is a child of heaptrack's script: it must end itself for the trace to close.
  [[ -n ${HEAPTRACK-} && -n ${PID-} ]] && pkill -TERM -P "$PID" 2>/dev/null
  for p in "${PIDS[@]+"${PIDS[@]}"}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]+"${PIDS[@]}"}"; do wait "$p" 2>/dev/null || true; done
  [[ -n ${HEAPTRACK-} ]] || rm -rf "$WORK"
}
trap cleanup EXIT
die() { echo "stream_memory: $*" >&2; exit 1; }

ulimit -n "$(ulimit -Hn)"
free_port() { # a free port below the ephemeral range
  local p
  while :; do
    p=$((20000 + RANDOM % 12000))
    [[ -z $(ss -Htan "( sport = :$p )") ]] && { echo "$p"; return; }
  done
}
wait_port() { # wait_port PORT PID
  local i
  for ((i = 0; i < 200; i++)); do
    kill -0 "$2" 2>/dev/null || die "process $2 exited during startup (logs in $WORK)"
    [[ -n $(ss -Htln "( sport = :$1 )") ]] && return
    sleep 0.05
  done
  die "nothing listens on port $1 (logs in $WORK)"
}
rss_kib() { # VmRSS of PID and its children
  local p total=0 kib
  for p in "$1" $(pgrep -P "$1" || true); do
    kib=$(awk '/^VmRSS:/ { print $2 }' "/proc/$p/status" 2>/dev/null) || continue
    total=$((total + ${kib:-0}))
  done
  echo "$total"
}
cpu_ticks() {
  local p total=0 stat f
  for p in "$1" $(pgrep -P "$1" || true); do
    stat=$(cat "/proc/$p/stat" 2>/dev/null) || continue
    read -r -a f <<<"${stat##*) }"
    total=$((total + f[11] + f[12]))
  done
  echo "$total"
}
field() { sed -n "s/.*\b$1=\([0-9]*\).*/\1/p" <<<"$2"; }

"$FAKE_BIN" --listen "$HOST:0" --threads 1 --id stream-memory >"$WORK/fake.log" 2>&1 &
PIDS+=($!)
for ((i = 0; i < 100; i++)); do
  FAKE_PORT=$(sed -n 's/^listening on .*:\([0-9][0-9]*\)$/\1/p' "$WORK/fake.log")
  [[ -n $FAKE_PORT ]] && break
  sleep 0.05
done
[[ -n ${FAKE_PORT-} ]] || die "the fake model server reported no port"

PORT=$(free_port)
case $PROXY in
  llmgw)
    ADMIN_PORT=$(free_port)
    cat >"$WORK/llmgw.yaml" <<EOF
server:
  listen: "$HOST:$PORT"
  workers: 1
  max_connections: $((STREAMS + 100))
admin:
  listen: "$HOST:$ADMIN_PORT"
backends:
  fake:
    timeouts: { idle: 150s }
    endpoints:
      - url: "http://$HOST:$FAKE_PORT"
routes:
  - name: bench
    match: { path_prefix: / }
    backend: fake
logging:
  level: warn
  access_log: off
EOF
    if [[ -n ${HEAPTRACK-} ]]; then
      env ${LLMGW_ENV-} heaptrack -o "$WORK/heaptrack" "$LLMGW_BIN" --config "$WORK/llmgw.yaml" >"$WORK/llmgw.log" 2>&1 &
    else
      env ${LLMGW_ENV-} "$LLMGW_BIN" --config "$WORK/llmgw.yaml" >"$WORK/llmgw.log" 2>&1 &
    fi
    PID=$!
    ;;
  nginx)
    mkdir -p "$WORK/nginx"
    sed -e "s|@DIR@|$WORK/nginx|g" -e "s|@LISTEN_PORT@|$PORT|g" -e "s|@UPSTREAM_PORT@|$FAKE_PORT|g" \
      -e "s|@WORKERS@|1|g" -e "s|@BUFFERING@|off|g" -e "s|@WORKER_CONNECTIONS@|$(($(ulimit -n) + 5000))|g" \
      -e "s|@NOFILE@|$(ulimit -n)|g" -e "s|@READ_TIMEOUT@|150s|g" \
      "$ROOT/bench/nginx.conf.template" >"$WORK/nginx/nginx.conf"
    for m in fastcgi uwsgi scgi; do
      nginx -V 2>&1 | grep -q -- "--without-http_${m}_module" && sed -i "/^ *${m}_temp_path /d" "$WORK/nginx/nginx.conf"
    done
    args=(-p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" -e "$WORK/nginx/error.log")
    [[ $(id -u) == 0 ]] && args+=(-g "user root;")
    nginx "${args[@]}" >"$WORK/nginx.log" 2>&1 &
    PID=$!
    ;;
  *) die "unknown proxy $PROXY (llmgw or nginx)" ;;
esac
PIDS+=("$PID")
wait_port "$PORT" "$PID"

# One short stream first: what the first request allocates once is not counted per stream.
curl --noproxy '*' -sS -N --max-time 10 -o "$WORK/verify.body" -X POST -H 'Content-Type: application/json' \
  -H 'x-fake-chunks: 2' -H 'x-fake-chunk-interval-ms: 10' --data-binary "$BODY" \
  "http://$HOST:$PORT/v1/chat/completions" || die "the verifying stream failed"
grep -q '^data: \[DONE\]' "$WORK/verify.body" || die "the verifying stream did not end with [DONE]"
sleep 0.5
rss0=$(rss_kib "$PID")

"$CLIENT_BIN" streams --target "$HOST:$PORT" --body "$BODY" --streams "$STREAMS" \
  --header "x-fake-chunks: $EVENTS" --header "x-fake-chunk-interval-ms: $INTERVAL_MS" \
  --header "x-fake-hold-ms: $HOLD_MS" --timeout $((60 + HOLD_MS / 500)) >"$WORK/client.out" 2>&1 &
CLIENT=$!
PIDS+=("$CLIENT")
while ! grep -q '^OPEN ' "$WORK/client.out"; do
  kill -0 "$CLIENT" 2>/dev/null || { cat "$WORK/client.out" >&2; die "the bench client ended early"; }
  sleep 0.05
done
open=$(grep '^OPEN ' "$WORK/client.out")
rss1=$(rss_kib "$PID")
t0=$(cpu_ticks "$PID")
if [[ -n ${KEEP_RUNNING-} ]]; then
  echo "all streams open: $PROXY pid $PID; press Enter to go on" >&2
  read -r _
fi
wait "$CLIENT" || true
t1=$(cpu_ticks "$PID")
rss2=$(rss_kib "$PID")
line=$(grep '^STREAMS ' "$WORK/client.out") || { cat "$WORK/client.out" >&2; die "no STREAMS line"; }
held=$(($(field opened "$open") - $(field finished "$open")))
events=$(($(field events "$line") - $(field events "$open")))
awk -v p="$PROXY" -v n="$held" -v a="$rss0" -v b="$rss1" -v c="$rss2" -v t=$((t1 - t0)) \
  -v hz="$(getconf CLK_TCK)" -v e="$events" -v lost="$(field lost "$line")" \
  'BEGIN { printf "%s: %d streams held; RSS idle %d KiB, open %d KiB, after %d KiB; %.1f KiB per stream; %.2f us CPU per event; %d lost\n",
           p, n, a, b, c, (n > 0 ? (b - a) / n : 0), (e > 0 ? t / hz * 1e6 / e : 0), lost }'
[[ -n ${HEAPTRACK-} ]] && echo "heaptrack output: $WORK/heaptrack.*" >&2
exit 0
