#!/usr/bin/env bash
# Fairness under saturation: one backend of two simulated GPU engines (llmgw-fake-model
# --gpu-*: 4 running slots each, a FIFO queue), a heavy tenant keeping 10x the capacity in
# flight and a light tenant sending 10% of it (Poisson). Reports the light tenant's p50/p99
# latency alone and under the flood, both tenants' shares of served requests and tokens, and
# Jain's fairness index, with llmgw's fair queue and with the engines' own FIFO queue.
#
# Usage: bench/fairness.sh [--quick] [--runs N]
#   --quick        15 s per case, one run (a smoke check, not a result)
#   --runs N       runs of every case (default 3), to show the spread
#   DURATION=40    seconds of light-tenant arrivals per case and run
#   LIGHT_PER_S=0.9  the light tenant's rate (10% of the capacity)
# Prints a Markdown report on stdout. Everything listens on 127.0.0.1 only; every process
# it starts is stopped on exit.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
exec python3 "$ROOT/bench/fairness.py" --root "$ROOT" "$@"
