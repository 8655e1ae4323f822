#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/) with clang in build-fuzz/ and runs each one for
# FUZZ_SECONDS (default 60), starting from its committed corpus in fuzz/corpus/<target>/, so
# every input kept there (seeds and the inputs of crashes fixed before) is replayed first.
# Fails when any target crashes, leaks or trips a sanitizer; the input is left in
# build-fuzz/crashes/. New interesting inputs go to build-fuzz/corpus/, not the repository.
#   scripts/fuzz.sh                      # all targets, 60 s each
#   FUZZ_SECONDS=600 scripts/fuzz.sh jwt # one target, longer
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh

seconds=${FUZZ_SECONDS:-60}
jobs=${LLMGW_JOBS:-2}
targets=("$@")
((${#targets[@]} > 0)) || targets=(request_head simple_request config_loader jwt sse_usage answer_parser)

CXX=${FUZZ_CXX:-clang++-14} cmake -S . -B build-fuzz -DLLMGW_FUZZ=ON -DLLMGW_BUILD_TESTS=OFF \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build-fuzz -j"$jobs" --target llmgw_fuzz_targets

failed=()
for target in "${targets[@]}"; do
  work=build-fuzz/corpus/$target
  mkdir -p "$work" build-fuzz/crashes
  dict=()
  [[ -f fuzz/$target.dict ]] && dict=(-dict="fuzz/$target.dict")
  echo "fuzzing $target for ${seconds}s"
  if ! build-fuzz/fuzz/fuzz_"$target" "$work" "fuzz/corpus/$target" "${dict[@]}" \
      -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
      -print_final_stats=1 -artifact_prefix="build-fuzz/crashes/$target-" \
      >"build-fuzz/$target.log" 2>&1; then
    failed+=("$target")
    tail -n 60 "build-fuzz/$target.log"
  fi
  grep -E '^(#[0-9]+.*DONE|stat::number_of_executed_units|stat::peak_rss_mb)' "build-fuzz/$target.log" || true
done

if ((${#failed[@]} > 0)); then
  echo "fuzzing found problems in: ${failed[*]} (inputs in build-fuzz/crashes/)" >&2
  exit 1
fi
echo "fuzzing: no crashes in ${targets[*]}"
