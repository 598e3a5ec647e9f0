#!/usr/bin/env bash
# Start a throw-away PostgreSQL 15 server with pg_cron on 127.0.0.1, for the tests and the benchmarks.
# Installs the Debian packages when missing. Prints the connection string on its last line.
#   usage: .ci/start-postgres.sh [DIR] [PORT]
#   SINGULARITY_TEST_PG_NO_CRON=1: a server without pg_cron (to see what singularity says then).
set -euo pipefail
dir=${1:-/tmp/singularity-pg}
port=${2:-54329}
password=${SINGULARITY_TEST_PG_PASSWORD:-singularity-test-pw}

if ! command -v pg_config >/dev/null || [ ! -x "$(pg_config --bindir)/initdb" ] || [ ! -f /usr/share/postgresql/15/extension/pg_cron.control ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends postgresql-15 postgresql-client-15 postgresql-15-cron >&2
fi
bindir=/usr/lib/postgresql/15/bin

as_postgres() {
  if [ "$(id -u)" = 0 ]; then su postgres -s /bin/bash -c "$*"; else bash -c "$*"; fi
}

if [ -f "$dir/data/postmaster.pid" ]; then
  as_postgres "$bindir/pg_ctl -D '$dir/data' -m fast stop" >&2 || true
fi
rm -rf "$dir"
mkdir -p "$dir"
[ "$(id -u)" = 0 ] && chown postgres: "$dir"
printf '%s\n' "$password" > "$dir/pwfile"
[ "$(id -u)" = 0 ] && chown postgres: "$dir/pwfile"
as_postgres "$bindir/initdb -D '$dir/data' -U postgres --pwfile='$dir/pwfile' -A scram-sha-256 --auth-local=trust >/dev/null"
rm -f "$dir/pwfile"
cat >> "$dir/data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir'
max_connections = 200
fsync = off
CONF
if [ "${SINGULARITY_TEST_PG_NO_CRON:-}" != 1 ]; then
  cat >> "$dir/data/postgresql.conf" <<CONF
shared_preload_libraries = 'pg_cron'
cron.database_name = 'postgres'
# pg_cron runs jobs in background workers: no connection, so no password, needed.
cron.use_background_workers = on
max_worker_processes = 32
CONF
fi
as_postgres "$bindir/pg_ctl -D '$dir/data' -l '$dir/server.log' -w start" >&2
if [ "${SINGULARITY_TEST_PG_NO_CRON:-}" != 1 ]; then
  as_postgres "$bindir/psql -h '$dir' -p $port -U postgres -qc 'create extension if not exists pg_cron'" >&2
fi
echo "postgres://postgres:$password@127.0.0.1:$port/postgres"
