-- The retail scheduler world of runbook 002 (Flask, SQLite): every "-CORE-" event needs its
-- "-Supervisor-" twin (same 6-digit event number, the first 6 characters of project_name),
-- scheduled 2 hours after the CORE event. The runbook's own test events are here as written:
--   606001 CORE + 606002 Supervisor, both scheduled, +2 h          → paired, healthy
--   606999 CORE "Test Product Orphan", no Supervisor               → orphan CORE
--   608001 CORE scheduled, 608002 Supervisor not scheduled         → supervisor unscheduled
-- plus production-like events, one pair of which is misaligned (Supervisor +1 h 30 min).
PRAGMA journal_mode = WAL;
CREATE TABLE events (
    id INTEGER PRIMARY KEY,
    project_ref_num INTEGER NOT NULL,
    project_name TEXT NOT NULL,
    is_scheduled INTEGER NOT NULL DEFAULT 0,
    sync_status TEXT NOT NULL DEFAULT 'synced'
);
CREATE TABLE schedules (
    id INTEGER PRIMARY KEY,
    event_ref_num INTEGER NOT NULL,
    employee_id TEXT,
    schedule_datetime TEXT NOT NULL
);
CREATE INDEX idx_events_project_name ON events(project_name);
CREATE UNIQUE INDEX idx_events_project_ref_num ON events(project_ref_num);
CREATE INDEX idx_schedules_event_ref_num ON schedules(event_ref_num);

INSERT INTO events (project_ref_num, project_name, is_scheduled) VALUES
    (606001, '606001-CORE-Super Pretzel King Size', 1),
    (606002, '606001-Supervisor-Super Pretzel King Size', 1),
    (606999, '606999-CORE-Test Product Orphan', 1),
    (608001, '608001-CORE-Product With Unscheduled Supervisor', 1),
    (608002, '608001-Supervisor-Product With Unscheduled Supervisor', 0),
    (612340, '612340-CORE-Frozen Pizza Demo', 1),
    (612341, '612340-Supervisor-Frozen Pizza Demo', 1),
    (612500, '612500-CORE-Cold Brew Tasting', 1),
    (612501, '612500-Supervisor-Cold Brew Tasting', 1),
    (612777, '612777-Juicer-Citrus Press Demo', 1),
    (612800, '612800-Digital-Store Refresh', 0);

INSERT INTO schedules (event_ref_num, employee_id, schedule_datetime) VALUES
    (606001, 'E101', '2025-10-14 10:00:00'),
    (606002, 'E201', '2025-10-14 12:00:00'),
    (606999, 'E102', '2025-10-14 11:00:00'),
    (608001, 'E103', '2025-10-15 09:30:00'),
    (612340, 'E104', '2025-10-16 10:00:00'),
    (612341, 'E202', '2025-10-16 12:00:00'),
    (612500, 'E105', '2025-10-17 09:00:00'),
    (612501, 'E203', '2025-10-17 10:30:00'),   -- misaligned: should be 11:00
    (612777, 'E106', '2025-10-17 13:00:00');
