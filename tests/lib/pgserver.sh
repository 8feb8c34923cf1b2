#!/bin/bash
# A private PostgreSQL server for one test: `pgserver.sh start DIR [durable]`
# makes a cluster in DIR, starts it listening on a Unix socket in DIR only (no
# TCP) and prints a libpq connection string for it; `pgserver.sh stop DIR`
# stops it. Tests run it without fsync (nothing they check needs the disk);
# "durable" keeps PostgreSQL's defaults, for benchmarks. As root the server
# runs as the postgres user (initdb refuses root).
set -euo pipefail
cmd=${1:?start or stop}
dir=${2:?folder}
bindir=${PHO_PG_BINDIR:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}
if [ ! -x "$bindir/initdb" ]; then
    echo "pgserver: PostgreSQL's server programs are not installed (tools/bootstrap.sh installs postgresql)" >&2
    exit 77
fi
as=()
if [ "$(id -u)" = 0 ]; then
    as=(runuser -u postgres --)
fi
case $cmd in
start)
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    chmod 755 "$dir"
    # The server's user must reach DIR: let it through the test's private folders.
    p=$(dirname "$dir")
    while [ "$p" != / ]; do
        chmod o+x "$p" 2>/dev/null || true
        p=$(dirname "$p")
    done
    [ ${#as[@]} -eq 0 ] || chown postgres "$dir"
    "${as[@]}" "$bindir/initdb" -D "$dir/data" -A trust -U pho -E UTF8 --no-sync >"$dir/initdb.log" 2>&1 ||
        { cat "$dir/initdb.log" >&2; exit 1; }
    opts="-k $dir -c listen_addresses= -c max_connections=60"
    [ "${3:-}" = durable ] || opts="$opts -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    "${as[@]}" "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 -o "$opts" \
        start >/dev/null || { cat "$dir/server.log" >&2; exit 1; }
    echo "host=$dir user=pho dbname=postgres"
    ;;
stop)
    [ -d "$dir/data" ] && "${as[@]}" "$bindir/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
    ;;
*)
    echo "usage: pgserver.sh start|stop DIR" >&2
    exit 2
    ;;
esac
