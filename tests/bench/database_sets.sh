#!/usr/bin/env bash
# One process over a fleet of tenant databases (issue #15): MEMBERS databases on one
# PostgreSQL server in one database set, CHECKS checks each, every check every minute.
# Not a test: prints the figures for the README.
#   ./tests/bench/database_sets.sh [MEMBERS] [CHECKS] [MINUTES]   (default 200 5 2)
# Figures: time until every instance ran once, RSS, CPU seconds per minute of the daemon at
# steady state, and the server connections invariantd held (sampled every second; the set's
# max_connections bounds the members together, discovery has one more of its own).
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
cd "$repo"
members=${1:-200}
checks_per=${2:-5}
minutes=${3:-2}

. tests/bench/common.sh

psql_q() { psql "$INVARIANTD_TEST_PG_DSN" -qAt -v ON_ERROR_STOP=1 "$@"; }
echo "creating $members tenant databases..." >&2
psql_q -c "CREATE DATABASE bench_tenant_template" >/dev/null
psql "${INVARIANTD_TEST_PG_DSN/dbname=invariantd_test/dbname=bench_tenant_template}" -qAt -v ON_ERROR_STOP=1 >/dev/null <<'SQL'
CREATE TABLE sales (id serial PRIMARY KEY, server_id int, created_at timestamptz NOT NULL DEFAULT now());
INSERT INTO sales (server_id) SELECT CASE WHEN g % 40 = 0 THEN NULL ELSE g END FROM generate_series(1, 2000) g;
CREATE TABLE shifts (id serial PRIMARY KEY, event_id int NOT NULL, role text NOT NULL);
INSERT INTO shifts (event_id, role) SELECT g % 50, 'role_' || (g % 4) FROM generate_series(1, 1000) g;
SQL
for i in $(seq 1 "$members"); do
  echo "CREATE DATABASE bench_tenant_$i TEMPLATE bench_tenant_template;"
done | psql_q >/dev/null

queries=(
  "SELECT id FROM sales WHERE server_id IS NULL ORDER BY id"
  "SELECT count(*) FROM sales WHERE created_at > now() - interval '1 day'"
  "SELECT event_id, count(*) FROM shifts GROUP BY event_id HAVING count(*) > 25 ORDER BY event_id"
  "SELECT count(*) FROM shifts WHERE role = 'role_1'"
  "SELECT max(id) - count(*) FROM sales"
)
{
  echo 'server: { listen: "127.0.0.1:0" }'
  echo 'state_dir: state'
  echo 'log: { level: info }'
  echo 'databases:'
  echo '  tenants:'
  echo '    driver: postgres'
  echo '    dsn: "${INVARIANTD_TEST_PG_DSN}"'
  echo "    discover: \"SELECT datname FROM pg_database WHERE datname ~ '^bench_tenant_[0-9]+\$' ORDER BY 1\""
  echo '    discover_interval: 1m'
  echo '    max_connections: 4'
  echo 'checks:'
  for c in $(seq 1 "$checks_per"); do
    q=${queries[$(( (c - 1) % ${#queries[@]} ))]}
    mode=rows
    case "$q" in "SELECT count"*|"SELECT max"*) mode=scalar ;; esac
    echo "  - { name: tenant_check_$c, module: sql, database: tenants, interval: 60s, params: { mode: $mode, query: \"$q\" } }"
  done
} > "$work/sets.yaml"

instances=$((members * checks_per))
started=$(date +%s.%N)
start_daemon "$work/sets.yaml"
for _ in $(seq 1 2400); do
  ran=$(curl -s "localhost:$port/metrics" | awk '/^invariantd_check_runs_total/ {s += $2} END {print s + 0}')
  [ "$ran" -ge "$instances" ] && break
  sleep 0.25
done
all_ran=$(awk -v s="$started" -v e="$(date +%s.%N)" 'BEGIN {printf "%.1f", e - s}')
cpu_ticks() { awk '{print $14 + $15}' "/proc/$daemon_pid/stat"; }
hz=$(getconf CLK_TCK)
ticks_before=$(cpu_ticks)
max_connections=0
for _ in $(seq 1 $((minutes * 60))); do
  held=$(psql_q -c "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'invariantd'")
  [ "$held" -gt "$max_connections" ] && max_connections=$held
  sleep 1
done
ticks_after=$(cpu_ticks)
cpu_per_minute=$(awk -v a="$ticks_before" -v b="$ticks_after" -v hz="$hz" -v m="$minutes" 'BEGIN {printf "%.2f", (b - a) / hz / m}')
rss=$(awk '/^VmRSS/ {printf "%.1f", $2 / 1024}' "/proc/$daemon_pid/status")
runs=$(curl -s "localhost:$port/metrics" | awk '/^invariantd_check_runs_total/ {s += $2} END {print s + 0}')
errors=$(curl -s "localhost:$port/metrics" | awk '/^invariantd_check_runs_total.*outcome="(error|timeout)"/ {s += $2} END {print s + 0}')
stop_daemon

cat <<REPORT

## Database sets at scale ($(date -u +%Y-%m-%d), $(nproc) cores, \`./tests/bench/database_sets.sh $members $checks_per $minutes\`)

$members member databases × $checks_per checks = $instances check instances, every one each minute, set max_connections 4.

| figure | value |
|---|---|
| every instance ran once after start | ${all_ran} s |
| CPU of the daemon at steady state | ${cpu_per_minute} s per minute |
| RSS | ${rss} MB |
| server connections held by invariantd (max of 1 s samples) | ${max_connections} (set bound 4 + 1 for discovery) |
| runs over the whole benchmark / of them error or timeout | ${runs} / ${errors} |
REPORT
