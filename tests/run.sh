#!/usr/bin/env bash
# The one test command: installs dependencies (idempotent), builds with the asan-ubsan
# preset (AddressSanitizer + UndefinedBehaviorSanitizer, warnings as errors), starts a
# throwaway PostgreSQL 15 cluster (tests/support/pg_cluster.sh) and runs every test
# through CTest. Extra arguments go to ctest (e.g. -R config, -L unit).
# Then, when no ctest arguments are given, every libFuzzer target (tests/fuzz) runs for
# INVARIANTD_FUZZ_SECONDS (default 20; 0 skips) on its seed corpus, so CI catches regressions.
#   INVARIANTD_PRESET=dev ./tests/run.sh     builds and tests without sanitizers
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
preset=${INVARIANTD_PRESET:-asan-ubsan}
jobs=$(nproc 2>/dev/null || echo 2)

./deploy/install-deps.sh
# playwright-core (pinned in tests/browser/package-lock.json) drives Debian's Chromium for the
# page-layout tests; it installs into the git-ignored tests/browser/node_modules.
if [ ! -f tests/browser/node_modules/playwright-core/package.json ] ||
   ! grep -q "\"version\": \"$(sed -n 's/.*"playwright-core": "\(.*\)".*/\1/p' tests/browser/package.json)\"" \
     tests/browser/node_modules/playwright-core/package.json; then
  (cd tests/browser && npm ci --no-audit --no-fund --loglevel=error)
fi
# @grafana/schema and typescript (pinned in tests/grafana/package-lock.json) type-check the
# dashboard; they install into the git-ignored tests/grafana/node_modules.
if [ ! -f tests/grafana/node_modules/@grafana/schema/package.json ] ||
   ! grep -q "\"version\": \"$(sed -n 's/.*"@grafana\/schema": "\(.*\)".*/\1/p' tests/grafana/package.json)\"" \
     tests/grafana/node_modules/@grafana/schema/package.json; then
  (cd tests/grafana && npm ci --no-audit --no-fund --loglevel=error)
fi
cmake --preset "$preset" >/dev/null
cmake --build "build/$preset" -j"$jobs"
# A throwaway PostgreSQL 15 cluster for the database tests, always stopped on exit.
pg_dir=$(mktemp -d "${TMPDIR:-/tmp}/invariantd-pg.XXXXXX")
trap './tests/support/pg_cluster.sh stop "$pg_dir"' EXIT
pg_env=$(./tests/support/pg_cluster.sh start "$pg_dir")  # fails the script if the cluster cannot start
eval "$pg_env"

# Child processes (the daemon under test) inherit these; leaks fail the run.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:strict_string_checks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
ctest --test-dir "build/$preset" --output-on-failure -j"$jobs" "$@"
fuzz_seconds=${INVARIANTD_FUZZ_SECONDS:-20}
if [ $# -eq 0 ] && [ "$fuzz_seconds" != 0 ]; then
  ./tests/fuzz/run.sh "$fuzz_seconds"
fi
