#!/usr/bin/env bash
# Latency while the PostgreSQL store is away: p99 before, during and after a 10 s outage.
#
# Starts a PostgreSQL server (initdb and pg_ctl as the `postgres` user, loopback, a free
# port), the fake model server and llmgw with `store` on it; makes a consumer and a key
# through the admin API, then sends steady load with that key (wrk, CONNECTIONS
# connections each waiting DELAY_MS between requests: a fixed, moderate rate) in three
# windows of WINDOW seconds:
#   before   PostgreSQL up
#   during   right after `pg_ctl stop -m fast`; PostgreSQL is started again after it
#   after    PostgreSQL back, llmgw writing what it held
# Every run checks that /metrics said llmgw_store_up 0 during the outage and that the
# ledger ends up with every request served, and counts the requests wrk saw fail or time
# out. Each window also gives llmgw's CPU time per request (all its threads, from
# /proc/PID/task/*/schedstat): the steadier figure on a shared machine, where p99 moves
# with whatever else runs.
# Usage: bench/store_outage.sh
#   RUNS=3  CONNECTIONS=4  DELAY_MS=4  WINDOW=10  FLUSH_INTERVAL=1s
#   OUTAGE=0  the same windows with PostgreSQL up throughout: how far p99 moves by itself
# Prints a Markdown table per run and the median (min–max) of the ratios at the end.
# llmgw (one worker) runs on CPU 0; wrk, the fake server and PostgreSQL on CPU 1.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export BENCH_DIR=$ROOT/bench
LLMGW_BIN=$ROOT/build/src/llmgw
FAKE_BIN=$ROOT/build/tools/fake_model_server/llmgw-fake-model
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
RUNS=${RUNS:-3}
CONNECTIONS=${CONNECTIONS:-4}
export BENCH_DELAY_MS=${DELAY_MS:-4}
WINDOW=${WINDOW:-10}
FLUSH_INTERVAL=${FLUSH_INTERVAL:-1s}
OUTAGE=${OUTAGE:-1}  # 0: PostgreSQL stays up in the during window (the noise floor)
HOST=127.0.0.1
ADMIN_TOKEN=bench-admin-$$

log() { echo "store_outage: $*" >&2; }
die() { echo "store_outage: error: $*" >&2; exit 1; }

for tool in wrk curl taskset setpriv python3; do
  command -v "$tool" >/dev/null || die "needs $tool"
done
[[ -x $LLMGW_BIN && -x $FAKE_BIN ]] || die "build first: cmake --build build -j2 --target llmgw llmgw-fake-model"
[[ -x $PG_BIN/pg_ctl ]] || die "needs PostgreSQL 15 (apt-get install postgresql), or PG_BIN"
id postgres >/dev/null 2>&1 || die "needs the postgres user (apt-get install postgresql)"

WORK=$(mktemp -d -t llmgw-store-outage.XXXXXX)
chmod 0711 "$WORK"  # postgres must reach its data directory inside
PGDIR=$WORK/pg
PIDS=()
as_postgres() { setpriv --reuid=postgres --regid=postgres --init-groups -- "$@"; }
pg() { as_postgres "$PG_BIN/pg_ctl" -D "$PGDIR/data" -l "$PGDIR/server.log" "$@" >/dev/null; }

cleanup() {
  local rc=$? pid
  trap - EXIT INT TERM
  for pid in "${PIDS[@]+"${PIDS[@]}"}"; do
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  [[ -f $PGDIR/data/postmaster.pid ]] && pg stop -m immediate 2>/dev/null || true
  if ((rc == 0)); then rm -rf "$WORK"; else log "failed (exit $rc); logs kept in $WORK"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$2"; }

# PostgreSQL, as the tests run it: trust for the user llmgw, no fsync.
PG_PORT=$(free_port)
mkdir "$PGDIR" && chown postgres:postgres "$PGDIR"
as_postgres "$PG_BIN/initdb" -D "$PGDIR/data" -U llmgw -A trust --no-sync --no-instructions >"$WORK/initdb.log" 2>&1 ||
  { cat "$WORK/initdb.log" >&2; die "initdb failed"; }
PG_OPTIONS="-p $PG_PORT -k $PGDIR -c listen_addresses=$HOST -c fsync=off -c synchronous_commit=off"
pg_up() { taskset -c 1 setpriv --reuid=postgres --regid=postgres --init-groups -- \
  "$PG_BIN/pg_ctl" -D "$PGDIR/data" -l "$PGDIR/server.log" -o "$PG_OPTIONS" -w start >/dev/null; }
pg_up || { cat "$PGDIR/server.log" >&2; die "postgres did not start"; }

taskset -c 1 "$FAKE_BIN" --listen "$HOST:0" --threads 1 >"$WORK/fake.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 100); do
  UPSTREAM_PORT=$(sed -n 's/^listening on .*:\([0-9][0-9]*\)$/\1/p' "$WORK/fake.log")
  [[ -n $UPSTREAM_PORT ]] && break
  sleep 0.1
done
[[ -n $UPSTREAM_PORT ]] || die "the fake model server did not start"

PORT=$(free_port); ADMIN_PORT=$(free_port)
cat >"$WORK/llmgw.yaml" <<YAML
server: { listen: "$HOST:$PORT", workers: 1 }
admin: { listen: "$HOST:$ADMIN_PORT", token: "$ADMIN_TOKEN" }
logging: { level: warn, access_log: off }
tiers: { free: {} }
backends: { fake: { endpoints: [ { url: "http://$HOST:$UPSTREAM_PORT" } ] } }
routes: [ { name: bench, backend: fake, match: { path_prefix: / } } ]
store: { url: "postgres://llmgw@$HOST:$PG_PORT/postgres", flush_interval: $FLUSH_INTERVAL }
YAML
taskset -c 0 "$LLMGW_BIN" --config "$WORK/llmgw.yaml" >"$WORK/llmgw.log" 2>&1 &
LLMGW_PID=$!
PIDS+=("$LLMGW_PID")
until curl -sf "http://$HOST:$ADMIN_PORT/readyz" >/dev/null 2>&1; do
  kill -0 "$LLMGW_PID" 2>/dev/null || { cat "$WORK/llmgw.log" >&2; die "llmgw exited"; }
  sleep 0.05
done

admin() { curl -sS -H "Authorization: Bearer $ADMIN_TOKEN" "$@"; }
admin -X POST "http://$HOST:$ADMIN_PORT/admin/consumers" -d '{"name":"bench","tier":"free"}' >/dev/null
BENCH_API_KEY=$(admin -X POST "http://$HOST:$ADMIN_PORT/admin/consumers/bench/keys" -d '{}' |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["key"])')
export BENCH_API_KEY

# The ledger's requests for the consumer (a range around today: a run may cross midnight).
FROM=$(date -u -d yesterday +%F); TO=$(date -u -d tomorrow +%F)
ledger() {
  admin "http://$HOST:$ADMIN_PORT/admin/usage?consumer=bench&from=$FROM&to=$TO" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["total"]["requests"])'
}
store_up() { curl -sS "http://$HOST:$ADMIN_PORT/metrics" | sed -n 's/^llmgw_store_up \([0-9]*\).*/\1/p'; }
# What llmgw answered (wrk leaves out the answers still in flight when a window ends).
served() { curl -sS "http://$HOST:$ADMIN_PORT/metrics" | awk '/^llmgw_requests_total/ { n += $NF } END { printf "%d", n }'; }

# llmgw's CPU time so far in ns, all its threads (the store's included).
cpu_ns() { cat /proc/"$LLMGW_PID"/task/*/schedstat | awk '{ n += $1 } END { printf "%.0f", n }'; }  # %d is 32 bits in mawk
FAILED=0
window() {  # window NAME: wrk for WINDOW seconds; sets LINE (the BENCH line plus cpu_us=)
  local errors t0 n0
  t0=$(cpu_ns); n0=$(served)
  LINE=$(taskset -c 1 wrk -t1 -c"$CONNECTIONS" -d"${WINDOW}s" --latency -s "$BENCH_DIR/steady.lua" \
    "http://$HOST:$PORT" | grep '^BENCH ') || die "$1: wrk failed"
  LINE+=" cpu_us=$(awk -v t=$(( $(cpu_ns) - t0 )) -v n=$(( $(served) - n0 )) 'BEGIN { printf "%.1f", t / 1000 / n }')"
  errors=$(( $(field non2xx "$LINE") + $(field connect_errors "$LINE") + $(field read_errors "$LINE") +
             $(field write_errors "$LINE") + $(field timeouts "$LINE") ))
  ((errors == 0)) || log "$1: $errors requests failed or timed out in wrk ($LINE)"
  LINE+=" failed=$errors"
  FAILED=$((FAILED + errors))
}

RATIOS=()
CPU_RATIOS=()
for run in $(seq "$RUNS"); do
  log "run $run/$RUNS: warm-up"
  WINDOW=2 window warm-up
  window before; before=$LINE
  if ((OUTAGE)); then
    log "run $run: stopping PostgreSQL for the during window"
    pg stop -m fast -w
    ( sleep $((WINDOW / 2)); store_up >"$WORK/store_up" ) &
    window during; during=$LINE
    wait $!
    [[ $(cat "$WORK/store_up") == 0 ]] || die "llmgw_store_up was not 0 during the outage"
    pg_up || die "postgres did not start again"
  else
    window during; during=$LINE
  fi
  window after; after=$LINE
  # Every request served is in the ledger once PostgreSQL is back (up to 30 s).
  SERVED=$(served)
  for _ in $(seq 300); do
    in_ledger=$(ledger 2>/dev/null || echo 0)
    ((in_ledger == SERVED)) && break
    sleep 0.1
  done
  ((in_ledger == SERVED)) || die "the ledger has $in_ledger requests, $SERVED were served"
  p99b=$(field p99_us "$before"); p99d=$(field p99_us "$during"); p99a=$(field p99_us "$after")
  ratio=$(awk -v d="$p99d" -v b="$p99b" 'BEGIN { printf "%.2f", d / b }')
  RATIOS+=("$ratio")
  echo "### run $run (load average $(cut -d' ' -f1-3 /proc/loadavg))"
  echo
  echo "| window | requests/s | p50 (µs) | p99 (µs) | llmgw CPU per request (µs) | failed |"
  echo "| --- | ---: | ---: | ---: | ---: | ---: |"
  for w in before during after; do
    echo "| $w | $(field rps "${!w}") | $(field p50_us "${!w}") | $(field p99_us "${!w}") |" \
         "$(field cpu_us "${!w}") | $(field failed "${!w}") |"
  done
  echo
  cpu=$(awk -v d="$(field cpu_us "$during")" -v b="$(field cpu_us "$before")" 'BEGIN { printf "%.2f", d / b }')
  CPU_RATIOS+=("$cpu")
  echo "p99 during / before: **$ratio**, after / before: $(awk -v a="$p99a" -v b="$p99b" 'BEGIN { printf "%.2f", a / b }');" \
       "CPU per request during / before: $cpu; the ledger holds all $SERVED requests served."
  echo
done
summary() {  # summary WHAT RATIO...
  local what=$1; shift
  printf '%s\n' "$@" | sort -n | awk -v what="$what" '{ r[NR] = $1 } END {
    printf "%s, over %d runs: median %s (%s–%s)\n", what, NR, r[int((NR + 1) / 2)], r[1], r[NR] }'
}
label=$( ((OUTAGE)) && echo "during the outage / before" || echo "during / before (no outage)")
summary "p99 $label" "${RATIOS[@]}"
summary "llmgw CPU per request $label" "${CPU_RATIOS[@]}"
echo "requests failed or timed out in wrk: $FAILED"
