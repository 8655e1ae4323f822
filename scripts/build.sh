#!/usr/bin/env bash
# Configures and builds llmgw and the fake model server, as the README, the quickstart and the
# container image do. Extra arguments go to cmake's configure step.
#   scripts/build.sh                                   # into build/
#   LLMGW_BUILD_DIR=out scripts/build.sh -DLLMGW_BUILD_TESTS=OFF
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${LLMGW_BUILD_DIR:-build}
cmake -S . -B "$build_dir" "$@" >/dev/null
cmake --build "$build_dir" -j"${LLMGW_JOBS:-2}" --target llmgw llmgw-fake-model
