#!/usr/bin/env bash
# The embedded default: installs dependencies, builds invariantd, builds the SQLite demo
# databases from the runbook scenarios and runs the daemon on config/demo.yaml.
#   curl -s localhost:9898/metrics | grep invariantd_check_value
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
./deploy/install-deps.sh
cmake --preset release >/dev/null
cmake --build build/release -j"$(nproc)" --target invariantd
./deploy/make-demo-databases.sh "$repo/demo"
exec ./build/release/invariantd run -c config/demo.yaml "$@"
