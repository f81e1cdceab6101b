-- The bar point-of-sale world of runbook 004 (Supabase; here in SQLite): recent sales lost
-- their server_id, and one points at a user that no longer exists.
-- Expected: 96 % server_id coverage over the last 24 h (48 of 50; the older NULLs do not
-- count), 1 sale whose server_id matches no user.
PRAGMA journal_mode = WAL;
CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT UNIQUE, display_name TEXT);
CREATE TABLE sales (id INTEGER PRIMARY KEY, server_id INTEGER, bar TEXT, amount_cents INTEGER, created_at TEXT NOT NULL);
CREATE INDEX sales_created_at ON sales (created_at);
INSERT INTO users (id, email, display_name) VALUES
    (1, 'riley@bar.example', 'Riley'), (2, 'sam@bar.example', 'Sam'), (3, 'jo@bar.example', 'Jo');
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 49)
INSERT INTO sales (server_id, bar, amount_cents, created_at)
SELECT CASE WHEN i < 2 THEN NULL WHEN i = 2 THEN 999 ELSE 1 + i % 3 END,
       CASE WHEN i % 2 = 0 THEN 'main' ELSE 'patio' END, 500 + i * 25, datetime('now', '-' || (10 + i * 20) || ' minutes')
FROM n;
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 9)
INSERT INTO sales (server_id, bar, amount_cents, created_at)
SELECT NULL, 'main', 700, datetime('now', '-3 days', '-' || i || ' minutes') FROM n;
