#!/usr/bin/env bash
# Builds llmgw, starts the fake model server and llmgw with config/quickstart.yaml,
# and sends one plain and one streamed chat completion through the gateway.
# Leaves both running when called with --keep-running; otherwise stops them at the end.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
scripts/build.sh

logs=$(mktemp -d /tmp/llmgw-quickstart.XXXXXX)
build/tools/fake_model_server/llmgw-fake-model --listen 127.0.0.1:8000 --chunks 6 --chunk-interval-ms 150 \
  >"$logs/fake-model.log" 2>&1 &
fake_pid=$!
build/src/llmgw --config config/quickstart.yaml >"$logs/access.log" 2>"$logs/llmgw.log" &
llmgw_pid=$!
stop() { kill "$llmgw_pid" "$fake_pid" 2>/dev/null || true; wait 2>/dev/null || true; }
if [[ ${1:-} != --keep-running ]]; then trap stop EXIT; fi

for _ in $(seq 100); do
  curl -fs http://127.0.0.1:9090/readyz >/dev/null 2>&1 && break
  kill -0 "$llmgw_pid" 2>/dev/null || { cat "$logs/llmgw.log"; exit 1; }
  sleep 0.1
done

echo "== a chat completion through llmgw (http://127.0.0.1:8080):"
curl -s http://127.0.0.1:8080/v1/chat/completions -H 'content-type: application/json' \
  -d '{"model":"fake-model","messages":[{"role":"user","content":"Hello!"}]}'
echo
echo
echo "== the same, streamed (server-sent events arrive one by one):"
curl -sN http://127.0.0.1:8080/v1/chat/completions -H 'content-type: application/json' \
  -d '{"model":"fake-model","stream":true,"messages":[{"role":"user","content":"Hello!"}]}'
echo
echo "== the access log:"
sleep 0.2
cat "$logs/access.log"
echo
echo "== metrics: curl -s http://127.0.0.1:9090/metrics | grep llmgw_requests_total"
curl -s http://127.0.0.1:9090/metrics | grep '^llmgw_requests_total'
if [[ ${1:-} == --keep-running ]]; then
  echo "llmgw (pid $llmgw_pid) and the fake model server (pid $fake_pid) keep running; logs in $logs"
fi
