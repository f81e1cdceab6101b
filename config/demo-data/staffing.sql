-- The staffing world of runbook 000 (event staffing, Rails): events, their skill
-- requirements (needed_workers is the source of truth) and the shift rows that must match.
-- Planted violations, as the runbook found them:
--   * event 221 "Downtown Concert After-Party" (published): Bartender needs 3, has 1 shift;
--     Banquet Server/Runner needs 2, has 0                                  → 4 missing
--   * event 224 "Riverside Gala" (active): Security needs 4, has 2          → 2 missing
--   * event 222 (draft) is short too, but drafts are not checked           → not counted
--   * event 223 has one surplus Bartender shift
--   * two orphaned shifts: one with a NULL requirement, one pointing at a deleted requirement
-- Expected: 6 missing shifts across 2 events (3 requirements), 1 surplus, 2 orphaned.
PRAGMA journal_mode = WAL;
CREATE TABLE events (
    id INTEGER PRIMARY KEY,
    title TEXT NOT NULL,
    status TEXT NOT NULL,
    starts_at TEXT NOT NULL
);
CREATE TABLE event_skill_requirements (
    id INTEGER PRIMARY KEY,
    event_id INTEGER NOT NULL REFERENCES events(id),
    skill_name TEXT NOT NULL,
    needed_workers INTEGER NOT NULL
);
CREATE TABLE shifts (
    id INTEGER PRIMARY KEY,
    event_id INTEGER NOT NULL REFERENCES events(id),
    event_skill_requirement_id INTEGER,
    worker_name TEXT
);
CREATE INDEX index_shifts_on_event_skill_requirement_id ON shifts(event_skill_requirement_id);
CREATE INDEX index_event_skill_requirements_on_event_id ON event_skill_requirements(event_id);

INSERT INTO events (id, title, status, starts_at) VALUES
    (219, 'Harbor Lights Wedding', 'published', '2024-11-22 18:00:00'),
    (220, 'Tech Summit Reception', 'completed', '2024-11-10 17:00:00'),
    (221, 'Downtown Concert After-Party', 'published', '2024-11-23 22:00:00'),
    (222, 'Spring Fundraiser (planning)', 'draft', '2025-03-14 19:00:00'),
    (223, 'Corporate Holiday Dinner', 'published', '2024-12-12 19:00:00'),
    (224, 'Riverside Gala', 'active', '2024-11-21 19:30:00');

INSERT INTO event_skill_requirements (id, event_id, skill_name, needed_workers) VALUES
    (1001, 219, 'Bartender', 2),
    (1002, 219, 'Banquet Server/Runner', 3),
    (1003, 220, 'Bartender', 2),
    (1004, 221, 'Bartender', 3),
    (1005, 221, 'Banquet Server/Runner', 2),
    (1006, 222, 'Bartender', 3),
    (1007, 223, 'Bartender', 1),
    (1008, 224, 'Security', 4),
    (1009, 224, 'Bartender', 1);

INSERT INTO shifts (id, event_id, event_skill_requirement_id, worker_name) VALUES
    (5001, 219, 1001, 'Avery Chen'),
    (5002, 219, 1001, NULL),
    (5003, 219, 1002, 'Sam Patel'),
    (5004, 219, 1002, NULL),
    (5005, 219, 1002, NULL),
    (5006, 220, 1003, 'Riley Brooks'),       -- completed event: one shift short, not checked
    (5007, 221, 1004, 'Jordan Moore'),       -- the one Bartender row the UI showed
    (5008, 223, 1007, 'Casey Lee'),
    (5009, 223, 1007, NULL),                 -- surplus
    (5010, 224, 1008, 'Morgan Diaz'),
    (5011, 224, 1008, NULL),
    (5012, 224, 1009, 'Taylor Kim'),
    (5013, 219, NULL, NULL),                 -- orphaned: no requirement
    (5014, 224, 999999, NULL);               -- orphaned: requirement deleted
