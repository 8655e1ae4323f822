#!/usr/bin/env bash
# Two GCC 12 coroutine miscompilations with Asio awaitables:
# - `co_return co_await f(...)`: the awaited frame is resumed after it finished (seen as
#   SIGILL/SIGSEGV). Write the result to a variable first.
# - a braced temporary in a co_await'ed call's arguments, `co_await f(x, Type{})`: it is
#   destroyed twice (free(): invalid pointer once it owns memory). Name it first.
set -euo pipefail
cd "$(dirname "$0")/.."
status=0
if grep -rnE 'co_return[[:space:]]+co_await' src include tools tests; then
  echo "lint: use 'auto r = co_await ...; co_return r;' instead (GCC 12 bug)" >&2
  status=1
fi
if grep -rnE 'co_await[^;]*[(,][[:space:]]*[A-Za-z_][A-Za-z0-9_:<>]*\{' src include tools tests; then
  echo "lint: name the temporary before co_await (GCC 12 destroys a braced one twice)" >&2
  status=1
fi
((status == 0)) && echo "lint: no co_return co_await, no braced temporary in co_await arguments"
exit $status
