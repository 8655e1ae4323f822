#!/usr/bin/env bash
# Runs bench/run.sh RUNS times, one after another, and reports every ratio as the median of the
# runs with their range, so that a figure is that of a normal run and shows its spread (one run
# on a shared or virtual machine can be 30% off).
#
# Usage: RUNS=5 bench/repeat.sh [run.sh options]     (default RUNS=3; DURATION as for run.sh)
# Writes each run's report to bench/results/run-N.md and the summary to bench/results/repeat.md
# (also on stdout).
set -euo pipefail
BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
RUNS=${RUNS:-3}
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || { echo "RUNS must be a positive integer, got '$RUNS'" >&2; exit 2; }
mkdir -p "$BENCH_DIR/results"
reports=()
for ((i = 1; i <= RUNS; i++)); do
  echo "repeat.sh: run $i of $RUNS" >&2
  "$BENCH_DIR/run.sh" "$@" >"$BENCH_DIR/results/run-$i.md"
  reports+=("$BENCH_DIR/results/run-$i.md")
done
python3 "$BENCH_DIR/aggregate.py" "${reports[@]}" | tee "$BENCH_DIR/results/repeat.md"
