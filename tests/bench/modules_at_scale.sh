#!/usr/bin/env bash
# Benchmark of the runbook modules on PostgreSQL at production-like scale (issue #4), and of
# the offender ledger (issue #12).
#   ./tests/bench/modules_at_scale.sh [SCALE]     SCALE 1 = 1.02 M requirements / 3.02 M shifts /
#                                                 5 M scans (above the issue's floor); 0.1 for a quick run
#   ./tests/bench/modules_at_scale.sh --ledger-only      only the offender ledger part
# For every module: the daemon's check duration (median of RUNS runs through
# POST /api/v1/checks/NAME/run?wait=1) against the same statements hand-written in psql
# (median total of RUNS runs), and the plan's index use. For shift_coverage also the
# runbook's per-requirement approach (one count query per requirement), timed on a sample
# and extrapolated.
set -euo pipefail
trap 'echo "modules_at_scale.sh: failed at line $LINENO" >&2' ERR
repo=$(cd "$(dirname "$0")/../.." && pwd)
cd "$repo"
ledger_only=0
if [ "${1:-}" = --ledger-only ]; then ledger_only=1; shift; fi
scale=${1:-1}
runs=${RUNS:-5}
n() { awk -v s="$scale" -v x="$1" 'BEGIN {printf "%d", s * x}'; }
events=$(n 200000); requirements=$(n 1020000); scans=$(n 5000000); racks=$(n 500000)
assignments=$(n 1000000); sales=$(n 2000000); syncs=$(n 500000)

. tests/bench/common.sh
psql_q() { psql "$INVARIANTD_TEST_PG_DSN" -qAt -v ON_ERROR_STOP=1 "$@"; }

if [ "$ledger_only" = 0 ]; then
echo "building worlds: $events events, $requirements requirements, ~$((requirements * 3)) shifts, $scans scans..." >&2
psql_q <<SQL
SET maintenance_work_mem = '256MB';
CREATE TABLE events (id int PRIMARY KEY, title text, status text);
INSERT INTO events SELECT g, 'Event ' || g, (ARRAY['published','active','draft','completed'])[1 + g % 4] FROM generate_series(1, $events) g;
CREATE TABLE event_skill_requirements (id int PRIMARY KEY, event_id int NOT NULL, skill_name text, needed_workers int);
INSERT INTO event_skill_requirements SELECT g, 1 + g % $events, (ARRAY['Bartender','Banquet Server/Runner','Security','Chef','Host'])[1 + g % 5], 3
FROM generate_series(1, $requirements) g;
CREATE TABLE shifts (id bigserial PRIMARY KEY, event_id int, event_skill_requirement_id int);
-- three shifts per requirement, except every 37th requirement which lost one or two
INSERT INTO shifts (event_id, event_skill_requirement_id)
SELECT r.event_id, r.id FROM event_skill_requirements r, generate_series(1, 3) k WHERE NOT (r.id % 37 = 0 AND k > 1 + r.id % 2);
INSERT INTO shifts (event_id, event_skill_requirement_id) SELECT 1 + g % $events, NULL FROM generate_series(1, 1000) g;
CREATE INDEX shifts_requirement ON shifts (event_skill_requirement_id);
CREATE INDEX requirements_event ON event_skill_requirements (event_id);

CREATE TABLE audit_sessions (id int PRIMARY KEY, location_id int, status text);
INSERT INTO audit_sessions SELECT g, g % 500, CASE WHEN g % 10 = 0 THEN 'active' ELSE 'closed' END FROM generate_series(1, $(n 50000)) g;
CREATE TABLE racks (id int PRIMARY KEY, audit_session_id int, label text);
INSERT INTO racks SELECT g, CASE WHEN g % 1000 = 0 THEN -g ELSE 1 + g % $(n 50000) END, 'R' || g FROM generate_series(1, $racks) g;
CREATE TABLE scans (id bigint PRIMARY KEY, rack_id int, created_at timestamptz, synced_at timestamptz);
INSERT INTO scans SELECT g, CASE WHEN g % 100000 = 0 THEN -g ELSE 1 + g % $racks END, now() - (g % 86400) * interval '1 second',
  CASE WHEN g % 5000 = 0 THEN NULL ELSE now() END FROM generate_series(1, $scans) g;
CREATE INDEX scans_rack ON scans (rack_id);
CREATE INDEX scans_pending ON scans (created_at) WHERE synced_at IS NULL;

CREATE TABLE flex_crew_assignments (id bigserial PRIMARY KEY, crew_call_id int, technician_id int);
-- every 5000th row repeats the previous row's pair: the sync race
INSERT INTO flex_crew_assignments (crew_call_id, technician_id)
SELECT (g - CASE WHEN g % 5000 = 0 THEN 1 ELSE 0 END) / 10, (g - CASE WHEN g % 5000 = 0 THEN 1 ELSE 0 END) % 10
FROM generate_series(1, $assignments) g;
CREATE INDEX crew_key ON flex_crew_assignments (crew_call_id, technician_id);
CREATE TABLE sales (id bigserial PRIMARY KEY, server_id int, created_at timestamptz);
INSERT INTO sales (server_id, created_at) SELECT CASE WHEN g % 60 = 0 THEN NULL ELSE g % 40 END, now() - (g % (7 * 86400)) * interval '1 second'
FROM generate_series(1, $sales) g;
CREATE INDEX sales_created_at ON sales (created_at);
CREATE TABLE flex_sync_log (id bigserial PRIMARY KEY, created_at timestamptz, department text, failed_count int, duration_ms int);
INSERT INTO flex_sync_log (created_at, department, failed_count, duration_ms)
SELECT now() - (g % (2 * 86400)) * interval '1 second', (ARRAY['sound','lights','video'])[1 + g % 3], CASE WHEN g % 14 = 0 THEN 1 ELSE 0 END, g % 20000
FROM generate_series(1, $syncs) g;
CREATE INDEX sync_created_at ON flex_sync_log (created_at);
CREATE TABLE pairing_events (project_ref_num int PRIMARY KEY, project_name text);
INSERT INTO pairing_events SELECT g, lpad((100000 + g / 2)::text, 6, '0') || CASE WHEN g % 2 = 0 THEN '-CORE-' ELSE '-Supervisor-' END || 'Product'
FROM generate_series(1, $(n 200000)) g;
CREATE TABLE schedules (id serial PRIMARY KEY, event_ref_num int, schedule_datetime timestamp);
INSERT INTO schedules (event_ref_num, schedule_datetime) SELECT g, timestamp '2025-10-14 10:00' + (g % 2) * interval '2 hours'
FROM generate_series(1, $(n 200000)) g WHERE g % 97 <> 0;
CREATE INDEX schedules_ref ON schedules (event_ref_num);
VACUUM ANALYZE events, event_skill_requirements, shifts, audit_sessions, racks, scans, flex_crew_assignments, sales,
  flex_sync_log, pairing_events, schedules;
SQL

cat > "$work/bench.yaml" <<YAML
server: { listen: "127.0.0.1:0" }
state_dir: state
log: { level: info }
databases:
  pg: { driver: postgres, dsn: "\${INVARIANTD_TEST_PG_DSN}", max_connections: 1 }
defaults: { interval: 24h, timeout: 300s, max_samples: 10 }
checks:
  - { name: shift_coverage, module: shift_coverage, database: pg }
  - { name: orphans, module: orphans, database: pg }
  - { name: backlog, module: backlog, database: pg }
  - { name: duplicates, module: duplicates, database: pg }
  - { name: coverage, module: coverage, database: pg }
  - { name: sync_failure_rate, module: sync_failure_rate, database: pg }
  - name: event_pairing
    module: event_pairing
    database: pg
    params: { events: { table: pairing_events } }
  - name: schema
    module: schema
    database: pg
    params:
      expectations:
        - unique: { table: flex_crew_assignments, columns: [crew_call_id, technician_id] }
        - index: { table: scans, name: scans_pending }
        - rls_enabled: sales
        - foreign_key: { table: scans, column: rack_id, on_delete: CASCADE }
YAML
start_daemon "$work/bench.yaml"

daemon_ms() {  # $1 check → median duration in ms
  for _ in $(seq 1 "$runs"); do
    curl -s -X POST "localhost:$port/api/v1/checks/$1/run?wait=1" \
      | { grep -o '"duration_seconds":[0-9.e-]*' || true; } | cut -d: -f2 | awk '{printf "%.1f\n", $1 * 1000}'
  done | median
}
psql_ms() {  # $1 file with the statements → median total ms over RUNS runs
  for _ in $(seq 1 "$runs"); do
    { echo '\timing on'; echo 'BEGIN READ ONLY;'; cat "$1"; echo 'ROLLBACK;'; } | psql "$INVARIANTD_TEST_PG_DSN" -qAt \
      | grep '^Time:' | grep -o '[0-9.]* ms' | cut -d' ' -f1 | awk '{s += $1} END {printf "%.1f\n", s}'
  done | median
}
plan() {  # $1 statement → index use in its plan
  psql_q -c "EXPLAIN $1" | grep -o -E '(Index Only Scan|Index Scan) using [a-z_]+|Bitmap Index Scan on [a-z_]+|Seq Scan on [a-z_]+' \
    | sort | uniq | paste -sd ',' | sed 's/,/, /g' || true
}

W="WITH shift_counts AS (SELECT s.event_skill_requirement_id AS requirement_id, COUNT(*) AS actual FROM shifts s WHERE s.event_skill_requirement_id IS NOT NULL GROUP BY 1), gaps AS (SELECT e.id AS event_id, e.title, r.id AS requirement_id, r.skill_name AS role, r.needed_workers AS needed, COALESCE(c.actual, 0) AS actual FROM event_skill_requirements r JOIN events e ON e.id = r.event_id LEFT JOIN shift_counts c ON c.requirement_id = r.id WHERE e.status IN ('published', 'active'))"
cat > "$work/shift_coverage.sql" <<SQL
$W SELECT SUM(CASE WHEN actual < needed THEN needed - actual ELSE 0 END), COUNT(DISTINCT CASE WHEN actual < needed THEN event_id END), SUM(CASE WHEN actual < needed THEN 1 ELSE 0 END), SUM(CASE WHEN actual > needed THEN actual - needed ELSE 0 END) FROM gaps;
SELECT COUNT(*) FROM shifts s WHERE s.event_skill_requirement_id IS NULL OR NOT EXISTS (SELECT 1 FROM event_skill_requirements r WHERE r.id = s.event_skill_requirement_id);
$W SELECT role, SUM(needed - actual) FROM gaps WHERE actual < needed GROUP BY role ORDER BY 2 DESC LIMIT 50;
$W SELECT event_id, title, role, needed, actual, needed - actual FROM gaps WHERE actual < needed ORDER BY needed - actual DESC, event_id, requirement_id LIMIT 10;
SQL
cat > "$work/orphans.sql" <<'SQL'
SELECT 0, COUNT(*) FROM racks c WHERE c.audit_session_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM audit_sessions p WHERE p.id = c.audit_session_id) UNION ALL SELECT 1, COUNT(*) FROM scans c WHERE c.rack_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM racks p WHERE p.id = c.rack_id);
SELECT * FROM (SELECT 0, c.id, c.audit_session_id FROM racks c WHERE c.audit_session_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM audit_sessions p WHERE p.id = c.audit_session_id) ORDER BY c.id LIMIT 10) a UNION ALL SELECT * FROM (SELECT 1, c.id, c.rack_id FROM scans c WHERE c.rack_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM racks p WHERE p.id = c.rack_id) ORDER BY c.id LIMIT 10) b;
SQL
cat > "$work/backlog.sql" <<'SQL'
SELECT SUM(CASE WHEN created_at < now() - interval '300 seconds' THEN 1 ELSE 0 END), COUNT(*), EXTRACT(EPOCH FROM now()) - MIN(EXTRACT(EPOCH FROM created_at)) FROM scans WHERE synced_at IS NULL;
SQL
cat > "$work/duplicates.sql" <<'SQL'
SELECT COUNT(*), SUM(n - 1) FROM (SELECT COUNT(*) AS n FROM flex_crew_assignments GROUP BY crew_call_id, technician_id HAVING COUNT(*) > 1) d;
SELECT crew_call_id, technician_id, COUNT(*), string_agg(id::text, ',' ORDER BY id) FROM flex_crew_assignments GROUP BY crew_call_id, technician_id HAVING COUNT(*) > 1 ORDER BY COUNT(*) DESC, crew_call_id, technician_id LIMIT 10;
SQL
cat > "$work/coverage.sql" <<'SQL'
SELECT COUNT(*), COUNT(server_id) FROM sales WHERE created_at > now() - interval '86400 seconds';
SQL
cat > "$work/sync_failure_rate.sql" <<'SQL'
SELECT COUNT(*), SUM(CASE WHEN failed_count > 0 THEN 1 ELSE 0 END), SUM(CASE WHEN duration_ms > 10000 THEN 1 ELSE 0 END), MAX(duration_ms) FROM flex_sync_log WHERE created_at > now() - interval '3600 seconds';
SELECT department, SUM(CASE WHEN failed_count > 0 THEN 1 ELSE 0 END)::float8 / COUNT(*) FROM flex_sync_log WHERE created_at > now() - interval '3600 seconds' GROUP BY 1 ORDER BY 2 DESC LIMIT 50;
SQL
P="WITH starts AS (SELECT s.event_ref_num AS ref, MIN(s.schedule_datetime) AS starts_at FROM schedules s GROUP BY 1), core AS (SELECT e.project_ref_num AS ref, e.project_name AS name, substr(e.project_name, 1, 6) AS number, st.starts_at FROM pairing_events e LEFT JOIN starts st ON st.ref = e.project_ref_num WHERE strpos(lower(e.project_name), lower('-CORE-')) > 0), supervisor AS (SELECT e.project_ref_num AS ref, e.project_name AS name, substr(e.project_name, 1, 6) AS number, st.starts_at FROM pairing_events e LEFT JOIN starts st ON st.ref = e.project_ref_num WHERE strpos(lower(e.project_name), lower('-Supervisor-')) > 0), supervisors AS (SELECT number, COUNT(starts_at) AS scheduled FROM supervisor GROUP BY number), aligned AS (SELECT DISTINCT c.ref FROM core c JOIN supervisor v ON v.number = c.number WHERE v.starts_at = c.starts_at + interval '7200 seconds'), classified AS (SELECT c.number, c.name, CASE WHEN sv.number IS NULL THEN 'no_supervisor' WHEN c.starts_at IS NULL THEN NULL WHEN sv.scheduled = 0 THEN 'supervisor_unscheduled' WHEN a.ref IS NULL THEN 'misaligned' END AS problem FROM core c LEFT JOIN supervisors sv ON sv.number = c.number LEFT JOIN aligned a ON a.ref = c.ref)"
cat > "$work/event_pairing.sql" <<SQL
$P SELECT COUNT(*), SUM(CASE WHEN problem = 'no_supervisor' THEN 1 ELSE 0 END), SUM(CASE WHEN problem = 'supervisor_unscheduled' THEN 1 ELSE 0 END), SUM(CASE WHEN problem = 'misaligned' THEN 1 ELSE 0 END) FROM classified;
$P SELECT number, name, problem FROM classified WHERE problem IS NOT NULL ORDER BY problem, number LIMIT 10;
SQL

cat > "$work/schema.sql" <<'SQL'
SELECT COUNT(*) FROM pg_index i WHERE i.indrelid = to_regclass('"flex_crew_assignments"') AND i.indisunique AND i.indpred IS NULL AND i.indexprs IS NULL AND i.indnkeyatts = 2 AND (SELECT array_agg(a.attname::text ORDER BY a.attname::text) FROM pg_attribute a WHERE a.attrelid = i.indrelid AND a.attnum = ANY((i.indkey::int2[])[0:i.indnkeyatts - 1])) = CAST('{crew_call_id,technician_id}' AS text[]);
SELECT COUNT(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE i.indrelid = to_regclass('"scans"') AND c.relname = 'scans_pending';
SELECT COUNT(*) FROM pg_class WHERE oid = to_regclass('"sales"') AND relrowsecurity;
SELECT COUNT(*) FROM pg_constraint con WHERE con.conrelid = to_regclass('"scans"') AND con.contype = 'f' AND cardinality(con.conkey) = 1 AND (SELECT a.attname::text FROM pg_attribute a WHERE a.attrelid = con.conrelid AND a.attnum = con.conkey[1]) = 'rack_id' AND con.confdeltype = 'c';
SQL

rows=""
for check in shift_coverage orphans backlog duplicates coverage sync_failure_rate event_pairing schema; do
  echo "measuring $check..." >&2
  value=$(curl -s -X POST "localhost:$port/api/v1/checks/$check/run?wait=1" | { grep -o '"value":[0-9.e-]*' || true; } | head -1 | cut -d: -f2)
  d=$(daemon_ms "$check")
  p=$(psql_ms "$work/$check.sql")
  ratio=$(awk -v d="$d" -v p="$p" 'BEGIN {printf "%.2f", d / p}')
  first=$(head -1 "$work/$check.sql" | sed 's/;$//')
  rows+="| \`$check\` | $value | $d ms | $p ms | $ratio | $(plan "$first") |"$'\n'
done

# The runbook's approach for shift_coverage: one count query per requirement (as
# ensure_shifts_for_requirements! and the weekly audit do), on a sample, extrapolated.
sample=2000
echo "timing the per-requirement approach on $sample requirements..." >&2
psql_q -c "SELECT r.id FROM event_skill_requirements r JOIN events e ON e.id = r.event_id WHERE e.status IN ('published','active') ORDER BY r.id LIMIT $sample" > "$work/ids"
watched=$(psql_q -c "SELECT COUNT(*) FROM event_skill_requirements r JOIN events e ON e.id = r.event_id WHERE e.status IN ('published','active')")
start=$(date +%s.%N)
while read -r id; do echo "SELECT COUNT(*) FROM shifts WHERE event_skill_requirement_id = $id;"; done < "$work/ids" | psql "$INVARIANTD_TEST_PG_DSN" -qAt > /dev/null
end=$(date +%s.%N)
per_query=$(awk -v a="$start" -v b="$end" -v n="$sample" 'BEGIN {printf "%.3f", (b - a) * 1000 / n}')
extrapolated=$(awk -v q="$per_query" -v n="$watched" 'BEGIN {printf "%.1f", q * n / 1000}')

cat <<REPORT

## Modules at scale ($(date -u +%Y-%m-%d), $(nproc) cores, scale $scale, median of $runs runs)

World: $events events, $requirements requirements, $(psql_q -c "SELECT COUNT(*) FROM shifts") shifts; $racks racks, $scans scans;
$assignments crew assignments; $sales sales; $syncs sync log rows; $(n 200000) pairing events.

| module | value | invariantd check duration | same statements in psql | ratio | plan (index use of the main statement) |
|---|---|---|---|---|---|
$rows
shift_coverage the runbook's way — one \`SELECT COUNT(*) FROM shifts WHERE event_skill_requirement_id = ?\`
per requirement: $per_query ms per query on a sample of $sample, × $watched watched requirements ≈ **$extrapolated s**
per audit (one psql session, no Rails overhead), against the module's single pass above.
REPORT
stop_daemon
fi

. tests/bench/offender_ledger.sh
