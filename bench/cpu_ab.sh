#!/usr/bin/env bash
# CPU per request of two llmgw builds and nginx, measured in interleaved rounds: a before/after
# pair on a host whose speed drifts. Two bench/run.sh runs minutes apart saw the direct
# backend's requests/s move by a quarter between them; here the three proxies run side by side
# and take turns, round after round, so a drift touches all three alike.
#
# Usage: bench/cpu_ab.sh BEFORE_BIN [AFTER_BIN]
#   BEFORE_BIN  an llmgw binary (say, the start commit built in a worktree)
#   AFTER_BIN   default: build/src/llmgw
#   ROUNDS=12 SECONDS_PER_ROUND=3  each proxy measured once per round, the order rotating
# The proxies run on CPU 0, wrk (32 connections, bench/chat.lua) and the fake model server on
# CPU 1, as in bench/run.sh's plain setup. CPU = user + system time of the proxy process (nginx:
# its worker) over the round, from /proc. Prints the median (min-max) of each, and the median of
# the per-round ratios. Loopback only.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BENCH_NAME=cpu_ab.sh
source "$ROOT/bench/common.sh"
require_tools wrk nginx taskset python3

BEFORE=${1:?usage: bench/cpu_ab.sh BEFORE_BIN [AFTER_BIN]}
AFTER=${2:-$ROOT/build/src/llmgw}
ROUNDS=${ROUNDS:-12}
SECONDS_PER_ROUND=${SECONDS_PER_ROUND:-3}
FAKE=$ROOT/build/tools/fake_model_server/llmgw-fake-model
for bin in "$BEFORE" "$AFTER" "$FAKE"; do
  [[ -x $bin ]] || { echo "$BENCH_NAME: $bin is missing (cmake --build build -j2)" >&2; exit 1; }
done

start_fake_model cpu-ab
start_plain_nginx
PID_nginx=$NGINX_WORKER
PORT_nginx=$NGINX_PORT
start_plain_llmgw before "$BEFORE"
PID_before=$LLMGW_PID
PORT_before=$LLMGW_PORT
start_plain_llmgw after "$AFTER"
PID_after=$LLMGW_PID
PORT_after=$LLMGW_PORT

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

measure() { # measure NAME: one round; appends "NAME us_per_request" to $WORK/rounds
  local name=$1 pid port t0 t1 out requests
  pid=PID_$name
  port=PORT_$name
  taskset -c 1 wrk -t1 -c32 -d1s -s "$ROOT/bench/chat.lua" "http://127.0.0.1:${!port}/v1/chat/completions" >/dev/null
  t0=$(cpu_ticks "${!pid}")
  out=$(taskset -c 1 wrk -t1 -c32 -d"${SECONDS_PER_ROUND}s" -s "$ROOT/bench/chat.lua" \
    "http://127.0.0.1:${!port}/v1/chat/completions")
  t1=$(cpu_ticks "${!pid}")
  requests=$(sed -n 's/.*BENCH requests=\([0-9]*\).*/\1/p' <<<"$out")
  ((requests > 0)) || { echo "$BENCH_NAME: no request measured through $name" >&2; exit 1; }
  awk -v n="$name" -v r="$round" -v t="$((t1 - t0))" -v q="$requests" -v hz="$(getconf CLK_TCK)" \
    'BEGIN { printf "%s %s %.3f %d\n", r, n, t * 1e6 / hz / q, q }' >>"$WORK/rounds"
}

names=(nginx before after)
for round in $(seq "$ROUNDS"); do
  for i in 0 1 2; do measure "${names[$(((round + i) % 3))]}"; done
done

python3 - "$WORK/rounds" <<'EOF'
import statistics, sys
rounds = {}
for line in open(sys.argv[1]):
    r, name, us, _ = line.split()
    rounds.setdefault(int(r), {})[name] = float(us)
def show(label, values):
    print(f"{label:<24} {statistics.median(values):7.2f} ({min(values):.2f}-{max(values):.2f})")
print(f"CPU per request (us), {len(rounds)} rounds: median (min-max)")
for name in ("nginx", "before", "after"):
    show(name, [v[name] for v in rounds.values()])
print("per-round ratios: median (min-max)")
show("after / before", [v["after"] / v["before"] for v in rounds.values()])
show("before / nginx", [v["before"] / v["nginx"] for v in rounds.values()])
show("after / nginx", [v["after"] / v["nginx"] for v in rounds.values()])
EOF
