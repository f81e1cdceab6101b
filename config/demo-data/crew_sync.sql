-- The crew-sync world of runbook 001 (Supabase; here in SQLite): a sync race inserted
-- duplicate (crew_call_id, technician_id) rows and the unique constraint does not exist yet;
-- one sync in fourteen fails and some take longer than 10 s.
-- Expected: 3 excess rows in 2 duplicate groups (multiplicity 2 and 3), no unique constraint;
-- 14 syncs in the last hour, 1 failed (7 %), 2 slower than 10 s.
-- Times are relative to when the demo database is built.
PRAGMA journal_mode = WAL;
CREATE TABLE flex_crew_calls (id TEXT PRIMARY KEY, job_id TEXT NOT NULL, department TEXT NOT NULL);
CREATE TABLE flex_crew_assignments (
    id INTEGER PRIMARY KEY,
    crew_call_id TEXT NOT NULL REFERENCES flex_crew_calls(id),
    technician_id TEXT NOT NULL,
    flex_line_item_id TEXT,
    created_at TEXT NOT NULL
);
CREATE TABLE flex_sync_log (
    id INTEGER PRIMARY KEY,
    created_at TEXT NOT NULL,
    job_id TEXT NOT NULL,
    department TEXT NOT NULL,
    added_count INTEGER DEFAULT 0,
    failed_count INTEGER DEFAULT 0,
    duration_ms INTEGER
);
INSERT INTO flex_crew_calls VALUES ('cc-sound-1', 'job-481', 'sound'), ('cc-lights-1', 'job-481', 'lights');
INSERT INTO flex_crew_assignments (crew_call_id, technician_id, flex_line_item_id, created_at) VALUES
    ('cc-sound-1', 'tech-alvarez', 'li-1', '2025-11-02 09:00:00'),
    ('cc-sound-1', 'tech-alvarez', 'li-2', '2025-11-02 09:00:01'),   -- duplicate from the race
    ('cc-sound-1', 'tech-okafor', 'li-3', '2025-11-02 09:00:00'),
    ('cc-lights-1', 'tech-brennan', 'li-4', '2025-11-02 09:05:00'),
    ('cc-lights-1', 'tech-brennan', 'li-5', '2025-11-02 09:05:00'),  -- three concurrent syncs
    ('cc-lights-1', 'tech-brennan', 'li-6', '2025-11-02 09:05:01'),
    ('cc-lights-1', 'tech-singh', 'li-7', '2025-11-02 09:05:00');
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 14)
INSERT INTO flex_sync_log (created_at, job_id, department, added_count, failed_count, duration_ms)
SELECT datetime('now', '-' || (i * 4) || ' minutes'), 'job-481', CASE WHEN i % 2 = 0 THEN 'sound' ELSE 'lights' END,
       2, CASE WHEN i = 7 THEN 1 ELSE 0 END, CASE WHEN i IN (3, 11) THEN 12500 ELSE 900 + i * 40 END
FROM n;
-- Yesterday's failures are outside the one-hour window.
INSERT INTO flex_sync_log (created_at, job_id, department, failed_count, duration_ms) VALUES
    (datetime('now', '-1 day'), 'job-470', 'sound', 3, 30000);
