#!/usr/bin/env bash
# System calls per request, by kind, of nginx's worker and of llmgw (the plain setup), under
# the same load: what a request costs the kernel, where requests/s and CPU time move with
# the machine. Counted by `perf stat` on the syscall tracepoints (needs root or
# kernel.perf_event_paranoid <= -1), so the counts are exact and the proxy runs at full
# speed (strace would slow it until every read finds its data).
#
# Usage: bench/syscalls.sh [SECONDS]
#   SECONDS  measured per proxy (default 5), after a 1 s warm-up; 32 connections, as
#            bench/run.sh. The proxy runs on CPU 0; wrk and the fake model server on CPU 1.
#   LLMGW_BIN=PATH  another llmgw build to count (a before/after pair)
# Loopback only. Prints one line per proxy and kind, and `reads that found nothing`: reads
# that returned EAGAIN (a read tried before the data was there).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SECONDS_MEASURED=${1:-5}
BIN=${LLMGW_BIN:-$ROOT/build/src/llmgw}
BENCH_NAME=syscalls.sh
source "$ROOT/bench/common.sh"
require_tools perf nginx wrk taskset
start_fake_model syscalls
start_plain_nginx
start_plain_llmgw llmgw "$BIN"

kinds=(recvfrom recvmsg read readv sendto sendmsg write writev epoll_wait epoll_ctl getsockopt
  setsockopt io_uring_enter timerfd_settime)
events=(-e raw_syscalls:sys_enter)
for kind in "${kinds[@]}"; do
  [[ -d /sys/kernel/tracing/events/syscalls/sys_enter_$kind || -d /sys/kernel/debug/tracing/events/syscalls/sys_enter_$kind ]] &&
    events+=(-e "syscalls:sys_enter_$kind")
done
events+=(-e syscalls:sys_exit_recvfrom --filter 'ret == -11' -e syscalls:sys_exit_recvmsg --filter 'ret == -11')

count() { # count NAME PORT PID
  local name=$1 port=$2 pid=$3 out requests
  taskset -c 1 wrk -t1 -c32 -d1s -s "$ROOT/bench/chat.lua" "http://127.0.0.1:$port/v1/chat/completions" >/dev/null
  perf stat "${events[@]}" -p "$pid" -o "$WORK/$name.perf" -- sleep $((SECONDS_MEASURED + 1)) &
  local stat=$!
  sleep 0.5
  out=$(taskset -c 1 wrk -t1 -c32 -d"${SECONDS_MEASURED}s" -s "$ROOT/bench/chat.lua" \
    "http://127.0.0.1:$port/v1/chat/completions")
  wait "$stat"
  requests=$(sed -n 's/.*BENCH requests=\([0-9]*\).*/\1/p' <<<"$out")
  ((requests > 0)) || { echo "syscalls.sh: no request measured through $name" >&2; exit 1; }
  awk -v name="$name" -v n="$requests" '
    /sys_e/ {
      gsub(",", "", $1)
      kind = $2; sub(/.*sys_enter_/, "", kind); sub(/raw_syscalls:sys_enter/, "all", kind)
      if ($2 ~ /sys_exit_/) { kind = $2; sub(/.*sys_exit_/, "", kind); kind = kind " found nothing" }
      if ($1 / n >= 0.005) printf "%-6s %-24s %6.2f per request\n", name, kind, $1 / n
    }' "$WORK/$name.perf"
}
count nginx "$NGINX_PORT" "$NGINX_WORKER"
count llmgw "$LLMGW_PORT" "$LLMGW_PID"
