# Sourced by the benchmark scripts: builds the release binary, starts a throwaway
# PostgreSQL 15 cluster (exporting INVARIANTD_TEST_PG_DSN), and offers start_daemon,
# stop_daemon and median. Everything is torn down on exit.
# Expects: set -euo pipefail and $repo (the repository root, current directory).
./deploy/install-deps.sh
cmake --preset release >/dev/null
cmake --build build/release -j"$(nproc)" --target invariantd >/dev/null
binary=$repo/build/release/invariantd

work=$(mktemp -d "${TMPDIR:-/tmp}/invariantd-bench.XXXXXX")
pg_dir=$(mktemp -d "${TMPDIR:-/tmp}/invariantd-pg.XXXXXX")  # not under $work: the postgres user must reach it
daemon_pid=
bench_cleanup() {
  [ -n "$daemon_pid" ] && kill "$daemon_pid" 2>/dev/null && wait "$daemon_pid" 2>/dev/null || true
  ./tests/support/pg_cluster.sh stop "$pg_dir"
  rm -rf "$work"
}
trap bench_cleanup EXIT
pg_env=$(./tests/support/pg_cluster.sh start "$pg_dir")  # fails the script if the cluster cannot start
eval "$pg_env"
export INVARIANTD_TEST_PG_DSN

start_daemon() {  # $1 = config file (log level info or lower); sets daemon_pid and port
  "$binary" run -c "$1" > "$work/daemon.log" 2>&1 &
  daemon_pid=$!
  port=
  for _ in $(seq 1 600); do
    port=$(grep -o 'listening on [^ ]*' "$work/daemon.log" | sed 's/.*://' || true)
    [ -n "$port" ] && return 0
    sleep 0.1
  done
  echo "daemon did not start" >&2
  cat "$work/daemon.log" >&2
  exit 1
}
stop_daemon() { kill "$daemon_pid"; wait "$daemon_pid" 2>/dev/null || true; daemon_pid=; }
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
