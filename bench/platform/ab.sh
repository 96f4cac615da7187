#!/usr/bin/env bash
# Two keqing binaries' imports, run in turn (A, B, A, B …) on the platform
# benchmark's files, so that a host whose speed drifts over minutes slows
# both alike. Usage:
#   bench/platform/ab.sh BIN_A BIN_B [PAIRS] [ROWS]
# PAIRS: how many runs of each (default 3). ROWS: the first ROWS customers of
# the 1,000,000-customer file (default all of it, then the second contacts
# file too; with fewer rows only customers are imported).
set -euo pipefail
cd "$(dirname "$0")/../.."
A=$(realpath "$1"); B=$(realpath "$2"); PAIRS=${3:-3}; ROWS=${4:-1000000}
DATA=bench/data/platform-1000000
[ -f "$DATA/customers.csv" ] || { mkdir -p "$DATA"; python3 bench/platform/gen.py 1000000 "$DATA"; }
FILE=$DATA/customers.csv
if [ "$ROWS" -lt 1000000 ]; then
  FILE=$DATA/customers-$ROWS.csv
  [ -f "$FILE" ] || head -n $((ROWS + 1)) "$DATA/customers.csv" > "$FILE"
fi
DB=$DATA/ab.db
secs() { local s e; s=$(date +%s.%N); "$@" > /dev/null; e=$(date +%s.%N); echo "$e - $s" | bc; }
echo "A = $A"; echo "B = $B"; echo "$PAIRS runs each, $ROWS customers, $(date -u '+%F %H:%M') UTC, load $(cut -d' ' -f1-3 /proc/loadavg)"
for i in $(seq 1 "$PAIRS"); do
  for which in A B; do
    bin=$A; [ "$which" = B ] && bin=$B
    rm -f "$DB" "$DB-wal" "$DB-shm"
    c=$(secs "$bin" import customers "$FILE" --db "sqlite://$DB")
    if [ "$ROWS" -ge 1000000 ]; then
      k=$(secs "$bin" import contacts "$DATA/contacts.csv" --db "sqlite://$DB")
      printf '%s run %d: customers %6.1f s  contacts %6.1f s\n' "$which" "$i" "$c" "$k"
    else
      printf '%s run %d: customers %6.2f s\n' "$which" "$i" "$c"
    fi
  done
done
rm -f "$DB" "$DB-wal" "$DB-shm"
