#!/usr/bin/env bash
# Platform benchmark (issue 2): import, search, page reads, HTTP load and server
# memory on SQLite with N customers (default 1,000,000) and 2N contacts.
# Usage: bench/platform/run.sh [N]     (figures go to bench/platform/results-N.txt)
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${1:-1000000}
DATA=bench/data/platform-$N
OUT=bench/platform/results-$N.txt
mkdir -p "$DATA"
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
cargo build --release -q -p keqing
K=target/release/keqing
[ -f "$DATA/customers.csv" ] || python3 bench/platform/gen.py "$N" "$DATA"
DB="$DATA/bench.db"
[ "${SKIP_IMPORT:-0}" = 1 ] || rm -f "$OUT"
exec > >(tee -a "$OUT") 2>&1
echo "keqing platform benchmark: $N customers, $((2 * N)) contacts, SQLite; $(nproc) cores; $(date -u +%F)"
# SKIP_IMPORT=1 reuses the database of an earlier run (the import figures are in $OUT already).
if [ "${SKIP_IMPORT:-0}" != 1 ]; then
rm -f "$DB" "$DB-wal" "$DB-shm"

t0=$(date +%s.%N)
/usr/bin/time -f "%M" -o "$DATA/rss-import" $K import customers "$DATA/customers.csv" --db "sqlite://$DB" > "$DATA/import.txt"
t1=$(date +%s.%N)
/usr/bin/time -f "%M" -o "$DATA/rss-contacts" $K import contacts "$DATA/contacts.csv" --db "sqlite://$DB" > "$DATA/contacts.txt"
t2=$(date +%s.%N)
printf 'import customers (+1 contact each): %6.1f s  (peak RSS %d MB)\n' "$(echo "$t1 - $t0" | bc)" "$(( $(cat "$DATA/rss-import") / 1024 ))"
printf 'import contacts (second contact):   %6.1f s  (peak RSS %d MB)\n' "$(echo "$t2 - $t1" | bc)" "$(( $(cat "$DATA/rss-contacts") / 1024 ))"
grep -E "imported|rejected" "$DATA/import.txt" "$DATA/contacts.txt" | sed 's/^/  /'
echo 'bench-password-1' | $K user add bench --role admin --password-stdin --db "sqlite://$DB" >/dev/null
fi

PORT=18181
. bench/platform/serve.sh
serve "$K" "sqlite://$DB" $PORT "$DATA/serve.log"

echo "latency (sequential, keep-alive; 300 requests a case, 30 for broad queries, after 3 warm-ups):"
python3 -u bench/platform/latency.py 127.0.0.1 $PORT "$TOKEN" "$N" | grep --line-buffered -v '^{' | sed -u 's/^/  /'

echo "mixed read load (wrk, 2 threads, 64 connections, 20 s: 60% file, 30% contacts, 10% phone search):"
N=$N TOKEN=$TOKEN wrk -t2 -c64 -d20s -s bench/platform/mixed.lua "http://127.0.0.1:$PORT" | grep -E "Requests/sec|Latency|requests in|Non-2xx" | sed 's/^/  /'
echo "server peak RSS: $(( $(grep VmHWM /proc/$SERVER/status | awk '{print $2}') / 1024 )) MB"
