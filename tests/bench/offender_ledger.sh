# The offender ledger at scale (issue #12), sourced by modules_at_scale.sh after its module
# part (same PostgreSQL cluster, same helpers). For eight checks with 25 000 offenders each:
#   - a run without the ledger (the check's statements, keys included) and with it (plus the
#     ledger's update on the event loop), max_tracked 1000 and 10 000, and the ledger's commit
#     on the state writer's thread (the ledger figures from the daemon's debug log);
#   - the same checks on the daemon built from the commit just before offenders existed
#     (OFFENDERS_BASE, built once into build/bench-before-offenders/): what keys cost;
#   - RSS over 100 runs of a check whose 25 000 keys shift on every run (new and cleared
#     offenders each time).
# Expects: $repo, $work, $runs, $binary, psql_q, start_daemon, stop_daemon, median.
offenders_base=${OFFENDERS_BASE:-40be05e}
offenders=25000

echo "building the ledger world: $offenders offenders per check..." >&2
psql_q <<SQL
CREATE TABLE lg_events (id int PRIMARY KEY, title text, status text);
INSERT INTO lg_events SELECT g, 'Event ' || g, 'published' FROM generate_series(1, 20000) g;
CREATE TABLE lg_requirements (id int PRIMARY KEY, event_id int NOT NULL, skill_name text, needed_workers int);
INSERT INTO lg_requirements SELECT g, 1 + g % 20000, 'Bartender', 3 FROM generate_series(1, 4 * $offenders) g;
CREATE TABLE lg_shifts (id bigserial PRIMARY KEY, event_id int, event_skill_requirement_id int);
-- every 4th requirement has one shift of three
INSERT INTO lg_shifts (event_id, event_skill_requirement_id)
SELECT r.event_id, r.id FROM lg_requirements r, generate_series(1, 3) k WHERE NOT (r.id % 4 = 0 AND k > 1);
CREATE INDEX ON lg_shifts (event_skill_requirement_id);
CREATE TABLE lg_sessions (id int PRIMARY KEY);
INSERT INTO lg_sessions SELECT g FROM generate_series(1, 10000) g;
CREATE TABLE lg_racks (id int PRIMARY KEY, audit_session_id int);
INSERT INTO lg_racks SELECT g, CASE WHEN g % 4 = 0 THEN -g ELSE 1 + g % 10000 END FROM generate_series(1, 4 * $offenders) g;
CREATE TABLE lg_assignments (id bigserial PRIMARY KEY, crew_call_id int, technician_id int);
INSERT INTO lg_assignments (crew_call_id, technician_id) SELECT g, g % 10 FROM generate_series(1, 4 * $offenders) g;
INSERT INTO lg_assignments (crew_call_id, technician_id) SELECT g, g % 10 FROM generate_series(1, $offenders) g;
CREATE INDEX ON lg_assignments (crew_call_id, technician_id);
CREATE TABLE lg_scans (id int PRIMARY KEY, created_at timestamptz, synced_at timestamptz);
INSERT INTO lg_scans SELECT g, now() - interval '1 hour' - g * interval '1 second', CASE WHEN g % 4 = 0 THEN NULL ELSE now() END
FROM generate_series(1, 4 * $offenders) g;
CREATE INDEX ON lg_scans (created_at) WHERE synced_at IS NULL;
CREATE TABLE lg_sales (id int PRIMARY KEY, server_id int, created_at timestamptz);
INSERT INTO lg_sales SELECT g, CASE WHEN g % 4 = 0 THEN NULL ELSE g % 40 END, now() - (g % 80000) * interval '1 second'
FROM generate_series(1, 4 * $offenders) g;
CREATE INDEX ON lg_sales (created_at);
CREATE TABLE lg_sync (id int PRIMARY KEY, created_at timestamptz, department text, failed_count int, duration_ms int);
INSERT INTO lg_sync SELECT g, now() - (g % 3000) * interval '1 second', (ARRAY['sound','lights','video'])[1 + g % 3],
  CASE WHEN g % 4 = 0 THEN 1 ELSE 0 END, g % 20000 FROM generate_series(1, 4 * $offenders) g;
CREATE INDEX ON lg_sync (created_at);
-- event numbers 100000..; every even number has no Supervisor twin
CREATE TABLE lg_pairing (project_ref_num int PRIMARY KEY, project_name text);
INSERT INTO lg_pairing SELECT g, (100000 + g / 2)::text || CASE WHEN g % 2 = 0 THEN '-CORE-' ELSE '-Supervisor-' END || 'Product'
FROM generate_series(0, 4 * $offenders - 1) g WHERE g % 2 = 0 OR (g / 2) % 2 = 1;
CREATE TABLE lg_schedules (id serial PRIMARY KEY, event_ref_num int, schedule_datetime timestamp);
CREATE INDEX ON lg_schedules (event_ref_num);
VACUUM ANALYZE lg_events, lg_requirements, lg_shifts, lg_sessions, lg_racks, lg_assignments, lg_scans, lg_sales, lg_sync,
  lg_pairing, lg_schedules;
SQL

ledger_checks="shift_coverage orphans duplicates backlog coverage sync_failure_rate event_pairing sql_rows"
ledger_config() {  # $1 = extra defaults ("" for the binary without offenders) → config file path
  local file="$work/ledger-${2}.yaml"
  cat > "$file" <<YAML
server: { listen: "127.0.0.1:0" }
state_dir: state-$2
log: { level: debug }
databases:
  pg: { driver: postgres, dsn: "\${INVARIANTD_TEST_PG_DSN}", max_connections: 1 }
defaults: { interval: 24h, timeout: 300s, max_samples: 10$1 }
checks:
  - name: shift_coverage
    module: shift_coverage
    database: pg
    params: { events: { table: lg_events }, requirements: { table: lg_requirements }, shifts: { table: lg_shifts } }
  - name: orphans
    module: orphans
    database: pg
    params: { relations: [ { child: lg_racks, column: audit_session_id, parent: lg_sessions } ] }
  - { name: duplicates, module: duplicates, database: pg, params: { table: lg_assignments } }
  - { name: backlog, module: backlog, database: pg, params: { table: lg_scans } }
  - { name: coverage, module: coverage, database: pg, params: { table: lg_sales } }
  - { name: sync_failure_rate, module: sync_failure_rate, database: pg, params: { table: lg_sync, min_total: 1 } }
  - name: event_pairing
    module: event_pairing
    database: pg
    params: { events: { table: lg_pairing }, schedules: { table: lg_schedules } }
  - name: sql_rows
    module: sql
    database: pg
    params: { query: "SELECT id FROM lg_sales WHERE server_id IS NULL ORDER BY id" }
  - name: churn
    module: sql
    database: pg
    params: { query: "SELECT g + (extract(epoch FROM clock_timestamp()) * 100)::bigint % 5000 AS id FROM generate_series(1, $offenders) g ORDER BY 1" }
YAML
  echo "$file"
}

# The daemon without offenders, built once from the commit before they existed.
before_dir=$repo/build/bench-before-offenders
if [ ! -x "$before_dir/src/build/release/invariantd" ]; then
  echo "building the daemon without offenders ($offenders_base)..." >&2
  rm -rf "$before_dir"
  mkdir -p "$before_dir/src"
  git -C "$repo" archive "$offenders_base" | tar -x -C "$before_dir/src"
  (cd "$before_dir/src" && cmake --preset release >/dev/null && cmake --build build/release -j"$(nproc)" --target invariantd >/dev/null)
fi

run_durations() {  # $1 check → median duration in ms of RUNS runs
  for _ in $(seq 1 "$runs"); do
    curl -s -X POST "localhost:$port/api/v1/checks/$1/run?wait=1" \
      | { grep -o '"duration_seconds":[0-9.e-]*' || true; } | cut -d: -f2 | awk '{printf "%.1f\n", $1 * 1000}'
  done | median
}
logged_ms() {  # $1 check, $2 "on the loop" | "stored" → median ms over the debug log lines
  case $2 in
    loop) grep -o "offender ledger of $1: .* ms on the loop" "$work/daemon.log" | sed 's/.*; \([0-9.]*\) ms on the loop/\1/' ;;
    stored) grep -o "offender ledger of $1 stored ([0-9]* offenders) in [0-9.]* ms" "$work/daemon.log" | sed 's/.* in \([0-9.]*\) ms/\1/' ;;
  esac | median
}
wait_first_runs() {  # every check has finished its start-up run: measurements do not queue behind them
  for check in $ledger_checks churn; do
    for _ in $(seq 1 3000); do
      curl -s "localhost:$port/api/v1/checks/$check" | grep -q '"last_run":null' || break
      sleep 0.1
    done
  done
}
tracked_count() { curl -s "localhost:$port/api/v1/checks/$1/offenders?limit=1" | grep -o '"tracked":[0-9]*' | cut -d: -f2; }
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$daemon_pid/status"; }

declare -A without
binary_saved=$binary
binary=$before_dir/src/build/release/invariantd
start_daemon "$(ledger_config "" before)"
wait_first_runs
for check in $ledger_checks; do without[$check]=$(run_durations "$check"); done
stop_daemon
binary=$binary_saved

ledger_rows=""
for tracked in 1000 10000; do
  start_daemon "$(ledger_config ", max_tracked: $tracked" "t$tracked")"
  wait_first_runs
  for check in $ledger_checks; do
    echo "ledger: $check with max_tracked $tracked..." >&2
    d=$(run_durations "$check")
    loop=$(logged_ms "$check" loop)
    stored=$(logged_ms "$check" stored)
    base=${without[$check]}
    with=$(awk -v d="$d" -v l="$loop" 'BEGIN {printf "%.1f", d + l}')
    limit=$(awk -v d="$d" 'BEGIN {printf "%.1f", 1.1 * d + 5}')
    verdict=$(awk -v w="$with" -v l="$limit" 'BEGIN {print (w <= l) ? "met" : "**not met**"}')
    ratio=$(awk -v w="$with" -v b="$base" 'BEGIN {printf "%.2f", w / b}')
    ledger_rows+="| \`$check\` | $tracked | $(tracked_count "$check") | $d ms | $loop ms | $with ms | $limit ms | $verdict | $stored ms | $base ms | ${ratio}× |"$'\n'
  done
  if [ "$tracked" = 10000 ]; then
    echo "ledger: RSS over 100 runs of the churning check..." >&2
    rss=""
    for i in $(seq 1 100); do
      curl -s -o /dev/null -X POST "localhost:$port/api/v1/checks/churn/run?wait=1"
      case $i in 1|10|25|50|75|100) rss+="run $i: $(( $(rss_kb) / 1024 )) MiB; " ;; esac
    done
    churn_loop=$(logged_ms churn loop)
    churn_stored=$(logged_ms churn stored)
    churn_line=$(grep -o "offender ledger of churn: [0-9]* tracked, [0-9]* new, [0-9]* cleared" "$work/daemon.log" | tail -1)
  fi
  stop_daemon
done

cat <<REPORT

## Offender ledger at scale ($(date -u +%Y-%m-%d), $(nproc) cores, median of $runs runs)

$offenders offenders per check. "Without the ledger" is the check's run (its statements, the one
that returns the keys included); "with" adds the ledger's update on the event loop (merge, counts,
the snapshot handed to the writer). Target: with ≤ 1.1 × without + 5 ms. The ledger's commit runs on
the state writer's thread after the run and delays nothing. The last two columns compare with the
daemon built from $offenders_base, before offenders existed (no key statement, fewer samples).

| check | max_tracked | tracked | without the ledger | ledger on the loop | with | target | | ledger commit (writer) | before offenders | with ÷ before |
|---|---|---|---|---|---|---|---|---|---|---|
$ledger_rows
RSS of the daemon over 100 runs of \`churn\` (25 000 keys shifting every run, max_tracked 10 000;
last run: $churn_line; loop $churn_loop ms, commit $churn_stored ms): $rss
REPORT
