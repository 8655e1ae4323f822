#!/usr/bin/env bash
# Engine-aware routing on a simulated GPU fleet: 4 fake model servers simulating engines
# (llmgw-fake-model --gpu-*: running slots, a FIFO queue, prefill of the prompt tokens the
# prefix cache lacks, decode at a fixed rate, vLLM /metrics lagging 1 s), one of them slow
# (2 slots instead of 8). The same workload (multi-turn conversations sharing system
# prompts, plus one-off requests of mixed length, streamed) goes through llmgw with
# round_robin, least_request, engine_aware and engine_aware + affinity by prefix.
# Reports TTFT p50/p99, end-to-end p99, tokens/s and the engines' prefix-cache hit rate.
#
# Usage: bench/routing.sh [--quick] [--runs N]
#   --quick      10 s per setup, one run (a smoke check, not a result)
#   --runs N     runs of every setup (default 3), to show the spread
#   DURATION=40  seconds over which sessions start, per setup and run (all are awaited)
#   CONVERSATIONS_PER_S=1.1, ONEOFFS_PER_S=2.0   the offered load (open loop, Poisson)
# Prints a Markdown report on stdout. Everything listens on 127.0.0.1 only; every process
# it starts is stopped on exit.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
exec python3 "$ROOT/bench/routing.py" --root "$ROOT" "$@"
