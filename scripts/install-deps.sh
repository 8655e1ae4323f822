#!/usr/bin/env bash
# Installs the Debian packages llmgw needs to build, test and benchmark.
# Safe to run again: only missing packages are installed.
#   scripts/install-deps.sh           # build, test and benchmark
#   scripts/install-deps.sh --build   # only what building llmgw needs (the container's build stage)
set -euo pipefail

packages=(
  build-essential g++ cmake pkg-config ccache git curl ca-certificates openssl
  libboost1.81-dev libssl-dev libhiredis-dev nlohmann-json3-dev
  libyaml-cpp-dev libspdlog-dev prometheus-cpp-dev libsqlite3-dev libpq-dev
)
if [[ ${1:-} != --build ]]; then
  packages+=(
    libgtest-dev libgmock-dev
    clang-14 libclang-rt-14-dev
    redis-server prometheus nginx-light haproxy wrk valgrind linux-perf
    postgresql sqlite3
  )
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# The SDK conformance test (tests/sdk) runs the openai npm package with node. Checked by
# command, not package: a node from elsewhere (NodeSource) brings its own npm.
if [[ ${1:-} != --build ]]; then
  command -v node >/dev/null 2>&1 || missing+=(nodejs)
  command -v npm >/dev/null 2>&1 || missing+=(npm)
fi

if ((${#missing[@]} == 0)); then
  exit 0
fi

echo "installing: ${missing[*]}"
if [[ $(id -u) -ne 0 ]]; then SUDO=sudo; else SUDO=; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# The packaged services must not keep running after install: tests start their own.
for svc in nginx haproxy redis-server prometheus; do
  if command -v systemctl >/dev/null 2>&1; then $SUDO systemctl disable --now "$svc" >/dev/null 2>&1 || true; fi
  $SUDO service "$svc" stop >/dev/null 2>&1 || true
done
