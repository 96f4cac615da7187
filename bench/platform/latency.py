"""Latency of search and the customer page, one keep-alive connection, as a user's browser sees it."""
import http.client
import json
import random
import sys
import time

host, port, token, n = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
# 300 samples a case; broad queries (one character, two letters: a large share
# of all customers match and are counted) get 30.
SLOW = ("1 char", "2 letters")
rng = random.Random(7)
conn = http.client.HTTPConnection(host, port)
headers = {"Authorization": f"Bearer {token}"}
brand = list("恒远华盛鑫源泰和宏达金瑞德丰永安瑞祥通达博远天成万嘉鼎信隆昌广宇新科海川明辉")


def get(path):
    t = time.perf_counter()
    conn.request("GET", path, headers=headers)
    r = conn.getresponse()
    body = r.read()
    dt = (time.perf_counter() - t) * 1000
    if r.status != 200:
        raise SystemExit(f"{path}: {r.status} {body[:200]}")
    return dt, body


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * p / 100))]


from urllib.parse import quote

cases = {
    "search: name part (2 chars)": lambda: f"/api/v1/customers?q={quote(rng.choice(brand) + rng.choice(brand))}",
    "search: pinyin (full)": lambda: "/api/v1/customers?q=" + rng.choice(["hengyuan", "huasheng", "xinyuan", "taihe", "hongda", "jinrui"]),
    "search: pinyin initials": lambda: "/api/v1/customers?q=" + rng.choice(["njhy", "hzhs", "szxy", "shth", "gzhd"]),
    "search: name, 1 char (broad)": lambda: f"/api/v1/customers?q={quote(rng.choice(brand))}",
    "search: pinyin, 2 letters (broad)": lambda: "/api/v1/customers?q=" + rng.choice(["he", "yu", "xi", "ta", "ho"]),
    "search: phone suffix (6 digits)": lambda: f"/api/v1/customers?q={rng.randint(0, n - 1) % 1000000:06d}",
    "customer page: file": lambda: f"/api/v1/customers/{rng.randint(1, n)}",
    "customer page: contacts": lambda: f"/api/v1/customers/{rng.randint(1, n)}/contacts",
}
results = {}
for name, path in cases.items():
    samples = 30 if any(k in name for k in SLOW) else 300
    for _ in range(3):  # warm up
        get(path())
    xs = [get(path())[0] for _ in range(samples)]
    results[name] = {"p50_ms": round(pct(xs, 50), 2), "p99_ms": round(pct(xs, 99), 2)}
    print(f"{name:36} p50 {results[name]['p50_ms']:8.2f} ms   p99 {results[name]['p99_ms']:8.2f} ms   ({samples} requests)", flush=True)
print(json.dumps(results))
