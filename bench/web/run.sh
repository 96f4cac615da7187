#!/usr/bin/env bash
# Workbench speed (issue 5): server time of each page's API calls on the
# platform benchmark's database (run bench/platform/run.sh first), first paint
# in Chromium, and the bytes of a first load.
# Usage: bench/web/run.sh [N]    (N as given to bench/platform/run.sh, default 1000000)
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${1:-1000000}
DB=bench/data/platform-$N/bench.db
[ -f "$DB" ] || { echo "run bench/platform/run.sh $N first" >&2; exit 1; }
cargo build --release -q -p keqing
K=target/release/keqing
[ -d e2e/node_modules/playwright-core ] || (cd e2e && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund)
PORT=18182
$K serve --db "sqlite://$DB" --addr 127.0.0.1:$PORT > /tmp/keqing-web-bench.log 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.2; done
TOKEN=$(curl -sf -XPOST "http://127.0.0.1:$PORT/api/v1/auth/login" -H 'content-type: application/json' \
  -d '{"username":"bench","password":"bench-password-1"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
exec > >(tee "bench/web/results-$N.txt") 2>&1
echo "keqing workbench benchmark: $N customers (SQLite), $(date -u +%F)"
echo "server time per page (sum of the page's API calls, administrator's view):"
python3 -u bench/web/pages.py 127.0.0.1 $PORT "$TOKEN" "$N" 100 | grep -v '^{' | sed 's/^/  /'
echo "browser (Debian chromium, 1366x768):"
node bench/web/paint.mjs "http://127.0.0.1:$PORT" bench bench-password-1 | sed 's/^/  /'
