#!/usr/bin/env bash
# Performance benchmark (issue 26): SELLERS customer managers (500), ORDERS
# orders (10,000,000) over two years, on SQLite and on PostgreSQL. Times the
# KPI figures for every seller × 12 months (the board and series calls, and
# the store's own actuals query on perf_daily), the dashboard's calls (p50,
# p99), and the peer: the same figures by one GROUP BY over the raw orders.
#
#   bench/performance/run.sh                 # both backends
#   bench/performance/run.sh sqlite          # one
#   ORDERS=1000000 bench/performance/run.sh  # smaller
#   KEQING=target/debug/keqing bench/performance/run.sh   # another build
#   REUSE=1 bench/performance/run.sh         # keep the databases of an earlier run
#
# The data is generated inside each database (gen-*.sql, orders-*.sql:
# recursive CTEs / generate_series), CHUNK orders (1,000,000) a statement,
# through the schema's own triggers, which keep perf_daily (SQLite's fire per
# row, PostgreSQL's once per statement with its transition table); then
# check-*.sql proves perf_daily equals one GROUP BY over all the orders.
# Goals: KPI figures ≤ 1 s on SQLite, ≤ 2 s on PostgreSQL; dashboard p99 ≤ 50 ms.
set -euo pipefail
cd "$(dirname "$0")/../.."
HERE=bench/performance
SELLERS=${SELLERS:-500}
ORDERS=${ORDERS:-10000000}
CUSTOMERS=${CUSTOMERS:-100000}
VISITS=${VISITS:-500000}
CHUNK=${CHUNK:-1000000}
RUNS=${RUNS:-5}
PG_ADMIN=${PG_ADMIN:-postgres://postgres@127.0.0.1:5432/postgres}
PG_DB=${PG_DB:-keqing_perf_bench}
PG_URL=${PG_ADMIN%/*}/$PG_DB
DATA=bench/data/performance-$ORDERS
mkdir -p "$DATA"
if [ -z "${KEQING:-}" ]; then
    cargo build --release -q -p keqing
    KEQING=target/release/keqing
fi
BACKENDS=${1:-sqlite postgres}

sub() {  # the SQL file with the sizes put in
    sed -e "s/@SELLERS@/$SELLERS/g" -e "s/@CUSTOMERS@/$CUSTOMERS/g" -e "s/@VISITS@/$VISITS/g" \
        -e "s/@FROM@/${FROM:-1}/g" -e "s/@TO@/${TO:-1}/g" "$1"
}
secs() { python3 -c "import time; print(time.time())"; }
took() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f} s')" "$1" "$(secs)"; }

orders_in_chunks() {  # FILE CLIENT…: orders 1…ORDERS, CHUNK at a time, each its own statement and transaction
    local file=$1; shift
    local from=1
    while [ "$from" -le "$ORDERS" ]; do
        local to=$((from + CHUNK - 1)); [ "$to" -le "$ORDERS" ] || to=$ORDERS
        FROM=$from TO=$to sub "$file" | "$@"
        from=$((to + 1))
    done
}

populate_sqlite() {
    local db=$1
    rm -f "$db" "$db-wal" "$db-shm"
    echo 'bench-password-1' | "$KEQING" user add bench --role admin --password-stdin --db "sqlite://$db" >/dev/null
    local t0; t0=$(secs)
    sub $HERE/gen-sqlite.sql | sqlite3 "$db" >/dev/null
    echo "  $SELLERS sellers, $CUSTOMERS customers, $VISITS visits (through the triggers): $(took "$t0")"
    t0=$(secs)
    orders_in_chunks $HERE/orders-sqlite.sql sqlite3 "$db"
    echo "  $ORDERS orders, $CHUNK a statement, perf_daily kept by the row triggers: $(took "$t0")"
    t0=$(secs)
    echo "  check: $(sqlite3 "$db" < $HERE/check-sqlite.sql) ($(took "$t0"))"
    sqlite3 "$db" 'ANALYZE; PRAGMA wal_checkpoint(TRUNCATE);' >/dev/null
    echo "  $(sqlite3 "$db" "SELECT count(*) || ' orders, ' || (SELECT count(*) FROM perf_daily) || ' perf_daily rows' FROM orders"), $(du -h "$db" | cut -f1)"
}

populate_pg() {
    psql -q "$PG_ADMIN" -c "DROP DATABASE IF EXISTS $PG_DB" -c "CREATE DATABASE $PG_DB" >/dev/null
    echo 'bench-password-1' | "$KEQING" user add bench --role admin --password-stdin --db "$PG_URL" >/dev/null
    local t0; t0=$(secs)
    sub $HERE/gen-pg.sql | psql -q "$PG_URL" >/dev/null
    echo "  $SELLERS sellers, $CUSTOMERS customers, $VISITS visits (through the triggers): $(took "$t0")"
    t0=$(secs)
    orders_in_chunks $HERE/orders-pg.sql psql -q "$PG_URL"
    echo "  $ORDERS orders, $CHUNK a statement, perf_daily kept by the statement triggers: $(took "$t0")"
    t0=$(secs)
    echo "  check: $(psql -qAt "$PG_URL" < $HERE/check-pg.sql) ($(took "$t0"))"
    psql -q "$PG_URL" -c 'VACUUM ANALYZE' >/dev/null
    echo "  $(psql -qAt "$PG_URL" -c "SELECT count(*) || ' orders, ' || (SELECT count(*) FROM perf_daily) || ' perf_daily rows, ' || pg_size_pretty(pg_database_size(current_database())) FROM orders")"
}

median_of() {  # median of the numbers on stdin
    python3 -c "import sys, statistics; xs = [float(x) for x in sys.stdin.read().split()]; print(f'{statistics.median(xs):.1f} ms (min {min(xs):.1f}, max {max(xs):.1f}, {len(xs)} runs)')"
}

sql_times_sqlite() {  # FILE: the query's wall time in the sqlite3 shell, RUNS times after a warm-up
    { echo '.timer on'; for _ in $(seq 0 "$RUNS"); do grep -v '^--' "$2"; done; } | sqlite3 "$1" \
        | grep '^Run Time' | tail -n +2 | awk '{print $4 * 1000}' | median_of
}
sql_times_pg() {
    { echo '\timing on'; for _ in $(seq 0 "$RUNS"); do grep -v '^--' "$1"; done; } | psql -q "$PG_URL" \
        | grep '^Time:' | tail -n +2 | awk '{print $2}' | median_of
}

exec > >(tee -a "$DATA/results.txt") 2>&1
echo "keqing performance benchmark: $SELLERS sellers, $ORDERS orders, $(nproc) cores, $(date -u '+%F %H:%M') UTC, $KEQING, load $(cut -d' ' -f1-3 /proc/loadavg)"
PORT=${PORT:-18191}
. bench/platform/serve.sh
for backend in $BACKENDS; do
    case $backend in
        sqlite) URL=sqlite://$PWD/$DATA/bench.db ;;
        postgres) URL=$PG_URL ;;
        *) echo "unknown backend $backend"; exit 2 ;;
    esac
    echo "== $backend"
    if [ "${REUSE:-0}" != 1 ]; then
        if [ "$backend" = sqlite ]; then populate_sqlite "$DATA/bench.db"; else populate_pg; fi
    fi
    serve "$KEQING" "$URL" $PORT "$DATA/serve-$backend.log"
    [ "${REUSE:-0}" = 1 ] || python3 -u $HERE/kpi.py 127.0.0.1 $PORT "$TOKEN" "$SELLERS" targets "$RUNS" | sed 's/^/  /'
    echo "  KPI figures (API, one keep-alive connection, after a warm-up):"
    python3 -u $HERE/kpi.py 127.0.0.1 $PORT "$TOKEN" "$SELLERS" kpi "$RUNS" | grep -v '^{' | sed 's/^/    /'
    echo "  every seller × 12 months of 2026 in SQL (the sqlite3 / psql shell's wall time):"
    echo "    store = the store's actuals query (perf_monthly, perf_daily); peer = one GROUP BY over the raw orders"
    if [ "$backend" = sqlite ]; then
        echo "    store: $(sql_times_sqlite "$DATA/bench.db" $HERE/actuals-sqlite.sql)"
        echo "    peer:  $(sql_times_sqlite "$DATA/bench.db" $HERE/peer-sqlite.sql)"
    else
        echo "    store: $(sql_times_pg $HERE/actuals-pg.sql)"
        echo "    peer:  $(sql_times_pg $HERE/peer-pg.sql)"
    fi
    echo "  dashboard calls (one keep-alive connection, 200 requests each after 3 warm-ups):"
    python3 -u $HERE/kpi.py 127.0.0.1 $PORT "$TOKEN" "$SELLERS" latency 200 | grep -v '^{' | sed 's/^/    /'
    echo "  server peak RSS: $(( $(grep VmHWM /proc/$SERVER/status | awk '{print $2}') / 1024 )) MB"
    kill $SERVER; wait $SERVER 2>/dev/null || true
done
echo "load at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
