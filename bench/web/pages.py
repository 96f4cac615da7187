"""Server time of the API calls each workbench page makes, as the browser makes
them (one keep-alive connection), p50 and p95 over the samples."""
import http.client
import json
import random
import sys
import time
from urllib.parse import quote

host, port, token, n, samples = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
rng = random.Random(11)
conn = http.client.HTTPConnection(host, port)
H = {"Authorization": f"Bearer {token}"}
today = time.strftime("%Y-%m-%d")


def get(path):
    t = time.perf_counter()
    conn.request("GET", path, headers=H)
    r = conn.getresponse()
    r.read()
    return (time.perf_counter() - t) * 1000, r.status


def cid():
    return rng.randint(1, n)


def me():
    conn.request("GET", "/api/v1/auth/me", headers=H)
    r = conn.getresponse()
    return json.loads(r.read())["id"]


uid = me()


pages = {
    # The tasks, then one request naming their customers (30 here), as day.js makes them.
    "my day": lambda: [f"/api/v1/care/tasks?status=open&to={today}&owner={uid}&per_page=500", "/api/v1/changes?overdue=true", "/api/v1/work/incomplete",
                       "/api/v1/pool?per_page=8", "/api/v1/customers?ids=" + ",".join(str(cid()) for _ in range(30))],
    # A manager's my day asks for their own compliance today (quota, cadence);
    # the administrator's answer covers every manager, an upper bound.
    "my day (compliance, every manager)": lambda: [f"/api/v1/care/compliance?from={today}&to={today}"],
    "customers (first page)": lambda: ["/api/v1/customers?page=1&per_page=20", "/api/v1/regions"],
    "customers (phone search)": lambda: [f"/api/v1/customers?q={rng.randint(0, n - 1) % 1000000:06d}"],
    "customers (name search)": lambda: ["/api/v1/customers?q=" + quote(rng.choice("恒远华盛鑫源泰和宏达") + rng.choice("恒远华盛鑫源泰和宏达"))],
    "customer 360": lambda: (lambda i: [f"/api/v1/customers/{i}", f"/api/v1/customers/{i}/contacts", f"/api/v1/customers/{i}/activities",
                                         f"/api/v1/customers/{i}/orders", f"/api/v1/customers/{i}/history", f"/api/v1/customers/{i}/completeness",
                                         "/api/v1/custom-fields", f"/api/v1/customers/{i}/occasions?days=60"])(cid()),
    "administration (users, teams, regions, roles)": lambda: ["/api/v1/users", "/api/v1/teams", "/api/v1/regions", "/api/v1/roles"],
    "administration (care settings, templates)": lambda: ["/api/v1/care/settings", "/api/v1/care/templates"],
    "administration (audit log)": lambda: ["/api/v1/audit?limit=100"],
}
out = {}
for name, calls in pages.items():
    k = max(3, samples // 10) if "name search" in name else samples
    times = []
    for _ in range(k):
        total = 0.0
        for p in calls():
            dt, status = get(p)
            if status >= 500:
                raise SystemExit(f"{p}: {status}")
            total += dt
        times.append(total)
    times.sort()
    p50, p95 = times[len(times) // 2], times[min(len(times) - 1, int(len(times) * 0.95))]
    out[name] = {"p50_ms": round(p50, 2), "p95_ms": round(p95, 2), "requests": k}
    print(f"{name:42} p50 {p50:9.2f} ms   p95 {p95:9.2f} ms   ({k} page loads, all its API calls)", flush=True)
print(json.dumps(out))
