#!/usr/bin/env bash
# Benchmarks llmgw against the direct backend, nginx and HAProxy on one machine.
#
# Four setups serve the same small, non-streamed OpenAI chat completion
# (bench/chat.lua) from the fake model server:
#   direct   wrk -> fake model server
#   llmgw    wrk -> llmgw (bench/llmgw.yaml, one worker) -> fake
#   nginx    wrk -> nginx (one worker, upstream keep-alive) -> fake
#   haproxy  wrk -> HAProxy (one thread, connection reuse) -> fake
# The proxy under test runs alone on CPU 0; wrk and the fake server share CPU 1,
# so every proxy gets the same single core and the load side does not eat into it.
#
# Usage: bench/run.sh [--quick]
#   --quick          2 s measurements (a smoke check, not a result)
#   DURATION=10      seconds measured per setup (after a 2 s warm-up)
#   CONNECTIONS=32   wrk connections
# Prints a Markdown report on stdout (progress goes to stderr) and writes it to
# bench/results/latest.md. Everything listens on and talks to 127.0.0.1 only.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH_DIR=$ROOT/bench
LLMGW_BIN=$ROOT/build/src/llmgw
FAKE_BIN=$ROOT/build/tools/fake_model_server/llmgw-fake-model
LUA_SCRIPT=$BENCH_DIR/chat.lua
RESULTS_DIR=$BENCH_DIR/results

HOST=127.0.0.1
PROXY_CPU=0          # the proxy under test, alone
LOAD_CPU=1           # wrk and the fake model server
WARMUP_SECONDS=2
FAKE_ID="llmgw-bench-$$" # x-fake-server header: proves an answer came from *our* fake server

DURATION=${DURATION:-10}
CONNECTIONS=${CONNECTIONS:-32}

usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; }

for arg in "$@"; do
  case $arg in
    --quick) DURATION=2 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "run.sh: unknown argument: $arg" >&2; usage >&2; exit 2 ;;
  esac
done

log() { echo "bench: $*" >&2; }
die() { echo "bench: error: $*" >&2; exit 1; }

[[ $DURATION =~ ^[1-9][0-9]*$ ]] || die "DURATION must be a positive integer (seconds), got '$DURATION'"
[[ $CONNECTIONS =~ ^[1-9][0-9]*$ ]] || die "CONNECTIONS must be a positive integer, got '$CONNECTIONS'"

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

verify() { # verify NAME PORT: one request must get 200 and the fake server's chat completion
  local name=$1 port=$2 code
  # --noproxy: an http_proxy in the environment must never send this elsewhere.
  code=$(curl --noproxy '*' -sS --max-time 5 -o "$WORK_DIR/$name.verify.body" \
    -D "$WORK_DIR/$name.verify.headers" -w '%{http_code}' \
    -X POST -H 'Content-Type: application/json' --data-binary "$REQUEST_BODY" \
    "http://$HOST:$port/v1/chat/completions") || die "$name: request failed"
  if [[ $code != 200 ]] ||
    ! grep -qi "^x-fake-server: $FAKE_ID" "$WORK_DIR/$name.verify.headers" ||
    ! grep -q '"object":"chat.completion"' "$WORK_DIR/$name.verify.body"; then
    sed 's/^/    /' "$WORK_DIR/$name.verify.headers" "$WORK_DIR/$name.verify.body" >&2 || true
    die "$name: expected 200 with the fake server's chat completion, got HTTP $code"
  fi
  log "$name: verified (200, answer from the fake server)"
}

# Results per setup, filled by measure().
declare -A RPS P50 P90 P99
SETUPS=()

run_wrk() { # run_wrk NAME PORT SECONDS OUTFILE: wrk pinned to the load core; fails on any error
  local name=$1 port=$2 seconds=$3 out=$4 pid line
  # In the background + wait, so Ctrl-C reaches the trap at once instead of after wrk.
  taskset -c "$LOAD_CPU" wrk -t1 -c"$CONNECTIONS" -d"${seconds}s" --latency -s "$LUA_SCRIPT" \
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

measure() { # measure NAME PORT: warm-up, then the measured run
  local name=$1 port=$2
  log "$name: warm-up ${WARMUP_SECONDS}s"
  run_wrk "$name" "$port" "$WARMUP_SECONDS" "$WORK_DIR/$name.warmup.txt"
  log "$name: measuring ${DURATION}s with $CONNECTIONS connections"
  run_wrk "$name" "$port" "$DURATION" "$WORK_DIR/$name.wrk.txt"
  SETUPS+=("$name")
  RPS[$name]=$(field rps "$BENCH_LINE")
  P50[$name]=$(field p50_us "$BENCH_LINE")
  P90[$name]=$(field p90_us "$BENCH_LINE")
  P99[$name]=$(field p99_us "$BENCH_LINE")
  log "$name: ${RPS[$name]} req/s, p99 ${P99[$name]} us"
}

# ---------------------------------------------------------------------------
# Setups. Each starts its proxy pinned to PROXY_CPU, checks it answers
# correctly, measures, and stops it, so only one proxy runs at a time.
# ---------------------------------------------------------------------------
UPSTREAM_PORT=

start_fake_server() {
  local i
  # Port 0: the server picks a free port and prints it ("listening on HOST:PORT").
  start_bg fake taskset -c "$LOAD_CPU" "$FAKE_BIN" --listen "$HOST:0" --threads 1 --id "$FAKE_ID"
  for ((i = 0; i < 100; i++)); do
    UPSTREAM_PORT=$(sed -n 's/^listening on .*:\([0-9][0-9]*\)$/\1/p' "$WORK_DIR/fake.log")
    [[ -n $UPSTREAM_PORT ]] && break
    kill -0 "$LAST_PID" 2>/dev/null || { show_log fake; die "fake model server exited during startup"; }
    sleep 0.1
  done
  [[ -n $UPSTREAM_PORT ]] || die "fake model server did not report its port"
  export UPSTREAM_PORT # bench/llmgw.yaml reads it as ${UPSTREAM_PORT}
  log "fake model server on $HOST:$UPSTREAM_PORT (CPU $LOAD_CPU)"
}

bench_direct() {
  verify direct "$UPSTREAM_PORT"
  measure direct "$UPSTREAM_PORT"
}

bench_llmgw() {
  local port admin_port conf=$WORK_DIR/llmgw.yaml
  pick_port; port=$PORT
  pick_port; admin_port=$PORT
  # bench/llmgw.yaml names fixed ports (so `--check` works on it as is); the run
  # uses a copy with free ones, as anything else may already listen there.
  sed -e "/^server:/,/^[^ #]/ s/^\( *listen:\).*/\1 \"$HOST:$port\"/" \
    -e "/^admin:/,/^[^ #]/ s/^\( *listen:\).*/\1 \"$HOST:$admin_port\"/" \
    "$BENCH_DIR/llmgw.yaml" >"$conf"
  if ! grep -q "\"$HOST:$port\"" "$conf" || ! grep -q "\"$HOST:$admin_port\"" "$conf"; then
    die "could not set the listen ports in a copy of bench/llmgw.yaml"
  fi
  "$LLMGW_BIN" --config "$conf" --check >/dev/null ||
    die "llmgw rejects its benchmark configuration"
  start_bg llmgw taskset -c "$PROXY_CPU" "$LLMGW_BIN" --config "$conf"
  local pid=$LAST_PID
  wait_listening llmgw "$pid" "$port"
  verify llmgw "$port"
  measure llmgw "$port"
  stop_pid "$pid"
}

bench_nginx() {
  local port dir=$WORK_DIR/nginx m
  pick_port; port=$PORT
  mkdir -p "$dir"
  sed -e "s|@DIR@|$dir|g" -e "s|@LISTEN_PORT@|$port|g" -e "s|@UPSTREAM_PORT@|$UPSTREAM_PORT|g" \
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
  start_bg nginx taskset -c "$PROXY_CPU" nginx "${args[@]}"
  local pid=$LAST_PID
  wait_listening nginx "$pid" "$port"
  verify nginx "$port"
  measure nginx "$port"
  stop_pid "$pid"
}

bench_haproxy() {
  local port cfg=$WORK_DIR/haproxy.cfg
  pick_port; port=$PORT
  sed -e "s|@LISTEN_PORT@|$port|g" -e "s|@UPSTREAM_PORT@|$UPSTREAM_PORT|g" \
    "$BENCH_DIR/haproxy.cfg.template" >"$cfg"
  haproxy -c -q -f "$cfg" >"$WORK_DIR/haproxy.check.log" 2>&1 ||
    { sed 's/^/    /' "$WORK_DIR/haproxy.check.log" >&2; die "haproxy rejects its configuration"; }
  # -db: stay in the foreground, so the pid we hold is HAProxy itself.
  start_bg haproxy taskset -c "$PROXY_CPU" haproxy -db -f "$cfg"
  local pid=$LAST_PID
  wait_listening haproxy "$pid" "$port"
  verify haproxy "$port"
  measure haproxy "$port"
  stop_pid "$pid"
}

# ---------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------
ms() { awk -v us="$1" 'BEGIN { printf "%.3f", us / 1000 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }

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
  echo "- llmgw: commit $commit, $(first_line "$LLMGW_BIN" --version)"
  echo "- nginx: $(first_line nginx -v | sed 's/^nginx version: //'); haproxy: $(first_line haproxy -v | awk '{print $3}'); wrk: $(first_line wrk -v | awk '{print $2}')"
  echo "- load: wrk -t1 -c$CONNECTIONS, ${DURATION}s per setup after a ${WARMUP_SECONDS}s warm-up; POST /v1/chat/completions, ${#REQUEST_BODY}-byte body, non-streamed"
  echo "- pinning: proxy on CPU $PROXY_CPU; wrk and fake model server (1 thread) on CPU $LOAD_CPU; all on $HOST"
  echo
  echo "| setup | requests/s | p50 (ms) | p90 (ms) | p99 (ms) |"
  echo "| --- | ---: | ---: | ---: | ---: |"
  for s in "${SETUPS[@]}"; do
    printf '| %s | %.0f | %s | %s | %s |\n' "$s" "${RPS[$s]}" "$(ms "${P50[$s]}")" "$(ms "${P90[$s]}")" "$(ms "${P99[$s]}")"
  done
  echo
  echo "| llmgw vs | requests/s ratio (higher is better) | p99 latency ratio (lower is better) |"
  echo "| --- | ---: | ---: |"
  for s in nginx haproxy; do
    echo "| $s | $(ratio "${RPS[llmgw]}" "${RPS[$s]}") | $(ratio "${P99[llmgw]}" "${P99[$s]}") |"
  done
  # Near the direct backend's rate, the load core (wrk + fake server) is the limit,
  # not the proxy: that proxy's real headroom, and llmgw's gap to it, is larger.
  for s in llmgw nginx haproxy; do
    if awk -v a="${RPS[$s]}" -v d="${RPS[direct]}" 'BEGIN { exit !(a >= 0.9 * d) }'; then
      echo
      echo "Note: $s reached $(ratio "${RPS[$s]}" "${RPS[direct]}")x the direct backend's requests/s: the load side (CPU $LOAD_CPU) likely limited it, not the proxy."
    fi
  done
  echo
  echo "Ratios are llmgw / other: a requests/s ratio of 0.80 means llmgw served 80% of"
  echo "the other proxy's throughput; a p99 ratio of 1.50 means llmgw's p99 was 1.5x theirs."
}

# ---------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------
for cmd in wrk nginx haproxy taskset curl ss pgrep awk; do
  command -v "$cmd" >/dev/null || die "$cmd not found (scripts/install-deps.sh installs it)"
done
[[ -x $LLMGW_BIN && -x $FAKE_BIN ]] ||
  die "binaries missing: cmake --build build -j2 --target llmgw llmgw-fake-model"
taskset -c "$LOAD_CPU" true 2>/dev/null || die "needs at least 2 CPUs (pins to CPU $PROXY_CPU and $LOAD_CPU)"
[[ -n $REQUEST_BODY ]] || die "could not read wrk.body from $LUA_SCRIPT"

LOADAVG=$(cut -d' ' -f1-3 /proc/loadavg)
start_fake_server
bench_direct
bench_llmgw
bench_nginx
bench_haproxy

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
