#!/usr/bin/env bash
# Benchmarks llmgw against the direct backend, nginx and HAProxy on one machine,
# and what llmgw's API-key authentication and rate limits cost.
#
# Six setups serve the same small, non-streamed OpenAI chat completion
# (bench/chat.lua) from the fake model server:
#   direct        wrk -> fake model server
#   llmgw         wrk -> llmgw (bench/llmgw.yaml, one worker) -> fake
#   nginx         wrk -> nginx (one worker, upstream keep-alive) -> fake
#   haproxy       wrk -> HAProxy (one thread, connection reuse) -> fake
#   llmgw+limits  wrk -> llmgw (bench/llmgw-limits.yaml: API key, request and token
#                 rates, request quota; in-process store) -> fake
#   llmgw+redis   the same, with the limits kept in a redis-server started here
#                 (redis.admission exact: one script call per request)
#   llmgw+redis-lease  the same with redis.admission lease: most requests admitted from
#                 the worker's slices of the limits, without a Redis call
#   llmgw+cache   wrk -> llmgw (bench/llmgw-cache.yaml: the response cache on the route);
#                 the request never changes, so every answer after the first is a hit
#   llmgw+trace1     plain llmgw with `tracing` (sample_ratio 1: every request traced), its
#                    spans exported to an OTLP/HTTP sink (tools/otlp_sink, on CPU 1)
#   llmgw+trace0.01  the same at sample_ratio 0.01
# The proxies run on CPU 0, all started at once and measured one at a time in interleaved
# rounds (ROUNDS below), so that every proxy gets the same single core and compared setups are
# measured seconds apart; wrk and the fake server share CPU 1, so the load side does not eat
# into the proxy's core. The redis-servers of llmgw+redis and llmgw+redis-lease run on CPU 1 too.
# Four more setups, in the same run:
#   concurrency 1  one request at a time to direct, llmgw, nginx and HAProxy in turn
#                  (llmgw-bench-client alternate), in ROUNDS rounds: latency added over direct
#                  within each round
#   half load      plain llmgw at a fixed rate of half its measured maximum (llmgw-bench-client):
#                  llmgw_gateway_overhead_seconds p50/p99 over that run
#   two cores      llmgw-2w (server.workers: 2) and nginx-2w (worker_processes 2), nothing
#                  pinned: proxy, wrk -t2 and a 2-thread fake server share both cores
#   streaming      STREAMS SSE streams open at once through llmgw, nginx (proxy_buffering off)
#                  and HAProxy (llmgw-bench-client): RSS per stream, CPU per event, streams lost
#
# Usage: bench/run.sh [--quick]
#   --quick          2 s measurements and 1000 short streams (a smoke check, not a result)
#   DURATION=20      seconds measured per setup, split into ROUNDS rounds (after a 2 s warm-up,
#                    and 1 s before each later round)
#   ROUNDS=10        the single-core setups are measured in ROUNDS interleaved rounds (each
#                    setup once per round, in a rotating order), so that two setups compared are
#                    measured seconds apart, not minutes: the report gives each ratio as the
#                    median of its per-round ratios, with their range. On the 2-core VM a round's
#                    ratio lands up to 0.3 either side of the median now and then (a neighbour's
#                    burst in one setup's 2 s): 10 rounds keep the median steadier than 5 did
#   CONNECTIONS=32   wrk connections
#   LLMGW_BIN=PATH   another llmgw build to measure (a before/after pair: the same run.sh twice)
#   C1_DURATION=10   seconds of concurrency 1 per setup (its share of the turns), split into
#                    ROUNDS rounds (at least 1 s each)
#   STREAMS=10000    streams held at once (capped by the open-files limit: two per stream)
#   STREAM_HOLD_MS=25000  pause after each stream's first event (all open before events flow);
#                    the streaming setup's proxies wait up to 150 s for the next upstream byte
#   STREAM_EVENTS=20 word events per stream (the first before the pause), STREAM_INTERVAL_MS=500 apart
# Prints a Markdown report on stdout (progress goes to stderr) and writes it to
# bench/results/latest.md. Everything listens on and talks to 127.0.0.1 only.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH_DIR=$ROOT/bench
LLMGW_BIN_OTHER=${LLMGW_BIN:-}
LLMGW_BIN=${LLMGW_BIN:-$ROOT/build/src/llmgw}
FAKE_BIN=$ROOT/build/tools/fake_model_server/llmgw-fake-model
CLIENT_BIN=$ROOT/build/tools/bench_client/llmgw-bench-client
SINK_BIN=$ROOT/build/tools/otlp_sink/llmgw-otlp-sink
LUA_SCRIPT=$BENCH_DIR/chat.lua
LIMITS_CONFIG=$BENCH_DIR/llmgw-limits.yaml
CACHE_CONFIG=$BENCH_DIR/llmgw-cache.yaml
RESULTS_DIR=$BENCH_DIR/results

HOST=127.0.0.1
PROXY_CPU=0          # the proxy under test, alone
LOAD_CPU=1           # wrk and the fake model server
WARMUP_SECONDS=2
FAKE_ID="llmgw-bench-$$" # x-fake-server header: proves an answer came from *our* fake server

DURATION=${DURATION:-20}
ROUNDS=${ROUNDS:-10}
CONNECTIONS=${CONNECTIONS:-32}
QUICK=0

usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; }

for arg in "$@"; do
  case $arg in
    --quick) DURATION=2 ROUNDS=2 QUICK=1 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "run.sh: unknown argument: $arg" >&2; usage >&2; exit 2 ;;
  esac
done

log() { echo "bench: $*" >&2; }
die() { echo "bench: error: $*" >&2; exit 1; }

[[ $DURATION =~ ^[1-9][0-9]*$ ]] || die "DURATION must be a positive integer (seconds), got '$DURATION'"
[[ $CONNECTIONS =~ ^[1-9][0-9]*$ ]] || die "CONNECTIONS must be a positive integer, got '$CONNECTIONS'"
[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || die "ROUNDS must be a positive integer, got '$ROUNDS'"
ROUND_SECONDS=$(((DURATION + ROUNDS - 1) / ROUNDS)) # each round's measured seconds, at least 1
ROUND_WARMUP_SECONDS=1 # before every round but the first (the connections are warm already)
# The concurrency-1 and streaming setups; --quick shortens them unless set here.
if ((QUICK)); then
  C1_DURATION=${C1_DURATION:-2} STREAMS=${STREAMS:-1000} STREAM_HOLD_MS=${STREAM_HOLD_MS:-8000}
  STREAM_EVENTS=${STREAM_EVENTS:-10} STREAM_INTERVAL_MS=${STREAM_INTERVAL_MS:-200}
fi
C1_DURATION=${C1_DURATION:-10}
STREAMS=${STREAMS:-10000}
STREAM_HOLD_MS=${STREAM_HOLD_MS:-25000}
STREAM_EVENTS=${STREAM_EVENTS:-20}
STREAM_INTERVAL_MS=${STREAM_INTERVAL_MS:-500}
for knob in C1_DURATION STREAMS STREAM_HOLD_MS STREAM_EVENTS STREAM_INTERVAL_MS; do
  [[ ${!knob} =~ ^[1-9][0-9]*$ ]] || die "$knob must be a positive integer, got '${!knob}'"
done
# The streaming setup's upstream idle timeout, on all three proxies (llmgw's timeouts.idle, nginx's
# proxy_read_timeout, HAProxy's timeout server and client): the pause must fit in it, with room
# for a busy machine's lag (a starved event loop can see its timer before the data that came).
STREAM_IDLE_TIMEOUT=150
((STREAM_HOLD_MS <= 100000)) || die "STREAM_HOLD_MS must be at most 100000 (the streaming setup's idle timeout is ${STREAM_IDLE_TIMEOUT} s)"

# ---------------------------------------------------------------------------
# Process bookkeeping: every background process goes through start_bg, so the
# EXIT trap can stop exactly those (and their direct children, e.g. nginx's
# worker), on success, on failure and on Ctrl-C.
# ---------------------------------------------------------------------------
PIDS=()
LAST_PID=
WORK_DIR=$(mktemp -d -t llmgw-bench.XXXXXX)

start_bg() { # start_bg NAME CMD...: runs CMD in the background, output to $WORK_DIR/NAME.log
  local name=$1; shift
  "$@" >"$WORK_DIR/$name.log" 2>&1 &
  LAST_PID=$!
  PIDS+=("$LAST_PID")
}

forget_pid() { # after a process was reaped its pid may be reused: never signal it again
  local pid=$1 keep=() p
  for p in "${PIDS[@]}"; do [[ $p == "$pid" ]] || keep+=("$p"); done
  PIDS=("${keep[@]+"${keep[@]}"}")
}

stop_pid() { # TERM, up to 5 s of grace, then KILL; also the children it leaves behind
  local pid=$1 children i
  children=$(pgrep -P "$pid" || true)
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  for i in $children; do kill -KILL "$i" 2>/dev/null || true; done
  forget_pid "$pid"
}

cleanup() {
  local rc=$? pid
  trap - EXIT INT TERM
  for pid in "${PIDS[@]+"${PIDS[@]}"}"; do stop_pid "$pid"; done
  rm -f "$WORK_DIR/auth.header" # the run's API key: never left behind, even in a kept dir
  if ((rc == 0 || rc == 130 || rc == 143)); then # success or interrupted: nothing to debug
    rm -rf "$WORK_DIR"
  else
    log "failed (exit $rc); configs and logs kept in $WORK_DIR"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------
USED_PORTS=()
PORT=
pick_port() { # sets PORT to a free TCP port on this machine
  local tries candidate
  for ((tries = 0; tries < 200; tries++)); do
    # Below Linux's default ephemeral range (32768+), so no client socket of this
    # run (wrk, proxies' upstream connections) can take it in the meantime.
    candidate=$((20000 + RANDOM % 12000))
    [[ " ${USED_PORTS[*]-} " == *" $candidate "* ]] && continue
    if [[ -z $(ss -Htan "( sport = :$candidate )") ]]; then
      USED_PORTS+=("$candidate")
      PORT=$candidate
      return 0
    fi
  done
  die "no free TCP port found"
}

show_log() { # the end of a process's log, to explain a failure
  if [[ -f $WORK_DIR/$1.log ]]; then tail -n 20 "$WORK_DIR/$1.log" | sed 's/^/    /' >&2; fi
}

wait_listening() { # wait_listening NAME PID PORT: until PORT listens, or fail if PID died
  local name=$1 pid=$2 port=$3 i
  for ((i = 0; i < 100; i++)); do
    if ! kill -0 "$pid" 2>/dev/null; then
      show_log "$name"
      die "$name exited during startup"
    fi
    [[ -n $(ss -Htln "( sport = :$port )") ]] && return 0
    sleep 0.1
  done
  show_log "$name"
  die "$name did not listen on $HOST:$port within 10 s"
}

# The request body lives in chat.lua only; curl sends the very same bytes.
REQUEST_BODY=$(sed -n "s/^wrk.body = '\(.*\)'\$/\1/p" "$LUA_SCRIPT")

verify() { # verify NAME PORT [auth]: one request must get 200 and the fake server's chat completion
  local name=$1 port=$2 code auth=()
  # The key is read from a file (curl -H @FILE), so it never shows in the process list.
  [[ ${3-} == auth ]] && auth=(-H "@$WORK_DIR/auth.header")
  # --noproxy: an http_proxy in the environment must never send this elsewhere.
  code=$(curl --noproxy '*' -sS --max-time 5 -o "$WORK_DIR/$name.verify.body" \
    -D "$WORK_DIR/$name.verify.headers" -w '%{http_code}' \
    -X POST -H 'Content-Type: application/json' "${auth[@]+"${auth[@]}"}" --data-binary "$REQUEST_BODY" \
    "http://$HOST:$port/v1/chat/completions") || die "$name: request failed"
  if [[ $code != 200 ]] ||
    ! grep -qi "^x-fake-server: $FAKE_ID" "$WORK_DIR/$name.verify.headers" ||
    ! grep -q '"object":"chat.completion"' "$WORK_DIR/$name.verify.body"; then
    sed 's/^/    /' "$WORK_DIR/$name.verify.headers" "$WORK_DIR/$name.verify.body" >&2 || true
    die "$name: expected 200 with the fake server's chat completion, got HTTP $code"
  fi
  log "$name: verified (200, answer from the fake server)"
}

verify_auth_required() { # verify_auth_required NAME PORT: the same request without the key must get 401
  local name=$1 port=$2 code
  code=$(curl --noproxy '*' -sS --max-time 5 -o "$WORK_DIR/$name.noauth.body" -w '%{http_code}' \
    -X POST -H 'Content-Type: application/json' --data-binary "$REQUEST_BODY" \
    "http://$HOST:$port/v1/chat/completions") || die "$name: request without a key failed"
  if [[ $code != 401 ]]; then
    sed 's/^/    /' "$WORK_DIR/$name.noauth.body" >&2 || true
    die "$name: a request without the API key got HTTP $code, expected 401 (authentication is not on)"
  fi
  log "$name: verified (401 without the API key)"
}

# Results per setup, filled by measure().
declare -A RPS P50 P90 P99 CPU_PCT CPU_US
CLK_TCK=$(getconf CLK_TCK)
SETUPS=()

WRK_API_KEY= # set around the measurement of a setup with authentication: chat.lua sends it
WRK_THREADS=1
WRK_PIN=(taskset -c "$LOAD_CPU") # empty in the two-core setup: wrk runs where the kernel puts it
run_wrk() { # run_wrk NAME PORT SECONDS OUTFILE: wrk pinned to the load core; fails on any error
  local name=$1 port=$2 seconds=$3 out=$4 pid line
  # In the background + wait, so Ctrl-C reaches the trap at once instead of after wrk.
  # The key goes through the environment (always set, empty when unused, so one in the
  # caller's environment cannot leak into the other setups).
  BENCH_API_KEY=$WRK_API_KEY "${WRK_PIN[@]}" wrk -t"$WRK_THREADS" -c"$CONNECTIONS" -d"${seconds}s" --latency -s "$LUA_SCRIPT" \
    "http://$HOST:$port/v1/chat/completions" >"$out" 2>&1 &
  pid=$!
  PIDS+=("$pid")
  if ! wait "$pid"; then
    forget_pid "$pid"
    sed 's/^/    /' "$out" >&2
    die "$name: wrk failed"
  fi
  forget_pid "$pid"
  line=$(grep '^BENCH ' "$out") || { sed 's/^/    /' "$out" >&2; die "$name: no BENCH line from chat.lua"; }
  # A benchmark of error answers is worthless: any non-2xx or socket error fails the run.
  if grep -q 'Non-2xx or 3xx responses' "$out" || [[ $line != *" non2xx=0 "* ]] ||
    [[ $line =~ (connect_errors|read_errors|write_errors|timeouts|status_errors)=[1-9] ]]; then
    sed 's/^/    /' "$out" >&2
    die "$name: errors or non-2xx responses during the run"
  fi
  BENCH_LINE=$line
}

field() { # field KEY "BENCH k=v ...": the value of KEY
  local kv
  for kv in $2; do [[ $kv == "$1="* ]] && { echo "${kv#*=}"; return 0; }; done
  die "missing $1 in: $2"
}

cpu_ticks() { # cpu_ticks PID: user + system CPU time (clock ticks) of PID and its children (nginx's worker)
  local p total=0 stat f
  for p in "$1" $(pgrep -P "$1" || true); do
    stat=$(cat "/proc/$p/stat" 2>/dev/null) || continue
    read -r -a f <<<"${stat##*) }" # the fields after "(comm) ": f[0] is field 3 (state)
    total=$((total + f[11] + f[12]))  # fields 14 (utime) and 15 (stime)
  done
  echo "$total"
}

measure() { # measure NAME PORT [PID]: warm-up, then the measured run; PID: the proxy, for its CPU time
  local name=$1 port=$2 pid=${3-} t0=0 t1=0
  log "$name: warm-up ${WARMUP_SECONDS}s"
  run_wrk "$name" "$port" "$WARMUP_SECONDS" "$WORK_DIR/$name.warmup.txt"
  log "$name: measuring ${DURATION}s with $CONNECTIONS connections"
  [[ -n $pid ]] && t0=$(cpu_ticks "$pid")
  run_wrk "$name" "$port" "$DURATION" "$WORK_DIR/$name.wrk.txt"
  [[ -n $pid ]] && t1=$(cpu_ticks "$pid")
  SETUPS+=("$name")
  RPS[$name]=$(field rps "$BENCH_LINE")
  P50[$name]=$(field p50_us "$BENCH_LINE")
  P90[$name]=$(field p90_us "$BENCH_LINE")
  P99[$name]=$(field p99_us "$BENCH_LINE")
  if [[ -n $pid ]]; then
    # The proxy's CPU time over wrk's measured run: share of its core, and per request.
    CPU_PCT[$name]=$(awk -v t=$((t1 - t0)) -v hz="$CLK_TCK" -v us="$(field duration_us "$BENCH_LINE")" \
      'BEGIN { printf "%.0f", (us > 0 ? 100 * t / hz / (us / 1e6) : 0) }')
    CPU_US[$name]=$(awk -v t=$((t1 - t0)) -v hz="$CLK_TCK" -v n="$(field requests "$BENCH_LINE")" \
      'BEGIN { printf "%.1f", (n > 0 ? t / hz * 1e6 / n : 0) }')
  fi
  log "$name: ${RPS[$name]} req/s, p99 ${P99[$name]} us${pid:+, proxy CPU ${CPU_PCT[$name]}% (${CPU_US[$name]} us/request)}"
}

# ---------------------------------------------------------------------------
# Interleaved rounds. The single-core setups all run at once (each proxy idle on PROXY_CPU while
# another is measured) and are measured in ROUNDS rounds, each setup once per round, in an order
# that rotates by one each round. The speed of a shared machine drifts by tens of percent over
# minutes; two setups measured seconds apart see the same machine, so a ratio is taken within a
# round and summarised over the rounds (median, min-max).
# ---------------------------------------------------------------------------
ROUND_SETUPS=()
declare -A PORT_OF PID_OF ADMIN_OF AUTH_OF REDIS_PORT_OF REDIS_PID_OF
declare -A R_RPS R_P50 R_P90 R_P99 R_CPU_US TOT_REQ TOT_US TOT_TICKS
declare -A RED_TICKS RED_CALLS RED_USEC RED_REQ CACHE_MISSES
round_setup() { # round_setup NAME PORT [PID [ADMIN_PORT]]: measured in the rounds
  ROUND_SETUPS+=("$1")
  PORT_OF[$1]=$2 PID_OF[$1]=${3-} ADMIN_OF[$1]=${4-}
  TOT_REQ[$1]=0 TOT_US[$1]=0 TOT_TICKS[$1]=0 RED_TICKS[$1]=0 RED_CALLS[$1]=0 RED_USEC[$1]=0 RED_REQ[$1]=0
  CACHE_MISSES[$1]=0
}

measure_round() { # measure_round NAME ROUND
  local name=$1 r=$2 port=${PORT_OF[$1]} pid=${PID_OF[$1]} redis=${REDIS_PORT_OF[$1]-} warm=$WARMUP_SECONDS
  local t0=0 t1=0 n c0 c1 u0 u1 k0 k1 f0 f1
  ((r > 1)) && warm=$ROUND_WARMUP_SECONDS
  [[ -n ${AUTH_OF[$name]-} ]] && WRK_API_KEY=$API_KEY
  [[ $name == llmgw+cache ]] && f0=$(fake_requests)
  run_wrk "$name" "$port" "$warm" "$WORK_DIR/$name.warmup.txt"
  if [[ -n $redis ]]; then
    k0=$(cpu_ticks "${REDIS_PID_OF[$name]}") c0=$(redis_commands "$redis") u0=$(redis_script_usec "$redis")
  fi
  [[ -n $pid ]] && t0=$(cpu_ticks "$pid")
  run_wrk "$name" "$port" "$ROUND_SECONDS" "$WORK_DIR/$name.r$r.wrk.txt"
  [[ -n $pid ]] && t1=$(cpu_ticks "$pid")
  WRK_API_KEY=
  n=$(field requests "$BENCH_LINE")
  if [[ -n $redis ]]; then
    k1=$(cpu_ticks "${REDIS_PID_OF[$name]}") c1=$(redis_commands "$redis") u1=$(redis_script_usec "$redis")
    RED_TICKS[$name]=$((RED_TICKS[$name] + k1 - k0)) RED_CALLS[$name]=$((RED_CALLS[$name] + c1 - c0))
    RED_USEC[$name]=$((RED_USEC[$name] + u1 - u0)) RED_REQ[$name]=$((RED_REQ[$name] + n))
  fi
  if [[ $name == llmgw+cache ]]; then
    f1=$(fake_requests)
    CACHE_MISSES[$name]=$((CACHE_MISSES[$name] + f1 - f0))
  fi
  R_RPS[$name#$r]=$(field rps "$BENCH_LINE")
  R_P50[$name#$r]=$(field p50_us "$BENCH_LINE")
  R_P90[$name#$r]=$(field p90_us "$BENCH_LINE")
  R_P99[$name#$r]=$(field p99_us "$BENCH_LINE")
  R_CPU_US[$name#$r]=$(awk -v t=$((t1 - t0)) -v hz="$CLK_TCK" -v n="$n" 'BEGIN { printf "%.2f", (n > 0 ? t / hz * 1e6 / n : 0) }')
  TOT_REQ[$name]=$((TOT_REQ[$name] + n))
  TOT_US[$name]=$((TOT_US[$name] + $(field duration_us "$BENCH_LINE")))
  TOT_TICKS[$name]=$((TOT_TICKS[$name] + t1 - t0))
  log "$name: round $r: ${R_RPS[$name#$r]} req/s${pid:+, proxy ${R_CPU_US[$name#$r]} us/request}"
}

median() { # median NUMBER...: the middle one (the mean of the two middle ones for an even count)
  printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

finish_rounds() { # finish_rounds NAME: its figures for the report, from its rounds
  local s=$1 r rps=() p50=() p90=() p99=()
  for ((r = 1; r <= ROUNDS; r++)); do
    rps+=("${R_RPS[$s#$r]}") p50+=("${R_P50[$s#$r]}") p90+=("${R_P90[$s#$r]}") p99+=("${R_P99[$s#$r]}")
  done
  SETUPS+=("$s")
  RPS[$s]=$(median "${rps[@]}") P50[$s]=$(median "${p50[@]}") P90[$s]=$(median "${p90[@]}") P99[$s]=$(median "${p99[@]}")
  if [[ -n ${PID_OF[$s]} ]]; then
    CPU_PCT[$s]=$(awk -v t="${TOT_TICKS[$s]}" -v hz="$CLK_TCK" -v us="${TOT_US[$s]}" 'BEGIN { printf "%.0f", (us > 0 ? 100 * t / hz / (us / 1e6) : 0) }')
    CPU_US[$s]=$(awk -v t="${TOT_TICKS[$s]}" -v hz="$CLK_TCK" -v n="${TOT_REQ[$s]}" 'BEGIN { printf "%.1f", (n > 0 ? t / hz * 1e6 / n : 0) }')
  fi
  for ((r = 1; r <= ROUNDS; r++)); do
    echo "round $r:"
    grep -v '^BENCH ' "$WORK_DIR/$s.r$r.wrk.txt"
  done >"$WORK_DIR/$s.wrk.txt"
}

run_rounds() {
  local r i n=${#ROUND_SETUPS[@]}
  log "${n} setups in $ROUNDS interleaved rounds of ${ROUND_SECONDS}s each"
  for ((r = 1; r <= ROUNDS; r++)); do
    for ((i = 0; i < n; i++)); do measure_round "${ROUND_SETUPS[(i + r - 1) % n]}" "$r"; done
  done
  for i in "${ROUND_SETUPS[@]}"; do finish_rounds "$i"; done
}

paired() { # paired A B [rps|cpu]: A / B within each round: "median (min-max)" over the rounds
  local a=$1 b=$2 r values=() figures=R_RPS
  [[ ${3-rps} == cpu ]] && figures=R_CPU_US
  local -n of=$figures
  for ((r = 1; r <= ROUNDS; r++)); do values+=("$(ratio "${of[$a#$r]}" "${of[$b#$r]}")"); done
  if ((ROUNDS == 1)); then echo "${values[0]}"; return; fi
  printf '%.2f (%s–%s)\n' "$(median "${values[@]}")" "$(printf '%s\n' "${values[@]}" | sort -g | head -n 1)" \
    "$(printf '%s\n' "${values[@]}" | sort -g | tail -n 1)"
}

# ---------------------------------------------------------------------------
# Setups. Each starts its proxy pinned to PROXY_CPU and checks it answers
# correctly; the rounds measure them; the checks after the rounds read what
# each counted; then they stop.
# ---------------------------------------------------------------------------
UPSTREAM_PORT=

FAKE_PORT=
FAKE_PID=
start_fake() { # start_fake NAME THREADS [PIN...]: a fake model server; sets FAKE_PORT and FAKE_PID
  local name=$1 threads=$2 i
  shift 2
  # Port 0: the server picks a free port and prints it ("listening on HOST:PORT").
  start_bg "$name" "$@" "$FAKE_BIN" --listen "$HOST:0" --threads "$threads" --id "$FAKE_ID"
  FAKE_PID=$LAST_PID
  FAKE_PORT=
  for ((i = 0; i < 100; i++)); do
    # The log may not exist yet: the background shell opens it after the fork.
    FAKE_PORT=$(sed -n 's/^listening on .*:\([0-9][0-9]*\)$/\1/p' "$WORK_DIR/$name.log" 2>/dev/null || true)
    [[ -n $FAKE_PORT ]] && break
    kill -0 "$FAKE_PID" 2>/dev/null || { show_log "$name"; die "fake model server exited during startup"; }
    sleep 0.1
  done
  [[ -n $FAKE_PORT ]] || die "fake model server did not report its port"
  log "fake model server $name on $HOST:$FAKE_PORT ($threads threads${1:+, run with: $*})"
}

start_fake_server() {
  start_fake fake 1 taskset -c "$LOAD_CPU"
  UPSTREAM_PORT=$FAKE_PORT
  export UPSTREAM_PORT # bench/llmgw.yaml reads it as ${UPSTREAM_PORT}
}

start_direct() {
  verify direct "$UPSTREAM_PORT"
  round_setup direct "$UPSTREAM_PORT"
}

LLMGW_PORT=
LLMGW_ADMIN_PORT=
LLMGW_PID=
PROXY_PIN=(taskset -c "$PROXY_CPU") # empty in the two-core setup: no pinning of the proxy
LLMGW_WORKERS=1          # server.workers of the copy (2 in the two-core setup)
LLMGW_MAX_CONNECTIONS=   # server.max_connections of the copy, when set (the streaming setup)
LLMGW_UPSTREAM_IDLE=     # the backend's timeouts.idle in the copy, when set (the streaming setup)
start_llmgw() { # start_llmgw NAME SOURCE_CONFIG [EXTRA_YAML]: llmgw on PROXY_CPU with free ports
  local name=$1 source=$2 extra=${3-} conf=$WORK_DIR/$1.yaml more=()
  [[ -n $LLMGW_MAX_CONNECTIONS ]] && more=(-e "/^server:/a\\  max_connections: $LLMGW_MAX_CONNECTIONS")
  [[ -n $LLMGW_UPSTREAM_IDLE ]] && more+=(-e "/^  fake:/a\\    timeouts: { idle: $LLMGW_UPSTREAM_IDLE }")
  pick_port; LLMGW_PORT=$PORT
  pick_port; LLMGW_ADMIN_PORT=$PORT
  # The files in bench/ name fixed ports (so `--check` works on them as they are);
  # the run uses a copy with free ones, as anything else may already listen there.
  sed -e "/^server:/,/^[^ #]/ s/^\( *listen:\).*/\1 \"$HOST:$LLMGW_PORT\"/" \
    -e "/^admin:/,/^[^ #]/ s/^\( *listen:\).*/\1 \"$HOST:$LLMGW_ADMIN_PORT\"/" \
    -e "/^server:/,/^[^ #]/ s/^\( *workers:\).*/\1 $LLMGW_WORKERS/" \
    "${more[@]+"${more[@]}"}" \
    "$source" >"$conf"
  if ! grep -q "\"$HOST:$LLMGW_PORT\"" "$conf" || ! grep -q "\"$HOST:$LLMGW_ADMIN_PORT\"" "$conf"; then
    die "could not set the listen ports in a copy of ${source#"$ROOT"/}"
  fi
  [[ -n $extra ]] && printf '%s\n' "$extra" >>"$conf"
  "$LLMGW_BIN" --config "$conf" --check >"$WORK_DIR/$name.check.log" 2>&1 ||
    { sed 's/^/    /' "$WORK_DIR/$name.check.log" >&2; die "llmgw rejects the configuration of $name"; }
  start_bg "$name" "${PROXY_PIN[@]}" "$LLMGW_BIN" --config "$conf"
  LLMGW_PID=$LAST_PID
  wait_listening "$name" "$LLMGW_PID" "$LLMGW_PORT"
}

# overhead_quantile FILE Q [BEFORE]: the upper bound (us) of the llmgw_gateway_overhead_seconds
# bucket that holds quantile Q of the requests counted in FILE (a /metrics text); with BEFORE (an
# earlier /metrics text of the same process), of the requests counted between the two.
overhead_quantile() {
  awk -v q="$2" -v two="${3:+1}" -F'[" ]' 'two && FILENAME == ARGV[1] { if (/^llmgw_gateway_overhead_seconds_bucket/) base[$2] = $NF; next }
    /^llmgw_gateway_overhead_seconds_bucket/ { le[n] = $2; count[n++] = $NF - base[$2] }
    END { total = count[n - 1]; for (i = 0; i < n; i++) if (count[i] >= q * total) {
            if (le[i] == "+Inf") { print "over 100000"; exit } printf "%.0f", le[i] * 1e6; exit } }' ${3:+"$3"} "$1"
}

use_llmgw() { # use_llmgw NAME: LLMGW_PORT, LLMGW_PID and LLMGW_ADMIN_PORT of a setup of the rounds
  LLMGW_PORT=${PORT_OF[$1]} LLMGW_PID=${PID_OF[$1]} LLMGW_ADMIN_PORT=${ADMIN_OF[$1]}
}

start_llmgw_setup() { # start_llmgw_setup NAME SOURCE_CONFIG [EXTRA_YAML]: started, verified, in the rounds
  start_llmgw "$@"
  verify "$1" "$LLMGW_PORT" ${AUTH_OF[$1]:+auth}
  round_setup "$1" "$LLMGW_PORT" "$LLMGW_PID" "$LLMGW_ADMIN_PORT"
}

# After the rounds: the gateway's own time at full load, and at half load.
check_llmgw() {
  local file
  use_llmgw llmgw
  # The gateway's own time per request (llmgw_gateway_overhead_seconds), at full load.
  file=$WORK_DIR/llmgw.metrics
  curl --noproxy '*' -sS --max-time 5 -o "$file" "http://$HOST:$LLMGW_ADMIN_PORT/metrics" ||
    die "llmgw: could not read /metrics"
  CHECKS[llmgw]="gateway's own time per request (llmgw_gateway_overhead_seconds, bucket bounds, at full load, all rounds): p50 <= $(overhead_quantile "$file" 0.5) us, p99 <= $(overhead_quantile "$file" 0.99) us"
  bench_llmgw_half_load
  stop_pid "$LLMGW_PID"
}

# --- llmgw with authentication and limits -----------------------------------
# A fresh API key per run, made here and never written outside the 0700 temp dir
# (the curl header file, removed on exit); the configs only hold its SHA-256.
API_KEY=
make_api_key() {
  export -n API_KEY # a shell variable only: no child process inherits the key
  API_KEY="sk-llmgw-$(openssl rand -hex 32)" || die "openssl rand failed"
  [[ $API_KEY =~ ^sk-llmgw-[0-9a-f]{64}$ ]] || die "openssl rand gave no key"
  BENCH_KEY_SHA256=$(printf %s "$API_KEY" | sha256sum | cut -d' ' -f1)
  export BENCH_KEY_SHA256 # bench/llmgw-limits.yaml reads it as ${BENCH_KEY_SHA256}
  (umask 077 && printf 'Authorization: Bearer %s\n' "$API_KEY" >"$WORK_DIR/auth.header")
}

metric_sum() { # metric_sum FILE NAME: sum of the samples of metric NAME in a Prometheus text file
  awk -v n="$2" 'index($0, n) == 1 && (substr($0, length(n) + 1, 1) == "{" || substr($0, length(n) + 1, 1) == " ") { s += $NF }
    END { printf "%.0f", s }' "$1"
}

declare -A CHECKS # per setup: what the checks after the run found, for the report
CHECKS_REQUESTS=0 # llmgw_requests_total of the last setup checked
check_limits_metrics() { # check_limits_metrics NAME: after the run, from llmgw's /metrics
  local name=$1 file=$WORK_DIR/$1.metrics limited tokens requests
  curl --noproxy '*' -sS --max-time 5 -o "$file" "http://$HOST:$LLMGW_ADMIN_PORT/metrics" ||
    die "$name: could not read /metrics"
  limited=$(metric_sum "$file" llmgw_rate_limited_total)
  tokens=$(metric_sum "$file" llmgw_tokens_total)
  requests=$(metric_sum "$file" llmgw_requests_total)
  ((limited == 0)) || die "$name: $limited requests were refused by a limit (llmgw_rate_limited_total)"
  ((tokens > 0)) || die "$name: no tokens counted (llmgw_tokens_total is 0): the token limit was not exercised"
  CHECKS[$name]="$requests requests (warm-up and checks included), $tokens tokens counted, 0 rate-limited"
  CHECKS_REQUESTS=$requests
}

start_llmgw_limits() {
  AUTH_OF[llmgw+limits]=1
  start_llmgw llmgw+limits "$LIMITS_CONFIG"
  verify_auth_required llmgw+limits "$LLMGW_PORT"
  verify llmgw+limits "$LLMGW_PORT" auth
  round_setup llmgw+limits "$LLMGW_PORT" "$LLMGW_PID" "$LLMGW_ADMIN_PORT"
}

check_llmgw_limits() {
  use_llmgw llmgw+limits
  check_limits_metrics llmgw+limits
  stop_pid "$LLMGW_PID"
}

# redis_commands PORT: the calls llmgw made, from INFO commandstats (FCALL, or EVALSHA where
# functions are refused, and their loads). llmgw calls Redis only with
# scripts on the request path; the commands a script runs inside are counted apart, not added.
redis_commands() {
  redis-cli -h "$HOST" -p "$1" info commandstats |
    awk -F'[:=,]' '$1 ~ /^cmdstat_(eval|evalsha|script|fcall|function)/ { s += $3 } END { printf "%d", s }'
}

# redis_script_usec PORT: microseconds Redis spent executing those calls (INFO commandstats):
# the scripts' own cost, without the event loop and the network.
redis_script_usec() {
  redis-cli -h "$HOST" -p "$1" info commandstats |
    awk -F'[:=,]' '$1 ~ /^cmdstat_(eval|evalsha|script|fcall|function)/ { s += $5 } END { printf "%d", s }'
}

# start_llmgw_redis NAME ADMISSION: the limits in a redis-server started here, with
# redis.admission ADMISSION (exact: every admission one script call; lease: most admitted
# from the worker's slices of the limits, with no call).
start_llmgw_redis() {
  local name=$1 admission=$2 redis_port redis_pid
  pick_port; redis_port=$PORT
  mkdir -p "$WORK_DIR/redis"
  # No persistence (nothing written, nothing loaded); loopback only; its own dir.
  start_bg "redis-$name" taskset -c "$LOAD_CPU" redis-server --bind "$HOST" --port "$redis_port" \
    --save '' --appendonly no --dir "$WORK_DIR/redis" --daemonize no --logfile ''
  redis_pid=$LAST_PID
  wait_listening "redis-$name" "$redis_pid" "$redis_port"
  [[ $(redis-cli -h "$HOST" -p "$redis_port" ping 2>&1) == PONG ]] || die "redis-server does not answer PING"
  log "redis-server on $HOST:$redis_port (CPU $LOAD_CPU)"

  AUTH_OF[$name]=1 REDIS_PORT_OF[$name]=$redis_port REDIS_PID_OF[$name]=$redis_pid
  start_llmgw "$name" "$LIMITS_CONFIG" "$(printf 'redis:\n  url: "redis://%s:%s/0"\n  admission: %s' "$HOST" "$redis_port" "$admission")"
  verify_auth_required "$name" "$LLMGW_PORT"
  verify "$name" "$LLMGW_PORT" auth
  round_setup "$name" "$LLMGW_PORT" "$LLMGW_PID" "$LLMGW_ADMIN_PORT"
}

check_llmgw_redis() { # check_llmgw_redis NAME: after the rounds
  local name=$1 redis_port=${REDIS_PORT_OF[$1]} keys file calls errors fail_open n redis_us per_request script_us by_kind
  use_llmgw "$name"
  # redis-server's own CPU time per request, and its calls (INFO commandstats), over the
  # measured runs of all the rounds (the warm-ups left out).
  n=${RED_REQ[$name]}
  redis_us=$(awk -v t="${RED_TICKS[$name]}" -v hz="$CLK_TCK" -v n="$n" 'BEGIN { printf "%.1f", (n > 0 ? t / hz * 1e6 / n : 0) }')
  per_request=$(awk -v c="${RED_CALLS[$name]}" -v n="$n" 'BEGIN { printf "%.2f", (n > 0 ? c / n : 0) }')
  script_us=$(awk -v u="${RED_USEC[$name]}" -v n="$n" 'BEGIN { printf "%.1f", (n > 0 ? u / n : 0) }')
  check_limits_metrics "$name"
  # The limits really were in Redis: its keys are there, and llmgw called it.
  keys=$(redis-cli -h "$HOST" -p "$redis_port" --scan --pattern 'llmgw:*' | wc -l) ||
    die "$name: redis-cli --scan failed"
  ((keys > 0)) || die "$name: redis-server holds no llmgw:* key after the run"
  file=$WORK_DIR/$name.metrics
  calls=$(metric_sum "$file" llmgw_redis_call_duration_seconds_count)
  errors=$(metric_sum "$file" llmgw_redis_errors_total)
  fail_open=$(metric_sum "$file" llmgw_redis_fail_open_total)
  ((calls > 0)) || die "$name: llmgw made no Redis call"
  # llmgw's own count of its admission calls, by kind (admit, flush, renew, ...).
  by_kind=$(sed -n 's/^llmgw_redis_admission_calls_total{kind="\([a-z_]*\)"} \([0-9.e+]*\)$/\1 \2/p' "$file" |
    awk '{ printf "%s%s %d", (NR > 1 ? ", " : ""), $1, $2 }')
  # A few Redis timeouts (50 ms) on a busy machine are admitted in-process (fail open):
  # reported, not fatal; any refusal already failed the run above.
  ((errors == 0 && fail_open == 0)) ||
    log "$name: warning: $errors Redis errors, $fail_open requests admitted without Redis (fail open)"
  CHECKS[$name]="${CHECKS[$name]}; $calls Redis calls ($(ratio "$calls" "${CHECKS_REQUESTS}") per request; admission calls by kind: ${by_kind:-none}), $errors Redis errors, $fail_open admitted without Redis; $keys llmgw:* keys in Redis; redis-server CPU $redis_us us per request (on CPU $LOAD_CPU), of which $script_us us inside the scripts (INFO commandstats); $per_request Redis calls per request (INFO commandstats)"
  stop_pid "$LLMGW_PID"
  stop_pid "${REDIS_PID_OF[$name]}"
}

fake_requests() { # fake_requests: how many requests the fake model server has answered
  curl --noproxy '*' -sS --max-time 5 "http://$HOST:$UPSTREAM_PORT/fake/stats" |
    sed -n 's/.*"requests_total":\([0-9]*\).*/\1/p'
}

check_llmgw_cache() {
  local file hits
  use_llmgw llmgw+cache
  file=$WORK_DIR/llmgw+cache.metrics
  curl --noproxy '*' -sS --max-time 5 -o "$file" "http://$HOST:$LLMGW_ADMIN_PORT/metrics" ||
    die "llmgw+cache: could not read /metrics"
  hits=$(awk '/^llmgw_cache_requests_total\{result="hit"/ { s += $NF } END { printf "%.0f", s }' "$file")
  ((CACHE_MISSES[llmgw+cache] == 0)) || die "llmgw+cache: ${CACHE_MISSES[llmgw+cache]} requests reached the model during its rounds"
  ((hits > 0)) || die "llmgw+cache: no cache hits counted"
  CHECKS[llmgw+cache]="$hits cache hits; the model server got no request during warm-up and measurement"
  stop_pid "$LLMGW_PID"
}

# --- llmgw with tracing --------------------------------------------------------
SINK_PORT=
start_otlp_sink() {
  pick_port; SINK_PORT=$PORT
  start_bg otlp-sink taskset -c "$LOAD_CPU" "$SINK_BIN" "$SINK_PORT"
  wait_listening otlp-sink "$LAST_PID" "$SINK_PORT"
}

start_llmgw_trace() { # start_llmgw_trace RATIO
  start_llmgw_setup "llmgw+trace$1" "$BENCH_DIR/llmgw.yaml" "tracing:
  endpoint: \"http://$HOST:$SINK_PORT/v1/traces\"
  sample_ratio: $1"
}

check_llmgw_trace() { # check_llmgw_trace RATIO: after the rounds and one flush interval
  local name=llmgw+trace$1 file exported dropped
  use_llmgw "$name"
  file=$WORK_DIR/$name.metrics
  curl --noproxy '*' -sS --max-time 5 -o "$file" "http://$HOST:$LLMGW_ADMIN_PORT/metrics" ||
    die "$name: could not read /metrics"
  exported=$(metric_sum "$file" llmgw_trace_spans_exported_total)
  dropped=$(metric_sum "$file" llmgw_trace_spans_dropped_total)
  ((exported > 0)) || die "$name: no span exported"
  CHECKS[$name]="$exported spans exported, $dropped dropped (sink: $(curl --noproxy '*' -sS --max-time 5 "http://$HOST:$SINK_PORT/stats"))"
  stop_pid "$LLMGW_PID"
}

NGINX_WORKERS=1
NGINX_BUFFERING=on        # off in the streaming setup
NGINX_CONNECTIONS=4096    # worker_connections: client and upstream connections of a worker
NGINX_READ_TIMEOUT=60s    # proxy_read_timeout (nginx's default); longer in the streaming setup
NGINX_PORT=
NGINX_PID=
start_nginx() { # start_nginx NAME: nginx with NGINX_* settings, on PROXY_PIN
  local name=$1 dir=$WORK_DIR/$1 m
  pick_port; NGINX_PORT=$PORT
  mkdir -p "$dir"
  sed -e "s|@DIR@|$dir|g" -e "s|@LISTEN_PORT@|$NGINX_PORT|g" -e "s|@UPSTREAM_PORT@|$UPSTREAM_PORT|g" \
    -e "s|@WORKERS@|$NGINX_WORKERS|g" -e "s|@BUFFERING@|$NGINX_BUFFERING|g" \
    -e "s|@WORKER_CONNECTIONS@|$NGINX_CONNECTIONS|g" -e "s|@NOFILE@|$NOFILE|g" \
    -e "s|@READ_TIMEOUT@|$NGINX_READ_TIMEOUT|g" \
    "$BENCH_DIR/nginx.conf.template" >"$dir/nginx.conf"
  # A temp-path directive of a module compiled out of this nginx is an error.
  for m in fastcgi uwsgi scgi; do
    if nginx -V 2>&1 | grep -q -- "--without-http_${m}_module"; then
      sed -i "/^ *${m}_temp_path /d" "$dir/nginx.conf"
    fi
  done
  # -p/-e: prefix and startup error log in the temp dir, not /usr/share/nginx or /var/log.
  local args=(-p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log")
  # As root, workers would run as "nobody" and could not enter the 0700 temp dir.
  [[ $(id -u) == 0 ]] && args+=(-g "user root;")
  nginx -t -q "${args[@]}" 2>"$dir/check.log" || { sed 's/^/    /' "$dir/check.log" >&2; die "nginx rejects its configuration"; }
  start_bg "$name" "${PROXY_PIN[@]}" nginx "${args[@]}"
  NGINX_PID=$LAST_PID
  wait_listening "$name" "$NGINX_PID" "$NGINX_PORT"
}

start_nginx_setup() {
  start_nginx nginx
  verify nginx "$NGINX_PORT"
  round_setup nginx "$NGINX_PORT" "$NGINX_PID"
}

HAPROXY_MAXCONN=4096
HAPROXY_IDLE_TIMEOUT=75s  # timeout client and server; longer in the streaming setup
HAPROXY_PORT=
HAPROXY_PID=
start_haproxy() { # start_haproxy NAME: HAProxy (one thread, HAPROXY_MAXCONN) on PROXY_PIN
  local name=$1 cfg=$WORK_DIR/$1.cfg
  pick_port; HAPROXY_PORT=$PORT
  sed -e "s|@LISTEN_PORT@|$HAPROXY_PORT|g" -e "s|@UPSTREAM_PORT@|$UPSTREAM_PORT|g" \
    -e "s|@NBTHREAD@|1|g" -e "s|@MAXCONN@|$HAPROXY_MAXCONN|g" -e "s|@IDLE_TIMEOUT@|$HAPROXY_IDLE_TIMEOUT|g" \
    "$BENCH_DIR/haproxy.cfg.template" >"$cfg"
  haproxy -c -q -f "$cfg" >"$WORK_DIR/$name.check.log" 2>&1 ||
    { sed 's/^/    /' "$WORK_DIR/$name.check.log" >&2; die "haproxy rejects its configuration"; }
  # -db: stay in the foreground, so the pid we hold is HAProxy itself.
  start_bg "$name" "${PROXY_PIN[@]}" haproxy -db -f "$cfg"
  HAPROXY_PID=$LAST_PID
  wait_listening "$name" "$HAPROXY_PID" "$HAPROXY_PORT"
}

start_haproxy_setup() {
  start_haproxy haproxy
  verify haproxy "$HAPROXY_PORT"
  round_setup haproxy "$HAPROXY_PORT" "$HAPROXY_PID"
}

# After the rounds (and the concurrency-1 rounds): nginx and HAProxy stop.
check_others() {
  stop_pid "${PID_OF[nginx]}"
  stop_pid "${PID_OF[haproxy]}"
}

# ---------------------------------------------------------------------------
# Concurrency 1: one request at a time. What each proxy adds to the direct backend's p50 and p99
# is its latency on an idle path.
# ---------------------------------------------------------------------------
declare -A C1_REQUESTS C1_P50 C1_P99 C1_P999 C1_R_P50 C1_R_P99
C1_SETUPS=(direct llmgw nginx haproxy)
C1_ROUND_SECONDS=$(((C1_DURATION + ROUNDS - 1) / ROUNDS)) # each setup's share of a round, at least 1 s

# A p99 of one request at a time is the machine's own scheduling hiccups as much as the proxy's:
# measured one setup after the other (wrk -c1, 2 s each, in rotating rounds), the added p99 of
# the same llmgw and nginx binaries landed between 0.49x and 1.37x of each other from run to
# run. So the bench client sends one request at a time to each setup in turn (the direct
# backend and the three proxies, each cycle starting one further along), and every setup meets
# the same hiccups, request by request. ROUNDS rounds give the spread; a proxy's added latency
# is taken within the round, against that round's direct figure.
run_c1_rounds() {
  local out=$WORK_DIR/c1.txt targets=() s r line rc=0 p50 p99
  for s in "${C1_SETUPS[@]}"; do targets+=(--target "$s=$HOST:${PORT_OF[$s]}"); done
  log "concurrency 1: ${#C1_SETUPS[@]} setups in turn, request by request, $ROUNDS rounds of $((C1_ROUND_SECONDS * ${#C1_SETUPS[@]}))s"
  start_client "$out" alternate "${targets[@]}" --body "$REQUEST_BODY" \
    --duration $((C1_ROUND_SECONDS * ${#C1_SETUPS[@]} * ROUNDS)) --rounds "$ROUNDS"
  wait_client || rc=$?
  ((rc == 0)) || { sed 's/^/    /' "$out" >&2; die "concurrency 1: errors or non-2xx answers"; }
  for s in "${C1_SETUPS[@]}"; do
    p50=() p99=()
    for ((r = 1; r <= ROUNDS; r++)); do
      line=$(grep "^ROUND round=$r name=$s " "$out") || die "concurrency 1: no round $r for $s"
      C1_R_P50[$s#$r]=$(field p50_us "$line") C1_R_P99[$s#$r]=$(field p99_us "$line")
      p50+=("${C1_R_P50[$s#$r]}") p99+=("${C1_R_P99[$s#$r]}")
    done
    line=$(grep "^ALL round=0 name=$s " "$out") || die "concurrency 1: no total for $s"
    C1_REQUESTS[$s]=$(field requests "$line") C1_P999[$s]=$(field p999_us "$line")
    C1_P50[$s]=$(median "${p50[@]}") C1_P99[$s]=$(median "${p99[@]}")
    log "$s: concurrency 1: p50 ${C1_P50[$s]} us, p99 ${C1_P99[$s]} us (medians of $ROUNDS rounds)"
  done
}

c1_added() { # c1_added NAME PERCENTILE(50|99): the added latency (us) of each round, one per line
  local -n of=C1_R_P$2
  local r
  for ((r = 1; r <= ROUNDS; r++)); do added "${of[$1#$r]}" "${of[direct#$r]}"; echo; done
}

c1_summary() { # c1_summary NAME PERCENTILE: "median (min to max)" of its added latency per round
  local values
  mapfile -t values < <(c1_added "$1" "$2")
  awk -v m="$(median "${values[@]}")" -v lo="$(printf '%s\n' "${values[@]}" | sort -g | head -n 1)" \
    -v hi="$(printf '%s\n' "${values[@]}" | sort -g | tail -n 1)" 'BEGIN { printf "%+.0f (%+d to %+d)", m, lo, hi }'
}

c1_rounds_not_worse() { # c1_rounds_not_worse A B: rounds in which A's added p99 was at most B's
  local a b count=0 r
  mapfile -t a < <(c1_added "$1" 99)
  mapfile -t b < <(c1_added "$2" 99)
  for ((r = 0; r < ROUNDS; r++)); do ((a[r] <= b[r])) && count=$((count + 1)); done
  echo "$count"
}

# ---------------------------------------------------------------------------
# The bench client (tools/bench_client): fixed-rate requests and many SSE streams.
# ---------------------------------------------------------------------------
CLIENT_PID=
start_client() { # start_client OUTFILE ARGS...: the bench client on the load core, in the background
  local out=$1; shift
  taskset -c "$LOAD_CPU" "$CLIENT_BIN" "$@" >"$out" 2>&1 &
  CLIENT_PID=$!
  PIDS+=("$CLIENT_PID")
}

wait_client() { # wait_client: its exit status (0 all fine, 1 lost or failed requests, 2 usage)
  local rc=0
  wait "$CLIENT_PID" || rc=$?
  forget_pid "$CLIENT_PID"
  return "$rc"
}

# --- The gateway's own overhead at half of plain llmgw's single-core maximum -----------------
declare -A HALF
bench_llmgw_half_load() { # on the llmgw of bench_llmgw, still running; after its full-load run
  local before=$WORK_DIR/llmgw.half.before.metrics after=$WORK_DIR/llmgw.half.after.metrics
  local out=$WORK_DIR/llmgw.half.txt line t0 t1 rc=0
  HALF[target]=$(awk -v r="${RPS[llmgw]}" 'BEGIN { printf "%d", r / 2 }')
  ((HALF[target] > 0)) || die "llmgw half load: no full-load rate to halve"
  curl --noproxy '*' -sS --max-time 5 -o "$before" "http://$HOST:$LLMGW_ADMIN_PORT/metrics" ||
    die "llmgw: could not read /metrics"
  log "llmgw: ${HALF[target]} requests/s (half of its maximum) for ${DURATION}s, fixed rate"
  t0=$(cpu_ticks "$LLMGW_PID")
  start_client "$out" rate --target "$HOST:$LLMGW_PORT" --body "$REQUEST_BODY" \
    --rate "${HALF[target]}" --connections "$CONNECTIONS" --duration "$DURATION"
  wait_client || rc=$?
  t1=$(cpu_ticks "$LLMGW_PID")
  line=$(grep '^RATE ' "$out") || { sed 's/^/    /' "$out" >&2; die "llmgw half load: no RATE line"; }
  ((rc == 0)) || { sed 's/^/    /' "$out" >&2; die "llmgw half load: errors or non-2xx answers"; }
  curl --noproxy '*' -sS --max-time 5 -o "$after" "http://$HOST:$LLMGW_ADMIN_PORT/metrics" ||
    die "llmgw: could not read /metrics"
  HALF[rps]=$(field rps "$line")
  HALF[p50]=$(field p50_us "$line")
  HALF[p99]=$(field p99_us "$line")
  HALF[late]=$(field late "$line")
  HALF[requests]=$(field requests "$line")
  HALF[cpu_pct]=$(awk -v t=$((t1 - t0)) -v hz="$CLK_TCK" -v s="$DURATION" 'BEGIN { printf "%.0f", 100 * t / hz / s }')
  HALF[overhead_p50]=$(overhead_quantile "$after" 0.5 "$before")
  HALF[overhead_p99]=$(overhead_quantile "$after" 0.99 "$before")
  log "llmgw half load: ${HALF[rps]} req/s, overhead p50 <= ${HALF[overhead_p50]} us, p99 <= ${HALF[overhead_p99]} us"
}

# --- Two cores: llmgw with 2 workers against nginx with 2 workers ----------------------------
# No proxy is pinned: both cores are shared by the proxy, wrk (2 threads) and a fake model server
# of its own (2 threads), as the kernel schedules them. See bench/README.md for the trade-off.
bench_two_core() {
  local saved_upstream=$UPSTREAM_PORT
  start_fake fake-2core 2
  UPSTREAM_PORT=$FAKE_PORT
  PROXY_PIN=() WRK_PIN=() WRK_THREADS=2 LLMGW_WORKERS=2 NGINX_WORKERS=2
  start_llmgw llmgw-2w "$BENCH_DIR/llmgw.yaml"
  verify llmgw-2w "$LLMGW_PORT"
  measure llmgw-2w "$LLMGW_PORT" "$LLMGW_PID"
  stop_pid "$LLMGW_PID"
  start_nginx nginx-2w
  verify nginx-2w "$NGINX_PORT"
  measure nginx-2w "$NGINX_PORT" "$NGINX_PID"
  stop_pid "$NGINX_PID"
  PROXY_PIN=(taskset -c "$PROXY_CPU") WRK_PIN=(taskset -c "$LOAD_CPU") WRK_THREADS=1 LLMGW_WORKERS=1 NGINX_WORKERS=1
  stop_pid "$FAKE_PID"
  UPSTREAM_PORT=$saved_upstream
}

# --- Streaming: STREAMS SSE streams open at once through each proxy ---------------------------
STREAM_BODY='{"model":"fake-model","messages":[{"role":"user","content":"Say hello."}],"max_tokens":16,"stream":true,"stream_options":{"include_usage":true}}'

verify_stream() { # verify_stream NAME PORT: one short stream gets 200 from the fake server and ends with [DONE]
  local name=$1 port=$2 code
  code=$(curl --noproxy '*' -sS -N --max-time 10 -o "$WORK_DIR/$name.verify.body" \
    -D "$WORK_DIR/$name.verify.headers" -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
    -H 'x-fake-chunks: 2' -H 'x-fake-chunk-interval-ms: 10' --data-binary "$STREAM_BODY" \
    "http://$HOST:$port/v1/chat/completions") || die "$name: stream request failed"
  if [[ $code != 200 ]] || ! grep -qi "^x-fake-server: $FAKE_ID" "$WORK_DIR/$name.verify.headers" ||
    [[ $(grep '^data:' "$WORK_DIR/$name.verify.body" | tail -n 1 | tr -d '\r') != 'data: [DONE]' ]]; then
    sed 's/^/    /' "$WORK_DIR/$name.verify.headers" "$WORK_DIR/$name.verify.body" >&2 || true
    die "$name: expected a 200 SSE stream from the fake server ending with data: [DONE], got HTTP $code"
  fi
  log "$name: verified (a stream from the fake server, ending with [DONE])"
}

rss_kib() { # rss_kib PID: resident memory (KiB) of PID and its children (nginx's workers)
  local p total=0 kib
  for p in "$1" $(pgrep -P "$1" || true); do
    kib=$(awk '/^VmRSS:/ { print $2 }' "/proc/$p/status" 2>/dev/null) || continue
    total=$((total + ${kib:-0}))
  done
  echo "$total"
}

declare -A ST_HELD ST_IDLE ST_OPEN ST_PER_STREAM ST_CPU_EVENT ST_EVENTS ST_LOST ST_RAMP
STREAM_SETUPS=()
measure_streams() { # measure_streams NAME PORT PID
  local name=$1 port=$2 pid=$3 out=$WORK_DIR/$1.streams.txt rss0 rss1 t0 t1 rc=0 open line i
  rss0=$(rss_kib "$pid")
  log "$name: $STREAMS_HELD streams: first event, ${STREAM_HOLD_MS} ms pause, then $STREAM_EVENTS events ${STREAM_INTERVAL_MS} ms apart"
  start_client "$out" streams --target "$HOST:$port" --body "$STREAM_BODY" --streams "$STREAMS_HELD" \
    --header "x-fake-chunks: $STREAM_EVENTS" --header "x-fake-chunk-interval-ms: $STREAM_INTERVAL_MS" \
    --header "x-fake-hold-ms: $STREAM_HOLD_MS" \
    --timeout "$STREAM_TIMEOUT"
  # Memory and CPU time are read as soon as every stream has its first event.
  for ((i = 0; ; i++)); do
    grep -qs '^OPEN ' "$out" && break
    kill -0 "$CLIENT_PID" 2>/dev/null || break
    sleep 0.05
  done
  open=$(grep '^OPEN ' "$out" || true)
  rss1=$(rss_kib "$pid")
  t0=$(cpu_ticks "$pid")
  wait_client || rc=$?
  t1=$(cpu_ticks "$pid")
  line=$(grep '^STREAMS ' "$out") || { sed 's/^/    /' "$out" >&2; die "$name: no STREAMS line from the bench client"; }
  [[ -n $open ]] || { sed 's/^/    /' "$out" >&2; die "$name: the streams never were all open"; }
  ((rc <= 1)) || { sed 's/^/    /' "$out" >&2; die "$name: the bench client failed"; }
  STREAM_SETUPS+=("$name")
  ST_HELD[$name]=$(($(field opened "$open") - $(field finished "$open")))
  ST_RAMP[$name]=$(field elapsed_ms "$open")
  ST_IDLE[$name]=$rss0
  ST_OPEN[$name]=$rss1
  ST_PER_STREAM[$name]=$(awk -v a="$rss1" -v b="$rss0" -v n="${ST_HELD[$name]}" 'BEGIN { printf "%.1f", (n > 0 ? (a - b) / n : 0) }')
  ST_EVENTS[$name]=$(field events "$line")
  ST_CPU_EVENT[$name]=$(awk -v t=$((t1 - t0)) -v hz="$CLK_TCK" -v n=$(($(field events "$line") - $(field events "$open"))) \
    'BEGIN { printf "%.2f", (n > 0 ? t / hz * 1e6 / n : 0) }')
  ST_LOST[$name]=$(field lost "$line")
  ((ST_LOST[$name] == 0)) || log "$name: warning: ${ST_LOST[$name]} streams lost ($line)"
  log "$name: ${ST_HELD[$name]} streams held, ${ST_PER_STREAM[$name]} KiB per stream, ${ST_CPU_EVENT[$name]} us CPU per event, ${ST_LOST[$name]} lost"
}

# Each proxy gets a fake model server of its own (one thread, on the load core): fresh ports, so
# the connections the previous proxy left in TIME_WAIT are not in the way.
bench_streams() {
  local saved_upstream=$UPSTREAM_PORT
  start_fake fake-streams-llmgw 1 taskset -c "$LOAD_CPU"
  UPSTREAM_PORT=$FAKE_PORT
  LLMGW_MAX_CONNECTIONS=$((STREAMS_HELD + 100)) LLMGW_UPSTREAM_IDLE=${STREAM_IDLE_TIMEOUT}s
  start_llmgw streams-llmgw "$BENCH_DIR/llmgw.yaml"
  LLMGW_MAX_CONNECTIONS= LLMGW_UPSTREAM_IDLE=
  verify_stream streams-llmgw "$LLMGW_PORT"
  measure_streams llmgw "$LLMGW_PORT" "$LLMGW_PID"
  stop_pid "$LLMGW_PID"
  stop_pid "$FAKE_PID"

  start_fake fake-streams-nginx 1 taskset -c "$LOAD_CPU"
  UPSTREAM_PORT=$FAKE_PORT
  # worker_connections above the descriptors: at exactly the open-files limit, nginx found
  # 20000 "not enough" for 9,850 streams (19,710 descriptors) and cut 475 of them.
  NGINX_BUFFERING=off NGINX_CONNECTIONS=$((NOFILE + 5000)) NGINX_READ_TIMEOUT=${STREAM_IDLE_TIMEOUT}s
  start_nginx streams-nginx
  NGINX_BUFFERING=on NGINX_CONNECTIONS=4096 NGINX_READ_TIMEOUT=60s
  verify_stream streams-nginx "$NGINX_PORT"
  measure_streams nginx "$NGINX_PORT" "$NGINX_PID"
  stop_pid "$NGINX_PID"
  stop_pid "$FAKE_PID"

  start_fake fake-streams-haproxy 1 taskset -c "$LOAD_CPU"
  UPSTREAM_PORT=$FAKE_PORT
  HAPROXY_MAXCONN=$((STREAMS_HELD + 50)) HAPROXY_IDLE_TIMEOUT=${STREAM_IDLE_TIMEOUT}s
  start_haproxy streams-haproxy
  HAPROXY_MAXCONN=4096 HAPROXY_IDLE_TIMEOUT=75s
  verify_stream streams-haproxy "$HAPROXY_PORT"
  measure_streams haproxy "$HAPROXY_PORT" "$HAPROXY_PID"
  stop_pid "$HAPROXY_PID"
  stop_pid "$FAKE_PID"
  UPSTREAM_PORT=$saved_upstream
}

# ---------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------
ms() { awk -v us="$1" 'BEGIN { printf "%.3f", us / 1000 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
added() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%+d", a - b }'; } # added A B: A - B (us)

first_line() { # first_line CMD...: first line of CMD's output, whatever its exit status
  { "$@" 2>&1 || true; } | head -n 1
}

report() {
  local commit cpu s
  commit=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
  # --no-optional-locks: a read-only look, no index refresh written.
  if [[ -n $(git -C "$ROOT" --no-optional-locks status --porcelain --untracked-files=no 2>/dev/null) ]]; then
    commit="$commit (with uncommitted changes)"
  fi
  cpu=$(grep -m1 '^model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | sed 's/^ *//' || true)

  echo "# llmgw benchmark"
  echo
  echo "- date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
  echo "- machine: $(nproc) CPUs, ${cpu:-unknown CPU}; load average before the run: $LOADAVG"
  echo "- llmgw: commit $commit, $(first_line "$LLMGW_BIN" --version)${LLMGW_BIN_OTHER:+ (binary: $LLMGW_BIN)}"
  echo "- nginx: $(first_line nginx -v | sed 's/^nginx version: //'); haproxy: $(first_line haproxy -v | awk '{print $3}'); wrk: $(first_line wrk -v | awk '{print $2}')"
  echo "- load: wrk -t1 -c$CONNECTIONS; POST /v1/chat/completions, ${#REQUEST_BODY}-byte body, non-streamed"
  echo "- rounds: the single-core setups (the first table) run at once and are measured in $ROUNDS interleaved rounds of ${ROUND_SECONDS}s each (each setup once per round, the order rotating; a ${WARMUP_SECONDS}s warm-up before a setup's first round, ${ROUND_WARMUP_SECONDS}s before the others). A setup's requests/s and latencies are the medians of its rounds, its CPU is over all of them; a ratio of two setups is taken within each round, then the median (min–max) of the rounds"
  echo "- pinning: proxy on CPU $PROXY_CPU; wrk and fake model server (1 thread) on CPU $LOAD_CPU, and for llmgw+redis its redis-server ($(first_line redis-server --version | sed -n 's/.* v=\([^ ]*\).*/\1/p'), no persistence) on CPU $LOAD_CPU too; all on $HOST"
  echo "- llmgw+limits / llmgw+redis / llmgw+redis-lease: bench/llmgw-limits.yaml, one API key (Authorization: Bearer, made for this run), one tier with requests_per_second, tokens_per_second and requests_per_day set far above the load (no request may be refused); llmgw+redis adds redis.url (defaults: timeout 50ms, failure_mode open, admission exact), llmgw+redis-lease also admission: lease (lease_fraction 0.02)"
  echo
  echo "| setup | requests/s | p50 (ms) | p90 (ms) | p99 (ms) | proxy CPU (% of its core) | proxy CPU per request (us) |"
  echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"
  for s in "${SETUPS[@]}"; do
    printf '| %s | %.0f | %s | %s | %s | %s | %s |\n' "$s" "${RPS[$s]}" "$(ms "${P50[$s]}")" "$(ms "${P90[$s]}")" \
      "$(ms "${P99[$s]}")" "${CPU_PCT[$s]:-—}" "${CPU_US[$s]:-—}"
  done
  echo
  echo "Proxy CPU: user + system time of the proxy process (and its children) during the"
  echo "measured run, from /proc. Below 100% the proxy waited for the load side, its backend"
  echo "or Redis, or other processes on the machine took turns on its core."
  echo
  echo "| llmgw vs | requests/s ratio (higher is better) | proxy CPU per request ratio (lower is better) | p99 latency ratio (lower is better) |"
  echo "| --- | ---: | ---: | ---: |"
  for s in nginx haproxy; do
    echo "| $s | $(paired llmgw "$s") | $(paired llmgw "$s" cpu) | $(ratio "${P99[llmgw]}" "${P99[$s]}") |"
  done
  echo
  echo "Ratios are llmgw / other: a requests/s ratio of 0.80 means llmgw served 80% of"
  echo "the other proxy's throughput; a p99 ratio of 1.50 means llmgw's p99 was 1.5x theirs."
  echo
  echo "- llmgw: ${CHECKS[llmgw]}"
  echo
  echo "## Concurrency 1: added latency over direct"
  echo
  echo "| setup | requests | p50 (ms) | p99 (ms) | p99.9 (ms), all rounds | added p50 (us) | added p99 (us) |"
  echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"
  for s in "${C1_SETUPS[@]}"; do
    if [[ $s == direct ]]; then
      printf '| c1 %s | %s | %s | %s | %s | — | — |\n' "$s" "${C1_REQUESTS[$s]}" "$(ms "${C1_P50[$s]}")" "$(ms "${C1_P99[$s]}")" "$(ms "${C1_P999[$s]}")"
      continue
    fi
    printf '| c1 %s | %s | %s | %s | %s | %s | %s |\n' "$s" "${C1_REQUESTS[$s]}" "$(ms "${C1_P50[$s]}")" "$(ms "${C1_P99[$s]}")" \
      "$(ms "${C1_P999[$s]}")" "$(c1_summary "$s" 50)" "$(c1_summary "$s" 99)"
  done
  echo
  echo "llmgw-bench-client alternate, right after the throughput rounds (same processes, warm from"
  echo "them, same pinning): one request at a time, to each setup in turn, for ${C1_ROUND_SECONDS}s per setup in each"
  echo "of $ROUNDS rounds, so that every setup meets the machine's hiccups alike. The latency is the path's"
  echo "own, with no queue. p50 and p99 are medians over the rounds; added = the proxy's percentile minus"
  echo "the direct backend's in the same round, median (min to max)."
  echo "Llmgw's median added p99 / nginx's: $(ratio "$(median $(c1_added llmgw 99))" "$(median $(c1_added nginx 99))")"
  echo "(lower is better; target at most 1.00), llmgw's at most nginx's in $(c1_rounds_not_worse llmgw nginx) of $ROUNDS rounds;"
  echo "/ HAProxy's: $(ratio "$(median $(c1_added llmgw 99))" "$(median $(c1_added haproxy 99))"), at most HAProxy's in $(c1_rounds_not_worse llmgw haproxy) of $ROUNDS rounds."
  echo
  echo "## Two cores: 2 workers each, nothing pinned"
  echo
  echo "| llmgw-2w vs | requests/s ratio (higher is better) | p99 ratio (lower is better) | proxy CPU per request ratio (lower is better) |"
  echo "| --- | ---: | ---: | ---: |"
  echo "| nginx-2w | $(ratio "${RPS[llmgw-2w]}" "${RPS[nginx-2w]}") | $(ratio "${P99[llmgw-2w]}" "${P99[nginx-2w]}") | $(ratio "${CPU_US[llmgw-2w]}" "${CPU_US[nginx-2w]}") |"
  echo
  echo "llmgw-2w (server.workers: 2) and nginx-2w (worker_processes 2) rows are in the first table;"
  echo "their CPU share is of one core (up to 200%). wrk -t2 and a fake model server with 2 threads"
  echo "share both cores with the proxy, unpinned: a proxy that needs less CPU per request leaves"
  echo "more to the load side and so serves more. Load average before: $LOADAVG_TWO_CORE."
  echo
  echo "## Gateway overhead at half load"
  echo
  echo "| llmgw at half load | target requests/s | requests/s | client p50 (ms) | client p99 (ms) | sent late | proxy CPU (% of its core) | overhead p50 (us, bucket bound) | overhead p99 (us, bucket bound) |"
  echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
  printf '| half-load llmgw | %s | %.0f | %s | %s | %s | %s | <= %s | <= %s |\n' "${HALF[target]}" "${HALF[rps]}" \
    "$(ms "${HALF[p50]}")" "$(ms "${HALF[p99]}")" "${HALF[late]}" "${HALF[cpu_pct]}" "${HALF[overhead_p50]}" "${HALF[overhead_p99]}"
  echo
  echo "llmgw_gateway_overhead_seconds between two /metrics reads around a ${DURATION}s run of"
  echo "llmgw-bench-client at a fixed rate (open loop, $CONNECTIONS connections, on CPU $LOAD_CPU), half of"
  echo "plain llmgw's requests/s above; the bounds are the histogram's buckets (target: p99 <= 50 us)."
  echo "Client latency counts from each request's scheduled time; \"sent late\": more than 1 ms after it."
  echo
  echo "## Streaming: $STREAMS_HELD SSE streams at once"
  echo
  echo "| setup | streams held at once | opening all (s) | idle RSS (MiB) | RSS, all open (MiB) | RSS per stream (KiB) | proxy CPU per event (us) | events | streams lost |"
  echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
  for s in "${STREAM_SETUPS[@]}"; do
    printf '| streams %s | %s | %.1f | %.1f | %.1f | %s | %s | %s | %s |\n' "$s" "${ST_HELD[$s]}" \
      "$(awk -v v="${ST_RAMP[$s]}" 'BEGIN { print v / 1000 }')" \
      "$(awk -v v="${ST_IDLE[$s]}" 'BEGIN { print v / 1024 }')" "$(awk -v v="${ST_OPEN[$s]}" 'BEGIN { print v / 1024 }')" \
      "${ST_PER_STREAM[$s]}" "${ST_CPU_EVENT[$s]}" "${ST_EVENTS[$s]}" "${ST_LOST[$s]}"
  done
  echo
  echo "| llmgw vs | RSS per stream ratio (lower is better) | CPU per event ratio (lower is better) |"
  echo "| --- | ---: | ---: |"
  for s in nginx haproxy; do
    echo "| streams $s | $(ratio "${ST_PER_STREAM[llmgw]}" "${ST_PER_STREAM[$s]}") | $(ratio "${ST_CPU_EVENT[llmgw]}" "${ST_CPU_EVENT[$s]}") |"
  done
  echo
  echo "Each stream: POST /v1/chat/completions with \"stream\": true (and include_usage), $STREAM_EVENTS words:"
  echo "the first at once, the others from ${STREAM_HOLD_MS} ms on, one every $STREAM_INTERVAL_MS ms (the fake server's"
  echo "x-fake-hold-ms, x-fake-chunks, x-fake-chunk-interval-ms), then stop, usage and [DONE]. The pause lets"
  echo "every stream be open before the events flow. llmgw-bench-client (CPU $LOAD_CPU) opens them all (at"
  echo "most 256 waiting for their first event at a time; \"opening all\": how long that took) and reads"
  echo "each to its end; a stream is lost unless its status is 200 and its"
  echo "last event is data: [DONE] followed by the body's end. RSS per stream = (the proxy's RSS once"
  echo "every stream has its first event - its RSS before) / streams held then (nginx: master and worker"
  echo "summed). CPU per event: the proxy's user + system time from that moment to the last stream's"
  echo "end, per event relayed meanwhile (the streams' ends included). nginx: proxy_buffering off;"
  echo "HAProxy: maxconn $((STREAMS_HELD + 50)); llmgw: server.max_connections $((STREAMS_HELD + 100)); the"
  echo "upstream idle timeout of all three ${STREAM_IDLE_TIMEOUT} s (timeouts.idle, proxy_read_timeout, timeout server)."
  for s in "${STREAM_SETUPS[@]}"; do
    if ((ST_HELD[$s] < STREAMS_HELD)); then
      echo "Warning: only ${ST_HELD[$s]} of $STREAMS_HELD streams were open at once through $s: opening them"
      echo "took longer than the pause (STREAM_HOLD_MS=$STREAM_HOLD_MS), so its RSS per stream is not comparable; raise it."
    fi
  done
  if ((STREAMS_HELD < STREAMS)); then
    echo "Capped: $STREAMS streams were asked for, but the open-files limit here is $NOFILE (ulimit -Hn,"
    echo "not raisable without CAP_SYS_RESOURCE) and a proxy holds two descriptors per stream."
  fi
  echo "Load average before: $LOADAVG_STREAMS."
  echo
  echo "## Cost of limits"
  echo
  echo "| setup / plain llmgw | requests/s ratio (higher is better) | p50 ratio | p90 ratio | p99 ratio (lower is better) | proxy CPU per request ratio | proxy CPU per request added (us) |"
  echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"
  for s in llmgw+limits llmgw+redis llmgw+redis-lease; do
    printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$s" "$(paired "$s" llmgw)" \
      "$(ratio "${P50[$s]}" "${P50[llmgw]}")" "$(ratio "${P90[$s]}" "${P90[llmgw]}")" \
      "$(ratio "${P99[$s]}" "${P99[llmgw]}")" "$(paired "$s" llmgw cpu)" \
      "$(awk -v a="${CPU_US[$s]}" -v b="${CPU_US[llmgw]}" 'BEGIN { printf "%+.1f", a - b }')"
  done
  echo
  echo "| Redis admission / llmgw+limits (in process) | requests/s ratio (higher is better) | proxy CPU per request ratio |"
  echo "| --- | ---: | ---: |"
  for s in llmgw+redis llmgw+redis-lease; do
    echo "| $s | $(paired "$s" llmgw+limits) | $(paired "$s" llmgw+limits cpu) |"
  done
  echo
  echo "Ratios are setup / plain llmgw: a requests/s ratio of 0.90 means the setup served 90%"
  echo "of plain llmgw's throughput; a p99 ratio of 1.20 means its p99 was 1.2x plain llmgw's."
  echo "\"Proxy CPU per request added\" is what the API-key check and the limits cost llmgw's"
  echo "core per request, whether or not that core was the bottleneck. For llmgw+redis,"
  echo "redis-server runs on CPU $LOAD_CPU with wrk and the fake server: its own work (not counted"
  echo "here) takes CPU from the load side, and each request waits for Redis round trips."
  echo
  echo "Checks after the run (llmgw's /metrics and redis-cli; any refusal or non-2xx answer fails the run):"
  echo
  for s in llmgw+limits llmgw+redis llmgw+redis-lease; do echo "- $s: ${CHECKS[$s]}"; done
  echo
  echo "## Cache hits"
  echo
  echo "| llmgw+cache vs | requests/s ratio (higher is better) | p99 ratio (lower is better) | proxy CPU per request ratio |"
  echo "| --- | ---: | ---: | ---: |"
  for s in llmgw nginx haproxy; do
    echo "| $s | $(paired llmgw+cache "$s") | $(ratio "${P99[llmgw+cache]}" "${P99[$s]}") | $(paired llmgw+cache "$s" cpu) |"
  done
  echo
  echo "- llmgw+cache: ${CHECKS[llmgw+cache]}."
  echo
  echo "## Cost of tracing"
  echo
  echo "| setup / plain llmgw | requests/s ratio (higher is better) | p50 ratio | p99 ratio (lower is better) | proxy CPU per request added (us) |"
  echo "| --- | ---: | ---: | ---: | ---: |"
  for s in llmgw+trace1 llmgw+trace0.01; do
    printf '| %s | %s | %s | %s | %s |\n' "$s" "$(paired "$s" llmgw)" \
      "$(ratio "${P50[$s]}" "${P50[llmgw]}")" "$(ratio "${P99[$s]}" "${P99[llmgw]}")" \
      "$(awk -v a="${CPU_US[$s]}" -v b="${CPU_US[llmgw]}" 'BEGIN { printf "%+.1f", a - b }')"
  done
  echo
  for s in llmgw+trace1 llmgw+trace0.01; do echo "- $s: ${CHECKS[$s]}"; done
  echo
  echo "Requests/s ratios: median (min–max) of the ratios within each of the $ROUNDS rounds."
  echo
  echo "The others forward to a fake model server that answers at once; a real model takes"
  echo "100 ms to seconds, which a hit saves entirely."
  # Near the direct backend's rate, the load core (wrk + fake server) is the limit,
  # not the proxy: that proxy's real headroom, and llmgw's gap to it, is larger.
  for s in llmgw nginx haproxy llmgw+limits llmgw+redis llmgw+redis-lease llmgw+cache llmgw+trace1 llmgw+trace0.01; do
    if awk -v a="${RPS[$s]}" -v d="${RPS[direct]}" 'BEGIN { exit !(a >= 0.9 * d) }'; then
      echo
      echo "Note: $s reached $(ratio "${RPS[$s]}" "${RPS[direct]}")x the direct backend's requests/s: the load side (CPU $LOAD_CPU) likely limited it, not the proxy."
    fi
  done
}

# ---------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------
for cmd in wrk nginx haproxy taskset curl ss pgrep awk openssl sha256sum redis-server redis-cli; do
  command -v "$cmd" >/dev/null || die "$cmd not found (scripts/install-deps.sh installs it)"
done
[[ -x $LLMGW_BIN && -x $FAKE_BIN && -x $CLIENT_BIN && -x $SINK_BIN ]] ||
  die "binaries missing: cmake --build build -j2 --target llmgw llmgw-fake-model llmgw-bench-client llmgw-otlp-sink"
taskset -c "$LOAD_CPU" true 2>/dev/null || die "needs at least 2 CPUs (pins to CPU $PROXY_CPU and $LOAD_CPU)"
[[ -n $REQUEST_BODY ]] || die "could not read wrk.body from $LUA_SCRIPT"

# Every process started here inherits the soft limit: a proxy holds two descriptors per stream.
NOFILE=$(ulimit -Hn)
[[ $NOFILE == unlimited ]] && NOFILE=1048576
ulimit -n "$NOFILE" || die "could not raise the open-files limit to $NOFILE"
# Below the hard limit a proxy cannot hold STREAMS streams (client + upstream descriptor each,
# plus listeners, logs and its pool): fewer are opened, and the report says so.
STREAMS_HELD=$(((NOFILE - 300) / 2))
((STREAMS_HELD > STREAMS)) && STREAMS_HELD=$STREAMS
# Long enough for a slow opening of all the streams (over a minute on a busy 2-core machine),
# plus their run, twice over.
STREAM_TIMEOUT=$((180 + 2 * (STREAM_HOLD_MS + STREAM_EVENTS * STREAM_INTERVAL_MS) / 1000))

LOADAVG=$(cut -d' ' -f1-3 /proc/loadavg)
make_api_key
start_fake_server
start_otlp_sink
# The single-core setups, all running at once, measured in interleaved rounds.
start_direct
start_llmgw_setup llmgw "$BENCH_DIR/llmgw.yaml"
start_nginx_setup
start_haproxy_setup
start_llmgw_limits
start_llmgw_redis llmgw+redis exact
start_llmgw_redis llmgw+redis-lease lease
start_llmgw_setup llmgw+cache "$CACHE_CONFIG"
start_llmgw_trace 1
start_llmgw_trace 0.01
run_rounds
run_c1_rounds
sleep 1.5 # one flush interval of the tracing setups (1 s): their last spans leave the queue
check_others
check_llmgw
check_llmgw_limits
check_llmgw_redis llmgw+redis
check_llmgw_redis llmgw+redis-lease
check_llmgw_cache
check_llmgw_trace 1
check_llmgw_trace 0.01
# Then the setups that need the machine to themselves.
LOADAVG_TWO_CORE=$(cut -d' ' -f1-3 /proc/loadavg)
bench_two_core
LOADAVG_STREAMS=$(cut -d' ' -f1-3 /proc/loadavg)
bench_streams

mkdir -p "$RESULTS_DIR"
report >"$WORK_DIR/report.md"
cat "$WORK_DIR/report.md"
# The file also keeps wrk's own output, to check the figures against.
{
  cat "$WORK_DIR/report.md"
  echo
  echo "<details><summary>wrk output</summary>"
  for s in "${SETUPS[@]}"; do
    printf '\n%s:\n\n```\n' "$s"
    grep -v '^BENCH ' "$WORK_DIR/$s.wrk.txt"
    echo '```'
  done
  echo
  echo "</details>"
} >"$RESULTS_DIR/latest.md"
log "written to ${RESULTS_DIR#"$ROOT"/}/latest.md"
