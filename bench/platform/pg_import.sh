#!/usr/bin/env bash
# Import speed on PostgreSQL (issue 2: a team runs the same binary on it):
# the first N customers of the platform benchmark's file (default 200,000),
# their second contacts, and the same customers file again (a re-run creates
# nothing), into a fresh database `kqbench` on the local cluster; then the
# search and page latency on it (`latency.py`, as `run.sh` measures SQLite).
# Usage: bench/platform/pg_import.sh [N] [BIN]   (BIN: default target/release/keqing)
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${1:-200000}
K=${2:-target/release/keqing}
[ "$K" = target/release/keqing ] && cargo build --release -q -p keqing
DATA=bench/data/platform-1000000
[ -f "$DATA/customers.csv" ] || { mkdir -p "$DATA"; python3 bench/platform/gen.py 1000000 "$DATA"; }
head -n $((N + 1)) "$DATA/customers.csv" > "$DATA/pg-customers-$N.csv"
head -n $((N + 1)) "$DATA/contacts.csv" > "$DATA/pg-contacts-$N.csv"
URL=postgres://postgres@127.0.0.1:5432/kqbench
# WITH (FORCE): a server left running on it does not stop the run.
psql -q -h 127.0.0.1 -U postgres -d postgres -c "DROP DATABASE IF EXISTS kqbench WITH (FORCE)" -c "CREATE DATABASE kqbench"
secs() { local s e; s=$(date +%s.%N); "$@" > /dev/null; e=$(date +%s.%N); echo "$e - $s" | bc; }
echo "keqing PostgreSQL import: $N customers; $(nproc) cores; $(date -u '+%F %H:%M') UTC"
printf 'customers:             %6.1f s\n' "$(secs "$K" import customers "$DATA/pg-customers-$N.csv" --db $URL)"
printf 'second contacts:       %6.1f s\n' "$(secs "$K" import contacts "$DATA/pg-contacts-$N.csv" --db $URL)"
printf 'customers again:       %6.1f s\n' "$(secs "$K" import customers "$DATA/pg-customers-$N.csv" --db $URL)"
psql -h 127.0.0.1 -U postgres -d kqbench -tAc "SELECT 'stored: ' || (SELECT count(*) FROM customers) || ' customers, ' || (SELECT count(*) FROM contacts) || ' contacts'"
echo 'bench-password-1' | "$K" user add bench --role admin --password-stdin --db $URL >/dev/null
PORT=18183
. bench/platform/serve.sh
serve "$K" "$URL" $PORT "$DATA/pg-serve.log"
echo "latency on PostgreSQL (sequential, keep-alive):"
python3 -u bench/platform/latency.py 127.0.0.1 $PORT "$TOKEN" "$N" | grep --line-buffered -v '^{' | sed -u 's/^/  /'
