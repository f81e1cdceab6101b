#!/usr/bin/env bash
# Cluster mode at scale (issue #17): MEMBERS members share CHECKS cheap checks (SQLite,
# interval INTERVAL) through one coordination database; compared with one process running
# all of them. Not a test: prints the figures for the README and keeps them in
# tests/bench/results/cluster.txt.
#   ./tests/bench/cluster.sh [MEMBERS] [CHECKS_PER_MEMBER] [INTERVAL] [LEASE]   (default 3 3000 30s 5s)
# Figures:
#   - checks per member (rendezvous spread) and CPU seconds per minute of each member at
#     steady state, against the single process with all checks;
#   - failover after kill -9, median of 5 (each time another member): until the survivors own
#     every check, and until a check of the killed member has run on its new owner;
#   - the coordination database's load at steady state: statements/s (pg_stat_statements),
#     transactions/s and rows written/s (pg_stat_database).
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
cd "$repo"
members=${1:-3}
per_member=${2:-3000}
interval=${3:-30s}
lease=${4:-5s}
total=$((members * per_member))
window=60  # seconds of steady state measured

. tests/bench/common.sh
export INVARIANTD_TEST_PG_DSN2

sqlite3 "$work/app.db" "CREATE TABLE bad (id INTEGER PRIMARY KEY, name TEXT); CREATE INDEX bad_name ON bad (name);"
write_config() {  # $1 = file, $2 = with cluster section (yes/no)
  {
    echo 'server: { listen: "127.0.0.1:0" }'
    echo 'state_dir: state-${M}'
    echo 'log: { level: info }'  # start_member waits for the "listening on" line
    echo 'databases:'
    echo '  app: { driver: sqlite, path: app.db, max_connections: 2 }'
    echo '  coordination: { driver: postgres, dsn: "${INVARIANTD_TEST_PG_DSN2}" }'
    echo 'checks:'
    for i in $(seq 1 "$total"); do
      echo "  - { name: c$i, module: sql, database: app, interval: $interval, params: { query: \"SELECT id FROM bad WHERE name = 'c$i'\" } }"
    done
    if [ "$2" = yes ]; then echo "cluster: { database: coordination, member: \"\${M}\", lease: $lease }"; fi
  } > "$1"
}
write_config "$work/single.yaml" no
write_config "$work/cluster.yaml" yes

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)

declare -A pid port
start_member() {  # $1 = member name, $2 = config
  M=$1 "$binary" run -c "$2" > "$work/$1.log" 2>&1 &
  pid[$1]=$!
  port[$1]=
  for _ in $(seq 1 600); do
    port[$1]=$(grep -o 'listening on [^ ]*' "$work/$1.log" | sed 's/.*://' || true)
    [ -n "${port[$1]}" ] && return 0
    sleep 0.1
  done
  echo "member $1 did not start" >&2; cat "$work/$1.log" >&2; exit 1
}
stop_member() { kill "${pid[$1]}" 2>/dev/null || true; wait "${pid[$1]}" 2>/dev/null || true; }
live_members() {  # as member $1 sees them
  curl -sf "http://127.0.0.1:${port[$1]}/api/v1/cluster" | python3 -c 'import json,sys; print(sum(1 for m in json.load(sys.stdin)["members"] if m["live"]))' 2>/dev/null || echo 0
}
owned() { curl -sf "http://127.0.0.1:${port[$1]}/metrics" | awk '/^invariantd_cluster_owned_checks /{print $2}' || echo 0; }
# Members too are stopped on exit, before common.sh's cleanup.
trap 'for p in "${pid[@]}"; do kill "$p" 2>/dev/null || true; done; bench_cleanup' EXIT

# 1. One process, all checks.
echo "single process with $total checks..." >&2
start_member single "$work/single.yaml"
sleep 45  # warm-up: every check ran once (interval + jitter)
t0=$(cpu_ticks "${pid[single]}"); sleep "$window"; t1=$(cpu_ticks "${pid[single]}")
single_cpu=$(echo "($t1 - $t0) / $hz * 60 / $window" | bc -l)
single_rss=$(awk '/VmRSS/{print $2/1024}' "/proc/${pid[single]}/status")
stop_member single

# 2. The cluster.
M=init "$binary" cluster init -c "$work/cluster.yaml" >/dev/null
names=()
for i in $(seq 1 "$members"); do names+=("m$i"); start_member "m$i" "$work/cluster.yaml"; done
for m in "${names[@]}"; do
  until [ "$(live_members "$m")" = "$members" ]; do sleep 0.2; done
done
echo "cluster of $members members up; warming up..." >&2
sleep 45
psql_stats() {  # pg_stat_statements lives in the first test database; it counts every database's statements
  psql "$INVARIANTD_TEST_PG_DSN" -qAt -c "SELECT (SELECT coalesce(sum(calls), 0) FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = 'invariantd_test2'),
    xact_commit + xact_rollback, tup_inserted + tup_updated + tup_deleted FROM pg_stat_database WHERE datname = 'invariantd_test2'"
}
declare -A c0 c1
for m in "${names[@]}"; do c0[$m]=$(cpu_ticks "${pid[$m]}"); done
s0=$(psql_stats); sleep "$window"; s1=$(psql_stats)
for m in "${names[@]}"; do c1[$m]=$(cpu_ticks "${pid[$m]}"); done
IFS='|' read -r st0 tx0 rw0 <<< "$s0"
IFS='|' read -r st1 tx1 rw1 <<< "$s1"
statements=$(echo "($st1 - $st0) / $window" | bc -l)
transactions=$(echo "($tx1 - $tx0) / $window" | bc -l)
rows=$(echo "($rw1 - $rw0) / $window" | bc -l)
member_lines=
cpu_sum=0
for m in "${names[@]}"; do
  cpu=$(echo "(${c1[$m]} - ${c0[$m]}) / $hz * 60 / $window" | bc -l)
  cpu_sum=$(echo "$cpu_sum + $cpu" | bc -l)
  rss=$(awk '/VmRSS/{print $2/1024}' "/proc/${pid[$m]}/status")
  member_lines+=$(printf '| %s | %s | %.2f | %.1f |\n' "$m" "$(owned "$m")" "$cpu" "$rss")$'\n'
done

# 3. Failover after kill -9, five times, each time another member.
moved_times=()
ran_times=()
for round in 1 2 3 4 5; do
  victim=${names[$(( (round - 1) % members ))]}
  survivors=()
  for m in "${names[@]}"; do [ "$m" != "$victim" ] && survivors+=("$m"); done
  # A check the victim owns: its name from the victim's metrics.
  curl -sf "http://127.0.0.1:${port[$victim]}/metrics" > "$work/victim.metrics"
  probe=$(grep -o -m1 '^invariantd_check_up{check="[^"]*"' "$work/victim.metrics" | sed 's/.*check="//; s/"$//')
  killed=$(date +%s.%N)
  kill -9 "${pid[$victim]}"; wait "${pid[$victim]}" 2>/dev/null || true
  until [ "$(( $(for s in "${survivors[@]}"; do owned "$s"; done | paste -sd+ | bc) ))" = "$total" ]; do sleep 0.05; done
  moved=$(date +%s.%N)
  ran=
  until [ -n "$ran" ]; do
    for s in "${survivors[@]}"; do
      last=$(curl -sf "http://127.0.0.1:${port[$s]}/metrics" | awk -v c="invariantd_check_last_run_timestamp_seconds{check=\"$probe\"}" '$1 == c {print $2}' || true)
      if [ -n "$last" ] && [ "$(echo "$last > $killed" | bc)" = 1 ]; then ran=$(date +%s.%N); break; fi
    done
    [ -z "$ran" ] && sleep 0.05
  done
  moved_times+=("$(echo "$moved - $killed" | bc -l)")
  ran_times+=("$(echo "$ran - $killed" | bc -l)")
  echo "round $round: $victim killed; checks moved after ${moved_times[-1]} s, $probe ran after ${ran_times[-1]} s" >&2
  start_member "$victim" "$work/cluster.yaml"
  for m in "${names[@]}"; do until [ "$(live_members "$m")" = "$members" ]; do sleep 0.2; done; done
done
for m in "${names[@]}"; do stop_member "$m"; done

moved_median=$(printf '%s\n' "${moved_times[@]}" | median)
ran_median=$(printf '%s\n' "${ran_times[@]}" | median)
{
  echo "cluster.sh $members $per_member $interval $lease  ($(date -u +%Y-%m-%d), $(nproc) cores, SQLite checks, coordination on PostgreSQL 15 on the same machine)"
  echo
  echo "| process | checks owned | CPU s per minute | RSS MB |"
  echo "|---|---|---|---|"
  printf '| single process | %s | %.2f | %.1f |\n' "$total" "$single_cpu" "$single_rss"
  printf '%s' "$member_lines"
  printf '| all members together | %s | %.2f | |\n' "$total" "$cpu_sum"
  echo
  printf 'failover after kill -9 (lease %s, median of 5): every check owned again after %.2f s, a moved check ran on its new owner after %.2f s\n' "$lease" "$moved_median" "$ran_median"
  printf 'leases lost over the whole run (log lines "lost its lease"): %s\n' "$(cat "$work"/m*.log | grep -c 'lost its lease' || true)"
  printf 'coordination database at steady state: %.1f statements/s, %.1f transactions/s, %.1f rows written/s (%s checks every %s: %.1f runs/s)\n' \
    "$statements" "$transactions" "$rows" "$total" "$interval" "$(echo "$total / ${interval%s}" | bc -l)"
} | tee "$repo/tests/bench/results/cluster.txt"
