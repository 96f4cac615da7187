# Sourced by the platform benchmarks: `serve BIN DB_URL PORT LOG` starts
# `keqing serve` (stopped when the script exits), waits for /healthz and logs
# in as the benchmarks' user (bench / bench-password-1), setting SERVER and
# TOKEN.
serve() {
  "$1" serve --db "$2" --addr "127.0.0.1:$3" > "$4" 2>&1 &
  SERVER=$!
  trap 'kill $SERVER 2>/dev/null || true' EXIT
  for _ in $(seq 1 150); do curl -sf "http://127.0.0.1:$3/healthz" >/dev/null && break; sleep 0.2; done
  TOKEN=$(curl -sf -XPOST "http://127.0.0.1:$3/api/v1/auth/login" -H 'content-type: application/json' \
    -d '{"username":"bench","password":"bench-password-1"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
}
