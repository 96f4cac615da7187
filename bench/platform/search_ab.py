"""Two keqing servers on copies of the same database, asked the same searches
in turn (A, B, B, A, …), so that a host whose speed drifts slows both alike:
latency of each, and whether they answer alike (ids of the first page and
total). Usage:
  python3 bench/platform/search_ab.py PORT_A PORT_B [QUERIES] [KIND]
KIND: name2 (two characters of the benchmark's brand words, default),
pinyin, initials, short (one or two letters of pinyin) or char (one character). Logs in as the benchmark's user (run.sh makes it)."""
import http.client
import json
import random
import sys
import time
from urllib.parse import quote

port_a, port_b = int(sys.argv[1]), int(sys.argv[2])
count = int(sys.argv[3]) if len(sys.argv) > 3 else 600
kind = sys.argv[4] if len(sys.argv) > 4 else "name2"
brand = list("恒远华盛鑫源泰和宏达金瑞德丰永安瑞祥通达博远天成万嘉鼎信隆昌广宇新科海川明辉")
rng = random.Random(5)
make = {
    "name2": lambda: quote(rng.choice(brand) + rng.choice(brand)),
    "pinyin": lambda: rng.choice(["hengyuan", "huasheng", "xinyuan", "taihe", "hongda", "jinrui"]),
    "initials": lambda: rng.choice(["njhy", "hzhs", "szxy", "shth", "gzhd"]),
    # What a search box is sent at the first keystrokes: broad.
    "short": lambda: rng.choice(["he", "yu", "xi", "ta", "ho", "h", "x"]),
    "char": lambda: quote(rng.choice(brand)),
}[kind]


def login(port):
    c = http.client.HTTPConnection("127.0.0.1", port)
    c.request("POST", "/api/v1/auth/login",
              body=json.dumps({"username": "bench", "password": "bench-password-1"}),
              headers={"content-type": "application/json"})
    token = json.loads(c.getresponse().read())["token"]
    return c, {"Authorization": f"Bearer {token}"}


servers = {"A": login(port_a), "B": login(port_b)}
times = {"A": [], "B": []}
answers = {}
for i in range(count):
    q = make()
    order = ["A", "B"] if i % 2 == 0 else ["B", "A"]
    for which in order:
        c, h = servers[which]
        t = time.perf_counter()
        c.request("GET", f"/api/v1/customers?q={q}", headers=h)
        r = c.getresponse()
        body = r.read()
        times[which].append((time.perf_counter() - t) * 1000)
        if r.status != 200:
            raise SystemExit(f"{which} {q}: {r.status} {body[:200]}")
        page = json.loads(body)
        answers.setdefault(q, {})[which] = ([x["id"] for x in page["items"]], page["total"])
same = sum(1 for v in answers.values() if v["A"] == v["B"])
print(f"{kind}: {count} searches each; the same answer for {same} of {len(answers)} distinct queries")
for which, xs in times.items():
    xs.sort()
    print(f"  {which} (port {port_a if which == 'A' else port_b}): p50 {xs[len(xs) // 2]:.2f} ms  p99 {xs[int(len(xs) * 0.99)]:.2f} ms")
