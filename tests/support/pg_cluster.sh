#!/usr/bin/env bash
# A throwaway PostgreSQL 15 cluster for tests and benchmarks.
#   pg_cluster.sh start DIR   initdb into DIR, start on a free port on 127.0.0.1, create a
#                             password-authenticated login role and its database, and print
#                             `export` lines for INVARIANTD_TEST_PG_DSN and friends
#                             PgBouncer (pool_mode = transaction) in front of invariantd_test
#                             on a port of its own: INVARIANTD_TEST_PGBOUNCER_DSN
#   pg_cluster.sh stop DIR    stop both and remove DIR
# As root, every server command runs as the `postgres` user (initdb refuses root).
set -euo pipefail
command=${1:?usage: pg_cluster.sh start|stop DIR}
dir=${2:?usage: pg_cluster.sh start|stop DIR}
bin=/usr/lib/postgresql/15/bin

as_owner() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case "$command" in
start)
  mkdir -p "$dir"
  if [ "$(id -u)" -eq 0 ]; then chown postgres: "$dir"; fi
  password=$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
  as_owner sh -c "umask 077; printf '%s\n' '$password' > '$dir/pwfile'"
  # TLS: a test CA, a server certificate for "localhost" only (so 127.0.0.1 is a wrong host
  # name under verify-full), and a second CA that signed nothing (an untrusted one).
  as_owner sh -c "mkdir -p '$dir/tls' && cd '$dir/tls' && umask 077 &&
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj '/CN=invariantd test CA' -keyout ca.key -out ca.crt &&
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj '/CN=localhost' -keyout server.key -out server.csr &&
    printf 'subjectAltName=DNS:localhost\n' > server.ext &&
    openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 -extfile server.ext -out server.crt &&
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj '/CN=another CA' -keyout other.key -out other-ca.crt &&
    chmod 644 ca.crt other-ca.crt" >"$dir/openssl.log" 2>&1 || { cat "$dir/openssl.log" >&2; exit 1; }
  chmod 755 "$dir/tls"
  tls="-c ssl=on -c ssl_cert_file=$dir/tls/server.crt -c ssl_key_file=$dir/tls/server.key"
  as_owner "$bin/initdb" -D "$dir/data" -U postgres --auth-local=trust --auth-host=scram-sha-256 \
    --pwfile="$dir/pwfile" -E UTF8 --no-sync >"$dir/initdb.log" 2>&1 \
    || { cat "$dir/initdb.log" >&2; exit 1; }
  started=
  for _ in $(seq 1 20); do
    port=$((20000 + RANDOM % 40000))
    if as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
         -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c max_connections=200 -c shared_preload_libraries=pg_stat_statements $tls" \
         start >/dev/null 2>&1; then
      started=1
      break
    fi
  done
  [ -n "$started" ] || { echo "pg_cluster: could not start PostgreSQL" >&2; tail -20 "$dir/server.log" >&2; exit 1; }
  as_owner "$bin/psql" -h "$dir" -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1 -q >/dev/null <<SQL
CREATE ROLE invariantd_test LOGIN CREATEDB CREATEROLE PASSWORD '$password';
CREATE DATABASE invariantd_test OWNER invariantd_test;
CREATE DATABASE invariantd_test2 OWNER invariantd_test;
\c invariantd_test
-- What the daemon costs the server's statement statistics is part of the tests.
CREATE EXTENSION pg_stat_statements;
-- Benchmarks start their counts from zero.
GRANT EXECUTE ON FUNCTION pg_stat_statements_reset(oid, oid, bigint) TO invariantd_test;
SQL
  ctl="$bin/pg_ctl -D $dir/data -l $dir/server.log -w -t 30 -o \"-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200 -c shared_preload_libraries=pg_stat_statements $tls\""
  if [ "$(id -u)" -eq 0 ]; then ctl="runuser -u postgres -- $ctl"; fi
  # PgBouncer as production puts it in front: transaction pooling, one small server pool,
  # SCRAM on both sides (it refuses to run as root, hence the postgres user).
  bouncer_started=
  for _ in $(seq 1 20); do
    bouncer_port=$((20000 + RANDOM % 40000))
    as_owner sh -c "umask 077; cat > '$dir/pgbouncer.ini'" <<INI
[databases]
invariantd_test = host=127.0.0.1 port=$port dbname=invariantd_test
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $bouncer_port
unix_socket_dir =
auth_type = scram-sha-256
auth_file = $dir/userlist.txt
pool_mode = transaction
default_pool_size = 2
max_client_conn = 200
logfile = $dir/pgbouncer.log
pidfile = $dir/pgbouncer.pid
INI
    as_owner sh -c "umask 077; printf '\"invariantd_test\" \"%s\"\n' '$password' > '$dir/userlist.txt'"
    if as_owner /usr/sbin/pgbouncer -d -q "$dir/pgbouncer.ini" 2>>"$dir/pgbouncer.err"; then
      for _ in $(seq 1 50); do
        if PGPASSWORD=$password "$bin/psql" "host=127.0.0.1 port=$bouncer_port dbname=invariantd_test user=invariantd_test" \
             -qAtc 'SELECT 1' >/dev/null 2>&1; then bouncer_started=1; break; fi
        sleep 0.1
      done
    fi
    [ -n "$bouncer_started" ] && break
    [ -f "$dir/pgbouncer.pid" ] && kill "$(cat "$dir/pgbouncer.pid")" 2>/dev/null || true
  done
  [ -n "$bouncer_started" ] || { echo "pg_cluster: could not start PgBouncer" >&2; cat "$dir/pgbouncer.err" "$dir/pgbouncer.log" >&2 2>/dev/null; exit 1; }
  # The plain DSNs keep TLS off (what the other tests and benchmarks measure); the TLS tests
  # build theirs from the port, the password and these CA files.
  echo "export INVARIANTD_TEST_PG_DSN='host=127.0.0.1 port=$port dbname=invariantd_test user=invariantd_test password=$password sslmode=disable'"
  echo "export INVARIANTD_TEST_PG_DSN2='host=127.0.0.1 port=$port dbname=invariantd_test2 user=invariantd_test password=$password sslmode=disable'"
  echo "export INVARIANTD_TEST_PG_CA='$dir/tls/ca.crt'"
  echo "export INVARIANTD_TEST_PG_OTHER_CA='$dir/tls/other-ca.crt'"
  echo "export INVARIANTD_TEST_PG_PASSWORD='$password'"
  echo "export INVARIANTD_TEST_PG_PORT='$port'"
  echo "export INVARIANTD_TEST_PG_CTL='$ctl'"
  echo "export INVARIANTD_TEST_PGBOUNCER_DSN='host=127.0.0.1 port=$bouncer_port dbname=invariantd_test user=invariantd_test password=$password'"
  ;;
stop)
  if [ -f "$dir/pgbouncer.pid" ]; then kill "$(cat "$dir/pgbouncer.pid")" 2>/dev/null || true; fi
  if [ -d "$dir/data" ]; then as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true; fi
  rm -rf "$dir"
  ;;
*)
  echo "usage: pg_cluster.sh start|stop DIR" >&2
  exit 64
  ;;
esac
