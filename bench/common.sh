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
