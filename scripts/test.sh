#!/usr/bin/env bash
# Installs what is missing, builds llmgw and runs the whole test suite (unit + integration).
#   scripts/test.sh                 # build/ with RelWithDebInfo
#   LLMGW_SANITIZE=ON scripts/test.sh   # build-asan/ with AddressSanitizer + UBSan
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
# The npm packages the SDK tests run (openai; @opentelemetry/otlp-transformer, whose protobuf
# schema checks llmgw's OTLP export), exactly as tests/sdk/package-lock.json pins them.
(cd tests/sdk && npm ci --no-audit --no-fund --loglevel=error)

sanitize=${LLMGW_SANITIZE:-OFF}
build_dir=build
[[ $sanitize == ON ]] && build_dir=build-asan
jobs=${LLMGW_JOBS:-2}

cmake -S . -B "$build_dir" -DLLMGW_SANITIZE="$sanitize" -DLLMGW_BUILD_TESTS=ON >/dev/null
cmake --build "$build_dir" -j"$jobs"
cd "$build_dir"
ctest -j"$jobs" --output-on-failure --timeout 300
