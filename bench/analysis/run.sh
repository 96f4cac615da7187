#!/usr/bin/env bash
# RFM and CLV benchmark: keqing against DuckDB, Polars, pandas and lifetimes on
# the same generated file in the same run. Usage: bench/analysis/run.sh [--small]
#   --small   1,000,000 rows / 100,000 customers (default 10,000,000 / 1,000,000)
# Environment: KEQING_BIN (default target/release/keqing, used as `$KEQING_BIN analyze ...`;
#   when unset, the script builds it with `cargo build --release -p keqing` first);
#   KEQING_ANALYZE_CMD overrides the whole prefix (e.g. the example binary, which takes no `analyze`).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
ROWS=10000000
CUSTOMERS=1000000
CLV_ROWS=1000000
SKIP_PANDAS=${SKIP_PANDAS:-0}
for arg in "$@"; do
  case $arg in
    --small) ROWS=1000000; CUSTOMERS=100000 ;;
    --no-pandas) SKIP_PANDAS=1 ;;
    *) echo "unknown option $arg" >&2; exit 2 ;;
  esac
done

VENV=bench/.venv
if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c "import duckdb, polars, pandas, lifetimes" 2>/dev/null; then
  echo "== creating $VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q -r bench/analysis/requirements.txt
fi
PY="$VENV/bin/python"
HELP=bench/analysis/bench.py

mkdir -p bench/data
DATA=bench/data/tx_${ROWS}.csv
CLV_DATA=bench/data/tx_clv_bgnbd_${CLV_ROWS}.csv
# Generated data covers 2024-01-01 .. 2025-12-30; as-of = the day after.
AS_OF=2025-12-31
CLV_AS_OF=2025-12-30
[ -s "$DATA" ] || { echo "== generating $DATA"; "$PY" $HELP gen "$DATA" $ROWS $CUSTOMERS 20261123; }
[ -s "$CLV_DATA" ] || { echo "== generating $CLV_DATA"; "$PY" $HELP gen-clv "$CLV_DATA" $CLV_ROWS 7; }

if [ -n "${KEQING_ANALYZE_CMD:-}" ]; then
  read -r -a KQ <<< "$KEQING_ANALYZE_CMD"
else
  if [ -z "${KEQING_BIN:-}" ]; then
    echo "== cargo build --release -p keqing"
    cargo build --release -p keqing
  fi
  KQ=("${KEQING_BIN:-${CARGO_TARGET_DIR:-target}/release/keqing}" analyze)
  if ! "${KQ[@]}" rfm --help >/dev/null 2>&1; then
    echo "== ${KQ[*]} not available yet; using the keqing-analysis example binary"
    cargo build --release -p keqing-analysis --features cli --example keqing_analyze
    KQ=("${CARGO_TARGET_DIR:-target}/release/examples/keqing_analyze")
  fi
fi

OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
echo "== machine: $(nproc) cores; file $DATA ($(du -h "$DATA" | cut -f1)); rows $ROWS"
cat "$DATA" > /dev/null  # warm the page cache so every tool reads from memory
echo "== RFM (wall time, peak RSS)"
"$PY" $HELP measure keqing-rfm "$OUT" -- "${KQ[@]}" rfm --input "$DATA" --as-of $AS_OF --summary-only --format json
"$PY" $HELP measure rfm-duckdb "$OUT" -- "$PY" $HELP rfm-duckdb "$DATA" $AS_OF
"$PY" $HELP measure rfm-polars "$OUT" -- "$PY" $HELP rfm-polars "$DATA" $AS_OF
if [ "$SKIP_PANDAS" != 1 ]; then
  "$PY" $HELP measure rfm-pandas "$OUT" -- "$PY" $HELP rfm-pandas "$DATA" $AS_OF
fi
echo "== CLV on $CLV_DATA"
"$PY" $HELP measure keqing-clv "$OUT" -- "${KQ[@]}" clv --input "$CLV_DATA" --as-of $CLV_AS_OF --freq W --summary-only --format json
"$PY" $HELP measure clv-lifetimes "$OUT" -- "$PY" $HELP clv-lifetimes "$CLV_DATA" $CLV_AS_OF
"$PY" $HELP report "$OUT"
