#!/bin/sh
# Loads the demo world into PostgreSQL: the SQLite demo files of config/demo-data/ (mounted at
# /demo-data), one schema per runbook world, translated on the fly so there is one copy of the
# demo data: PRAGMAs dropped, INTEGER PRIMARY KEY as SERIAL, *_at columns as timestamptz,
# schedule_datetime as timestamp, datetime('now', m1, m2) as now() + m1::interval + m2::interval.
# Run by the postgres image from /docker-entrypoint-initdb.d (perl is in every Debian image);
# tests/integration/deploy_files_test.cpp runs it against a real PostgreSQL 15.
#   POSTGRES_USER, POSTGRES_DB   set by the postgres image (compose.yaml)
#   DEMO_DATA_DIR                default /demo-data
set -eu
data=${DEMO_DATA_DIR:-/demo-data}
for world in staffing crew_sync scheduler stock_audit pos; do
  {
    echo "CREATE SCHEMA $world; SET search_path = $world;"
    perl -0pe '
      s/^PRAGMA[^;]*;\n//mg;
      s/INTEGER PRIMARY KEY/SERIAL PRIMARY KEY/g;
      s/(\w+_at) TEXT/$1 TIMESTAMPTZ/g;
      s/schedule_datetime TEXT/schedule_datetime TIMESTAMP/g;
      s{datetime\(\x27now\x27((?:\s*,\s*(?:[^(),]|\([^()]*\))+)*)\)}{
        my @modifiers = ($1 =~ /,\s*((?:[^(),]|\([^()]*\))+)/g);
        "(now()" . join("", map { " + ($_)::interval" } @modifiers) . ")"
      }ge;
    ' "$data/$world.sql"
  } | psql -v ON_ERROR_STOP=1 -q --username "$POSTGRES_USER" --dbname "$POSTGRES_DB"
done
