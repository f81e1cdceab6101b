#!/bin/sh
# The role invariantd connects as: login, SELECT only, every transaction read-only by
# default (invariantd also opens its own READ ONLY transactions). Run by the postgres image
# after 10-demo-world.sql; idempotent, so it can be rerun to rotate the password.
#   POSTGRES_USER, POSTGRES_DB   set by the postgres image (compose.yaml)
#   INVARIANTD_DB_PASSWORD_FILE  default /run/secrets/invariantd_db_password
set -eu
password_file=${INVARIANTD_DB_PASSWORD_FILE:-/run/secrets/invariantd_db_password}
password=$(cat "$password_file")
psql -v ON_ERROR_STOP=1 -q --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  -v password="$password" -v dbname="$POSTGRES_DB" <<'SQL'
SELECT NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'invariantd') AS create_role \gset
\if :create_role
CREATE ROLE invariantd LOGIN;
\endif
ALTER ROLE invariantd PASSWORD :'password';
ALTER ROLE invariantd SET default_transaction_read_only = on;
ALTER ROLE invariantd CONNECTION LIMIT 12;
GRANT CONNECT ON DATABASE :"dbname" TO invariantd;
GRANT USAGE ON SCHEMA staffing, crew_sync, scheduler, stock_audit, pos TO invariantd;
GRANT SELECT ON ALL TABLES IN SCHEMA staffing, crew_sync, scheduler, stock_audit, pos TO invariantd;
SQL
