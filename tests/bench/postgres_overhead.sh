#!/usr/bin/env bash
# Benchmarks of the PostgreSQL driver (issue #3). Not a test: prints figures for the README.
#   ./tests/bench/postgres_overhead.sh [ROWS] [RUNS]
# 1. Check overhead: the daemon's own check duration (POST /api/v1/checks/NAME/run?wait=1,
#    field duration_seconds: borrow a connection, BEGIN READ ONLY + SET LOCAL, the query) vs
#    the server's execution time of the same query (EXPLAIN ANALYZE) and psql's \timing.
# 2. /health and /metrics latency with wrk on loopback while 200 slow checks
#    (pg_sleep(2), two connections) keep the database busy.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
cd "$repo"
rows=${1:-2000000}
runs=${2:-30}

. tests/bench/common.sh

echo "building bench_sales with $rows rows..." >&2
psql "$INVARIANTD_TEST_PG_DSN" -q -v ON_ERROR_STOP=1 <<SQL
CREATE TABLE bench_sales (id bigserial PRIMARY KEY, server_id int, bar text, created_at timestamptz NOT NULL);
INSERT INTO bench_sales (server_id, bar, created_at)
SELECT CASE WHEN g % 50 = 0 THEN NULL ELSE g % 97 END, 'bar_' || (g % 12), now() - (g || ' seconds')::interval
FROM generate_series(1, $rows) g;
VACUUM ANALYZE bench_sales;
SQL
query="SELECT count(*) FROM bench_sales WHERE server_id IS NULL AND created_at > now() - interval '30 days'"

# --- 1. check overhead ---------------------------------------------------------------
cat > "$work/overhead.yaml" <<YAML
server: { listen: "127.0.0.1:0" }
state_dir: state
log: { level: info }
databases:
  pg: { driver: postgres, dsn: "\${INVARIANTD_TEST_PG_DSN}", max_connections: 1 }
checks:
  - { name: overhead, module: sql, database: pg, interval: 1h, timeout: 60s, params: { mode: scalar, query: "$query" } }
YAML
start_daemon "$work/overhead.yaml"
for _ in 1 2 3; do curl -s -X POST "localhost:$port/api/v1/checks/overhead/run?wait=1" >/dev/null; done  # warm
for _ in $(seq 1 "$runs"); do
  curl -s -X POST "localhost:$port/api/v1/checks/overhead/run?wait=1" \
    | grep -o '"duration_seconds":[0-9.e-]*' | cut -d: -f2 | awk '{printf "%.3f\n", $1 * 1000}'
done > "$work/daemon_ms"
stop_daemon

for _ in $(seq 1 "$runs"); do
  psql "$INVARIANTD_TEST_PG_DSN" -qAt -c "EXPLAIN (ANALYZE, TIMING OFF) $query" | grep 'Execution Time' | grep -o '[0-9.]*'
done > "$work/server_ms"
{ echo '\timing on'; for _ in $(seq 1 "$runs"); do echo "$query;"; done; } \
  | psql "$INVARIANTD_TEST_PG_DSN" -qAt | grep '^Time:' | grep -o '[0-9.]* ms' | cut -d' ' -f1 > "$work/psql_ms"

daemon_median=$(median < "$work/daemon_ms")
server_median=$(median < "$work/server_ms")
psql_median=$(median < "$work/psql_ms")
ratio=$(awk -v d="$daemon_median" -v s="$server_median" 'BEGIN {printf "%.3f", d / s}')
budget=$(awk -v s="$server_median" 'BEGIN {printf "%.2f", s * 1.1 + 1}')
verdict=$(awk -v d="$daemon_median" -v b="$budget" 'BEGIN {print (d <= b) ? "within" : "OVER"}')

# --- 2. endpoint latency under 200 slow checks -----------------------------------------
{
  echo 'server: { listen: "127.0.0.1:0" }'
  echo 'state_dir: state'
  echo "log: { level: info }"
  echo 'databases:'
  echo '  pg: { driver: postgres, dsn: "${INVARIANTD_TEST_PG_DSN}", max_connections: 2 }'
  echo 'checks:'
  for i in $(seq 1 200); do
    echo "  - { name: slow_$i, module: sql, database: pg, interval: 1s, timeout: 300s, params: { query: \"SELECT pg_sleep(2)\" } }"
  done
} > "$work/slow.yaml"
start_daemon "$work/slow.yaml"
sleep 3  # let the slow checks pile up behind the two connections
active=$(psql "$INVARIANTD_TEST_PG_DSN" -qAt -c "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'invariantd' AND state = 'active'")
wrk_line() {  # $1 = path → "p50 p99 req/s"
  wrk -t2 -c16 -d10s --latency "http://127.0.0.1:$port$1" > "$work/wrk.txt"
  p50=$(awk '$1 == "50%" {print $2}' "$work/wrk.txt")
  p99=$(awk '$1 == "99%" {print $2}' "$work/wrk.txt")
  rps=$(awk '/Requests\/sec/ {print $2}' "$work/wrk.txt")
  echo "$p50 $p99 $rps"
}
read -r health_p50 health_p99 health_rps <<< "$(wrk_line /health)"
read -r metrics_p50 metrics_p99 metrics_rps <<< "$(wrk_line /metrics)"
stop_daemon

cat <<REPORT

## PostgreSQL driver benchmark ($(date -u +%Y-%m-%d), $(nproc) cores, rows=$rows, runs=$runs)

Check overhead, median of $runs runs of: $query

| measurement | median |
|---|---|
| server execution time (EXPLAIN ANALYZE) | ${server_median} ms |
| psql \\timing round trip | ${psql_median} ms |
| invariantd check duration (pool + BEGIN READ ONLY/SET LOCAL + query) | ${daemon_median} ms |
| ratio daemon / server | ${ratio} (budget 1.1 × server + 1 ms = ${budget} ms: ${verdict}) |

Endpoint latency with wrk -t2 -c16 -d10s while 200 checks of pg_sleep(2) compete for 2 connections ($active statements active at start):

| endpoint | p50 | p99 | requests/s |
|---|---|---|---|
| /health | $health_p50 | $health_p99 | $health_rps |
| /metrics (200 checks' series) | $metrics_p50 | $metrics_p99 | $metrics_rps |
REPORT
