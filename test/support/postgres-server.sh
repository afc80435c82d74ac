#!/usr/bin/env bash
# Starts (or reuses) a real PostgreSQL server from Debian's packages on a free loopback port, as the
# `postgres` user (the server refuses to run as root), with its data in DIR (default .medmlops/postgres).
# Prints one line: the URL of its `postgres` database (trust auth on 127.0.0.1 only).
#   usage: test/support/postgres-server.sh [start|stop] [DIR]
# Used by .ci/setup.d/20-postgresql.sh and by test/support/postgres.ts when run outside CI.
set -euo pipefail
cmd="${1:-start}"
dir="$(realpath -m "${2:-$(dirname "$0")/../../.medmlops/postgres}")"
bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)"
[ -x "$bin/initdb" ] || { echo "PostgreSQL is not installed: apt-get install postgresql (see .ci/setup.d/20-postgresql.sh)" >&2; exit 1; }
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

if [ "$cmd" = stop ]; then
  [ -f "$dir/data/postmaster.pid" ] && as_pg "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null || true
  exit 0
fi

mkdir -p "$dir"
[ "$(id -u)" = 0 ] && chown postgres:postgres "$dir"
if [ ! -f "$dir/data/PG_VERSION" ]; then
  as_pg "$bin/initdb" -D "$dir/data" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
    || { cat "$dir/initdb.log" >&2; exit 1; }
fi
if as_pg "$bin/pg_ctl" -D "$dir/data" status >/dev/null 2>&1 && [ -f "$dir/port" ]; then
  echo "postgres://postgres@127.0.0.1:$(cat "$dir/port")/postgres"
  exit 0
fi
port="$(node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')"
echo "$port" >"$dir/port"
# Small and fast: tests only. fsync stays on, so a restart test exercises real durability.
as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
  -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$dir -c max_connections=100 -c shared_buffers=64MB" \
  start >/dev/null || { tail -20 "$dir/server.log" >&2; exit 1; }
echo "postgres://postgres@127.0.0.1:$port/postgres"
