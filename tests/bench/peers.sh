#!/usr/bin/env bash
# invariantd beside the two SQL exporters Debian ships (issue #15), in one run on one
# PostgreSQL with the same data and the same queries. Not a test: prints a table for the README.
#   ./tests/bench/peers.sh [SECONDS]        (SECONDS per wrk measurement, default 5)
# The exporters are benchmark-only: this script installs them (prometheus-postgres-exporter
# with custom queries, prometheus-sql-exporter); deploy/install-deps.sh does not.
# Figures, per tool and N (number of checks/queries, each a distinct count(*) on one table):
#   /metrics p50 (gzip, one client back to back), the gzip body, /health p99 while one client
#   scrapes /metrics back to back (the exporters have no /health: their landing page "/"),
#   statements per check run and distinct pg_stat_statements entries after every check ran
#   once (invariantd), RSS after start and after scraping.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
cd "$repo"
seconds=${1:-5}

. tests/bench/common.sh

need=()
command -v prometheus-postgres-exporter >/dev/null || need+=(prometheus-postgres-exporter)
command -v prometheus-sql-exporter >/dev/null || need+=(prometheus-sql-exporter)
if [ ${#need[@]} -gt 0 ]; then
  echo "peers: installing ${need[*]} (benchmark only)" >&2
  if [ ! -e /usr/sbin/policy-rc.d ]; then  # the packages would start their services
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d; bench_cleanup' EXIT
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

psql_q() { psql "$INVARIANTD_TEST_PG_DSN" -qAt -v ON_ERROR_STOP=1 "$@"; }
psql_q <<'SQL'
CREATE TABLE peer_data (id bigserial PRIMARY KEY, bucket int NOT NULL, server_id int);
INSERT INTO peer_data (bucket, server_id) SELECT g % 5000, CASE WHEN g % 7 = 0 THEN NULL ELSE g END
FROM generate_series(1, 200000) g;
CREATE INDEX ON peer_data (bucket);
VACUUM ANALYZE peer_data;
SQL
query() { echo "SELECT count(*) FROM peer_data WHERE bucket = $1 AND server_id IS NULL"; }
# The DSN pieces the exporters want as a URL.
eval "$(echo "$INVARIANTD_TEST_PG_DSN" | tr ' ' '\n' | sed 's/^/pg_/')"
pg_url="postgresql://$pg_user:$pg_password@$pg_host:$pg_port/$pg_dbname?sslmode=disable"

rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
mb() { awk -v k="$1" 'BEGIN {printf "%.1f", k / 1024}'; }
wait_http() { for _ in $(seq 1 300); do curl -sf "http://127.0.0.1:$1$2" >/dev/null && return 0; sleep 0.1; done; return 1; }
wrk_p() {  # $1 URL, $2 percentile label (50% or 99%), [$3 extra header] → milliseconds
  wrk -t1 -c1 -d"${seconds}s" --latency ${3:+-H "$3"} "$1" > "$work/wrk.txt"
  awk -v p="$2" '$1 == p {v = $2; if (v ~ /us$/) {sub(/us/, "", v); v /= 1000} else if (v ~ /ms$/) {sub(/ms/, "", v)} else if (v ~ /s$/) {sub(/s/, "", v); v *= 1000}; printf "%.2f", v}' "$work/wrk.txt"
}
health_under_scrape() {  # $1 scrape URL, $2 health URL → p99 ms of health while one client scrapes
  wrk -t1 -c1 -d"$((seconds + 2))s" -H 'Accept-Encoding: gzip' "$1" >/dev/null &
  local scraper=$!
  sleep 1
  wrk_p "$2" "99%"
  wait "$scraper" 2>/dev/null || true
}
gzip_bytes() { curl -s -H 'Accept-Encoding: gzip' "$1" | wc -c; }

declare -A result
# --- invariantd ---------------------------------------------------------------------------
for n in 3 1000 5000; do
  {
    echo 'server: { listen: "127.0.0.1:0" }'
    echo "state_dir: state-$n"
    echo 'log: { level: info }'
    echo 'databases:'
    echo '  pg: { driver: postgres, dsn: "${INVARIANTD_TEST_PG_DSN}", max_connections: 2 }'
    echo 'checks:'
    for i in $(seq 1 "$n"); do
      echo "  - { name: q_$i, module: sql, database: pg, interval: 1h, params: { mode: scalar, query: \"$(query "$i")\" } }"
    done
  } > "$work/peers-$n.yaml"
  psql_q -c "SELECT pg_stat_statements_reset()" >/dev/null
  start_daemon "$work/peers-$n.yaml"
  # Every check ran once (interval 1h: exactly once) before anything is measured.
  for _ in $(seq 1 1200); do
    ran=$(curl -s "localhost:$port/metrics" | awk '/^invariantd_check_runs_total/ {s += $2} END {print s + 0}')
    [ "$ran" -ge "$n" ] && break
    sleep 0.25
  done
  # "After start" once every check has run: libpq is opened with the first PostgreSQL
  # connection, so a reading taken as soon as the port answers would leave it out.
  result[inv_rss_start_$n]=$(mb "$(rss_kb "$daemon_pid")")
  result[inv_statements_$n]=$(psql_q -c "SELECT round(sum(s.calls)::numeric / $n, 2) FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = current_database() AND s.query NOT LIKE '%pg_stat_statements%'")
  result[inv_entries_$n]=$(psql_q -c "SELECT count(*) FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = current_database() AND s.query NOT LIKE '%pg_stat_statements%'")
  result[inv_metrics_$n]=$(wrk_p "http://127.0.0.1:$port/metrics" "50%" 'Accept-Encoding: gzip')
  result[inv_gzip_$n]=$(gzip_bytes "http://127.0.0.1:$port/metrics")
  result[inv_health_$n]=$(health_under_scrape "http://127.0.0.1:$port/metrics" "http://127.0.0.1:$port/health")
  result[inv_rss_scraped_$n]=$(mb "$(rss_kb "$daemon_pid")")
  stop_daemon
done

# --- sql_exporter (justwatchcom 0.4.5): queries on their own interval, scrape serves the last values
for n in 3 1000; do
  {
    echo 'jobs:'
    echo '- name: peers'
    echo '  interval: 1h'
    echo "  connections: ['${pg_url/postgresql:/postgres:}']"  # sql_exporter knows the scheme postgres:// only
    echo '  queries:'
    for i in $(seq 1 "$n"); do
      echo "  - name: q_$i"
      echo "    help: peer query $i"
      echo "    values: [count]"
      echo "    query: \"$(query "$i")\""
    done
  } > "$work/sql-exporter-$n.yml"
  sql_port=$((30000 + RANDOM % 20000))
  prometheus-sql-exporter -config.file "$work/sql-exporter-$n.yml" -web.listen-address "127.0.0.1:$sql_port" > "$work/sql-exporter.log" 2>&1 &
  sql_pid=$!
  wait_http "$sql_port" /
  result[sql_rss_start_$n]=$(mb "$(rss_kb "$sql_pid")")
  for _ in $(seq 1 1200); do  # every query ran once
    got=$(curl -s "localhost:$sql_port/metrics" | grep -c '^sql_q_' || true)
    [ "$got" -ge "$n" ] && break
    sleep 0.25
  done
  result[sql_metrics_$n]=$(wrk_p "http://127.0.0.1:$sql_port/metrics" "50%" 'Accept-Encoding: gzip')
  result[sql_gzip_$n]=$(gzip_bytes "http://127.0.0.1:$sql_port/metrics")
  result[sql_health_$n]=$(health_under_scrape "http://127.0.0.1:$sql_port/metrics" "http://127.0.0.1:$sql_port/")
  result[sql_rss_scraped_$n]=$(mb "$(rss_kb "$sql_pid")")
  kill "$sql_pid"; wait "$sql_pid" 2>/dev/null || true
done

# --- postgres_exporter 0.11.1 with custom queries: runs them inside every scrape ---------------
for n in 3 1000; do
  for i in $(seq 1 "$n"); do
    echo "q_$i:"
    echo "  query: \"$(query "$i")\""
    echo "  metrics:"
    echo "    - count: { usage: GAUGE, description: peer query $i }"
  done > "$work/pg-exporter-$n.yml"
  pge_port=$((30000 + RANDOM % 20000))
  DATA_SOURCE_NAME="$pg_url" prometheus-postgres-exporter --web.listen-address="127.0.0.1:$pge_port" \
    --extend.query-path="$work/pg-exporter-$n.yml" --disable-default-metrics --disable-settings-metrics \
    > "$work/pg-exporter.log" 2>&1 &
  pge_pid=$!
  wait_http "$pge_port" /
  result[pge_rss_start_$n]=$(mb "$(rss_kb "$pge_pid")")
  result[pge_metrics_$n]=$(wrk_p "http://127.0.0.1:$pge_port/metrics" "50%" 'Accept-Encoding: gzip')
  result[pge_gzip_$n]=$(gzip_bytes "http://127.0.0.1:$pge_port/metrics")
  result[pge_health_$n]=$(health_under_scrape "http://127.0.0.1:$pge_port/metrics" "http://127.0.0.1:$pge_port/")
  result[pge_rss_scraped_$n]=$(mb "$(rss_kb "$pge_pid")")
  kill "$pge_pid"; wait "$pge_pid" 2>/dev/null || true
done

per_check() { awk -v b="$1" -v n="$2" 'BEGIN {printf "%.0f B/check", b / n}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (b > 0) printf "%.2f×", a / b; else print "-"}'; }
kb() { awk -v b="$1" 'BEGIN {printf "%.1f KB", b / 1000}'; }
cat <<REPORT

## invariantd beside the SQL exporters ($(date -u +%Y-%m-%d), $(nproc) cores, \`./tests/bench/peers.sh $seconds\`)

| figure | invariantd | sql_exporter 0.4.5 | postgres_exporter 0.11.1 | invariantd ÷ best peer |
|---|---|---|---|---|
| \`/metrics\` p50 (gzip), 3 checks | ${result[inv_metrics_3]} ms | ${result[sql_metrics_3]} ms | ${result[pge_metrics_3]} ms | $(ratio "${result[inv_metrics_3]}" "$(printf '%s\n' "${result[sql_metrics_3]}" "${result[pge_metrics_3]}" | sort -g | head -1)") |
| \`/metrics\` p50 (gzip), 1 000 checks | ${result[inv_metrics_1000]} ms | ${result[sql_metrics_1000]} ms | ${result[pge_metrics_1000]} ms | $(ratio "${result[inv_metrics_1000]}" "$(printf '%s\n' "${result[sql_metrics_1000]}" "${result[pge_metrics_1000]}" | sort -g | head -1)") |
| \`/metrics\` p50 (gzip), 5 000 checks | ${result[inv_metrics_5000]} ms | — | — | |
| gzip body, 1 000 checks | $(kb "${result[inv_gzip_1000]}") ($(per_check "${result[inv_gzip_1000]}" 1000)) | $(kb "${result[sql_gzip_1000]}") ($(per_check "${result[sql_gzip_1000]}" 1000)) | $(kb "${result[pge_gzip_1000]}") ($(per_check "${result[pge_gzip_1000]}" 1000)) | $(ratio "${result[inv_gzip_1000]}" "$(printf '%s\n' "${result[sql_gzip_1000]}" "${result[pge_gzip_1000]}" | sort -g | head -1)") |
| \`/health\` p99 while one client scrapes, 1 000 checks | ${result[inv_health_1000]} ms | ${result[sql_health_1000]} ms (\`/\`) | ${result[pge_health_1000]} ms (\`/\`) | $(ratio "${result[inv_health_1000]}" "$(printf '%s\n' "${result[sql_health_1000]}" "${result[pge_health_1000]}" | sort -g | head -1)") |
| \`/health\` p99 while one client scrapes, 5 000 checks | ${result[inv_health_5000]} ms | — | — | |
| statements per check run (pg_stat_statements calls ÷ checks) | ${result[inv_statements_1000]} | 1 | 1 | |
| distinct pg_stat_statements entries after 1 000 / 5 000 checks ran once | ${result[inv_entries_1000]} / ${result[inv_entries_5000]} | — | — | |
| RSS after start, 3 checks | ${result[inv_rss_start_3]} MB | ${result[sql_rss_start_3]} MB | ${result[pge_rss_start_3]} MB | $(ratio "${result[inv_rss_start_3]}" "$(printf '%s\n' "${result[sql_rss_start_3]}" "${result[pge_rss_start_3]}" | sort -g | head -1)") |
| RSS after scraping, 1 000 checks | ${result[inv_rss_scraped_1000]} MB | ${result[sql_rss_scraped_1000]} MB | ${result[pge_rss_scraped_1000]} MB | $(ratio "${result[inv_rss_scraped_1000]}" "$(printf '%s\n' "${result[sql_rss_scraped_1000]}" "${result[pge_rss_scraped_1000]}" | sort -g | head -1)") |
| RSS after scraping, 5 000 checks | ${result[inv_rss_scraped_5000]} MB | — | — | |
REPORT
