#!/usr/bin/env bash
# GCC 12 miscompiles `co_return co_await f(...)` with Asio awaitables: the awaited frame
# is resumed after it finished (seen as SIGILL/SIGSEGV). Write the result to a variable first.
set -euo pipefail
cd "$(dirname "$0")/.."
if grep -rnE 'co_return[[:space:]]+co_await' src include tools tests; then
  echo "lint: use 'auto r = co_await ...; co_return r;' instead (GCC 12 bug)" >&2
  exit 1
fi
echo "lint: no co_return co_await"
