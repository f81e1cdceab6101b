#!/usr/bin/env bash
# Builds the libFuzzer targets (the `fuzz` preset: clang 14, ASan+UBSan) and runs each for
# SECONDS (default 60) on a copy of its checked-in seed corpus (tests/fuzz/corpus/<target>),
# so a run never rewrites the repository. Exits non-zero on the first finding; the crashing
# input is left in build/fuzz/findings/<target>/ — fix the defect, then add the input to the
# corpus as a regression case.
#   ./tests/fuzz/run.sh 20            every target for 20 s (what ./tests/run.sh does)
#   ./tests/fuzz/run.sh 600 http      one target for ten minutes
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
cd "$repo"
seconds=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(config summary numbers values http)

cmake --preset fuzz >/dev/null
cmake --build build/fuzz -j"$(nproc 2>/dev/null || echo 2)" --target "${targets[@]/%/_fuzzer}"

export ASAN_OPTIONS=${FUZZ_ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
for target in "${targets[@]}"; do
  work="build/fuzz/corpus/$target"
  findings="build/fuzz/findings/$target"
  rm -rf "$work" && mkdir -p "$work" "$findings"
  cp tests/fuzz/corpus/"$target"/* "$work"/
  echo "fuzz: $target for ${seconds}s"
  # The checked-in regression inputs run first, each once, then the fuzzer explores.
  if ! "build/fuzz/tests/fuzz/${target}_fuzzer" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
        -max_len=16384 -print_final_stats=1 -artifact_prefix="$findings/" "$work" \
        >"build/fuzz/$target.log" 2>&1; then
    tail -n 60 "build/fuzz/$target.log"
    echo "fuzz: $target FAILED — input kept in $findings/" >&2
    exit 1
  fi
  grep -E "^stat::number_of_executed_units|^stat::peak_rss_mb" "build/fuzz/$target.log" | sed "s/^/  /"
  grep -E "cov: [0-9]+" "build/fuzz/$target.log" | tail -n 1 | sed "s/^/  /"
done
echo "fuzz: every target ran ${seconds}s without a finding"
