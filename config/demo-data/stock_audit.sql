-- The stock-audit world of runbook 003 (Next.js + Supabase; here in SQLite): racks pointing
-- at deleted audit sessions, scans pointing at deleted racks, scans stuck unsynced, and one
-- location with two active sessions.
-- Expected: 3 orphans (2 racks, 1 scan; NULL references do not count), 2 scans pending for
-- more than 5 minutes (3 pending in all), 1 location with two active sessions.
PRAGMA journal_mode = WAL;
CREATE TABLE audit_sessions (id INTEGER PRIMARY KEY, location_id INTEGER NOT NULL, status TEXT NOT NULL, started_at TEXT);
CREATE TABLE racks (id INTEGER PRIMARY KEY, audit_session_id INTEGER, label TEXT NOT NULL);
CREATE TABLE scans (id INTEGER PRIMARY KEY, rack_id INTEGER, barcode TEXT, created_at TEXT NOT NULL, synced_at TEXT);
CREATE INDEX scans_pending ON scans (created_at) WHERE synced_at IS NULL;
INSERT INTO audit_sessions (id, location_id, status, started_at) VALUES
    (1, 10, 'active', '2025-11-20 08:00:00'),
    (2, 10, 'active', '2025-11-20 08:03:00'),    -- second active session at location 10
    (3, 11, 'active', '2025-11-20 08:00:00'),
    (4, 12, 'closed', '2025-11-19 08:00:00');
INSERT INTO racks (id, audit_session_id, label) VALUES
    (100, 1, 'A-01'), (101, 3, 'B-01'), (102, 99, 'C-01'), (103, NULL, 'unassigned'), (104, 98, 'C-02');
INSERT INTO scans (id, rack_id, barcode, created_at, synced_at) VALUES
    (1, 100, '0001', datetime('now', '-60 minutes'), datetime('now', '-59 minutes')),
    (2, 555, '0002', datetime('now', '-60 minutes'), datetime('now', '-59 minutes')),   -- rack deleted
    (3, NULL, '0003', datetime('now', '-10 minutes'), NULL),                           -- stuck
    (4, 102, '0004', datetime('now', '-20 minutes'), NULL),                            -- stuck
    (5, 101, '0005', datetime('now', '-1 minutes'), NULL);                             -- recent
