#!/usr/bin/env bash
# Care task generation benchmark (SPEC §4, §11): one day's tasks for
# 1,000,000 customers with 2,000,000 contacts on SQLite.
# Goal: generation ≤ 5 s wall, ≤ 500 MB resident.
#
#   bench/care/run.sh                 # builds, populates once, measures
#   DAY=2026-09-25 bench/care/run.sh  # a festival day (every contact greeted)
#   CUSTOMERS=100000 bench/care/run.sh
#   KEQING=old/keqing DB=old.db bench/care/run.sh   # another build, another database
#   PREV=2026-09-25 DAY=2026-10-01 bench/care/run.sh  # two festivals six days apart
#
# PREV stores that day's tasks first (not timed): a festival a few days
# before lies in the frequency cap's window, so the measured day reads its
# two million tasks too.
#
# Only generation is timed: the database is filled once (populate.py, a
# direct bulk path) and kept in $DB; each measured run starts with an empty
# task table. /usr/bin/time -v gives the peak RSS of the process and its
# CPU time (user + sys), steadier than the wall time on a shared machine;
# the load average is /proc/loadavg's when the run ended.
set -euo pipefail
cd "$(dirname "$0")/../.."
mkdir -p bench/data
CUSTOMERS=${CUSTOMERS:-1000000}
DAY=${DAY:-2026-11-23}
DB=${DB:-$PWD/bench/data/care-$CUSTOMERS.db}
# KEQING=path/to/keqing measures another build (an earlier commit's) instead.
if [ -z "${KEQING:-}" ]; then
    export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}
    cargo build --release -q -p keqing
    KEQING=$CARGO_TARGET_DIR/release/keqing
fi

if [ ! -s "$DB" ]; then
    rm -f "$DB" "$DB-wal" "$DB-shm"
    # Creates the schema (migrations run on open); nothing to plan yet.
    "$KEQING" care run --from 2000-01-01 --db "sqlite://$DB" >/dev/null 2>&1
    python3 bench/care/populate.py "$DB" "$CUSTOMERS"
fi
python3 - "$DB" <<'PY'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1]); c.execute("DELETE FROM care_tasks"); c.commit()
print("customers %d, contacts %d, activities %d" % tuple(
    c.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("customers", "contacts", "activities")))
PY

measure() {
    local label=$1
    /usr/bin/time -v "$KEQING" care run --from "$DAY" --to "$DAY" --db "sqlite://$DB" \
        >"$DB.out" 2>"$DB.time"
    cat "$DB.out"
    local took wall rss user sys
    took=$(grep -oP '^took \K[0-9.]+' "$DB.time")
    wall=$(grep -oP 'Elapsed \(wall clock\) time.*: \K.*' "$DB.time")
    rss=$(grep -oP 'Maximum resident set size \(kbytes\): \K[0-9]+' "$DB.time")
    user=$(grep -oP 'User time \(seconds\): \K[0-9.]+' "$DB.time")
    sys=$(grep -oP 'System time \(seconds\): \K[0-9.]+' "$DB.time")
    printf '%-22s generation %6s s   process wall %s   CPU %s s (user %s + sys %s)   max RSS %d MB   load %s\n' \
        "$label" "$took" "$wall" "$(awk "BEGIN { printf \"%.2f\", $user + $sys }")" "$user" "$sys" "$((rss / 1024))" \
        "$(cut -d' ' -f1-3 /proc/loadavg)"
}
if [ -n "${PREV:-}" ]; then
    "$KEQING" care run --from "$PREV" --to "$PREV" --db "sqlite://$DB" >/dev/null 2>&1
    echo "(the tasks of $PREV stored first)"
fi
echo "== $DAY, $CUSTOMERS customers =="
measure "first run"
measure "re-run (idempotent)"
