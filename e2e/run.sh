#!/usr/bin/env bash
# End-to-end journeys through the web workbench: builds keqing, serves the
# demo company on a free port with a fresh database, runs node's test runner
# against it with Debian's Chromium, and stops the server.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
cd "$root"

if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && apt-get install -y -qq chromium fonts-wqy-microhei >/dev/null
  else
    echo "e2e: /usr/bin/chromium is missing; install Debian's chromium package" >&2
    exit 1
  fi
fi

cargo build -p keqing
target="${CARGO_TARGET_DIR:-$root/target}"
bin="$target/debug/keqing"

if [ ! -d "$here/node_modules/playwright-core" ]; then
  (cd "$here" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund)
fi

tmp="$(mktemp -d)"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
"$bin" serve --demo --db "sqlite://$tmp/e2e.db" --addr "127.0.0.1:$port" >"$tmp/server.log" 2>&1 &
server=$!
cleanup() {
  kill "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

for _ in $(seq 1 240); do
  if curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1; then break; fi
  if ! kill -0 "$server" 2>/dev/null; then cat "$tmp/server.log" >&2; exit 1; fi
  sleep 0.5
done
curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null || { echo "e2e: server did not start" >&2; cat "$tmp/server.log" >&2; exit 1; }

rm -rf "$here/screenshots"
cd "$here"
KEQING_URL="http://127.0.0.1:$port" node --test --test-concurrency=1 "$here"/*.test.js
