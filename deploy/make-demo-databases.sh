#!/usr/bin/env bash
# Builds the SQLite demo databases from the checked-in SQL in config/demo-data/ into the
# folder given as $1 (default: demo/ at the repository root, git-ignored). Each database is
# rebuilt from scratch and moved into place atomically, so a running daemon never sees a
# half-written file.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
target=${1:-"$repo/demo"}
mkdir -p "$target"
for sql in "$repo"/config/demo-data/*.sql; do
  name=$(basename "$sql" .sql)
  tmp="$target/.$name.db.tmp"
  rm -f "$tmp" "$tmp-wal" "$tmp-shm"
  sqlite3 "$tmp" < "$sql" >/dev/null
  # Leave the database in rollback-journal-free WAL mode but fully checkpointed.
  sqlite3 "$tmp" 'PRAGMA wal_checkpoint(TRUNCATE);' >/dev/null
  mv -f "$tmp" "$target/$name.db"
  rm -f "$target/$name.db-wal" "$target/$name.db-shm"
  echo "demo database: $target/$name.db"
done
