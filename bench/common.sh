# What the bench scripts that start their own processes share: a work directory removed on
# exit, the processes started (PIDS) stopped on exit, free loopback ports. Sourced, after
# BENCH_NAME is set (the name errors are reported under).
WORK=$(mktemp -d)
PIDS=()
bench_cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap bench_cleanup EXIT

require_tools() { # require_tools TOOL...: exits naming the first one missing
  for tool in "$@"; do
    command -v "$tool" >/dev/null || { echo "$BENCH_NAME: $tool is not installed" >&2; exit 1; }
  done
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

wait_port() { # wait_port PORT: until something listens there (60 s: valgrind starts slowly)
  for _ in $(seq 600); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done
  echo "$BENCH_NAME: nothing listens on $1" >&2
  exit 1
}

# The plain setup's processes, as bench/run.sh pins them: the fake model server on CPU 1, the
# proxies on CPU 0. Each needs ROOT and adds its process to PIDS.

start_fake_model() { # start_fake_model ID: one thread; sets UPSTREAM_PORT
  taskset -c 1 "$ROOT/build/tools/fake_model_server/llmgw-fake-model" --listen 127.0.0.1:0 \
    --threads 1 --id "$1" >"$WORK/fake.log" 2>&1 &
  PIDS+=($!)
  for _ in $(seq 100); do grep -q '^listening on' "$WORK/fake.log" && break; sleep 0.05; done
  UPSTREAM_PORT=$(sed -n 's/^listening on .*:\([0-9][0-9]*\)$/\1/p' "$WORK/fake.log")
  [[ -n $UPSTREAM_PORT ]] || { echo "$BENCH_NAME: the fake model server did not start" >&2; exit 1; }
}

start_plain_nginx() { # one worker, upstream keep-alive, buffering on; sets NGINX_PORT, NGINX_WORKER
  local master m
  chmod 755 "$WORK" # nginx's workers (user root below) enter it
  NGINX_PORT=$(free_port)
  sed -e "s|@WORKERS@|1|; s|@NOFILE@|4096|; s|@DIR@|$WORK|g; s|@WORKER_CONNECTIONS@|4096|" \
    -e "s|@UPSTREAM_PORT@|$UPSTREAM_PORT|; s|@LISTEN_PORT@|$NGINX_PORT|; s|@BUFFERING@|on|" \
    -e "s|@READ_TIMEOUT@|60s|" "$ROOT/bench/nginx.conf.template" >"$WORK/nginx.conf"
  for m in fastcgi uwsgi scgi; do # a temp path of a module compiled out is an error
    nginx -V 2>&1 | grep -q -- "--without-http_${m}_module" && sed -i "/^ *${m}_temp_path /d" "$WORK/nginx.conf"
  done
  local args=(-p "$WORK" -c "$WORK/nginx.conf" -e "$WORK/error.log")
  [[ $(id -u) == 0 ]] && args+=(-g "user root;")
  taskset -c 0 nginx "${args[@]}" &
  master=$!
  PIDS+=($master)
  wait_port "$NGINX_PORT"
  NGINX_WORKER=$(pgrep -P "$master" | head -1)
}

start_plain_llmgw() { # start_plain_llmgw NAME BIN: bench/llmgw.yaml; sets LLMGW_PORT, LLMGW_PID
  local name=$1 bin=$2 admin
  LLMGW_PORT=$(free_port)
  admin=$(free_port)
  sed -e "/^server:/,/^[^ #]/ s/^\( *listen:\).*/\1 \"127.0.0.1:$LLMGW_PORT\"/" \
    -e "/^admin:/,/^[^ #]/ s/^\( *listen:\).*/\1 \"127.0.0.1:$admin\"/" \
    "$ROOT/bench/llmgw.yaml" >"$WORK/$name.yaml"
  UPSTREAM_PORT=$UPSTREAM_PORT taskset -c 0 "$bin" --config "$WORK/$name.yaml" >"$WORK/$name.log" 2>&1 &
  LLMGW_PID=$!
  PIDS+=($LLMGW_PID)
  wait_port "$LLMGW_PORT"
}
