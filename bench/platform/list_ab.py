"""Two keqing servers on copies of the same database, asked the same
customer-list and pool pages in turn (A, B, B, A, …), so that a host whose
speed drifts slows both alike: latency of each, and whether they answer
alike (ids of the page and total). Usage:
  python3 bench/platform/list_ab.py PORT_A PORT_B [PAGES]
Logs in as the benchmark's user (run.sh makes it)."""
import http.client
import json
import random
import sys
import time
from urllib.parse import quote

port_a, port_b = int(sys.argv[1]), int(sys.argv[2])
count = int(sys.argv[3]) if len(sys.argv) > 3 else 300


def login(port):
    c = http.client.HTTPConnection("127.0.0.1", port)
    body = json.dumps({"username": "bench", "password": "bench-password-1"})
    c.request("POST", "/api/v1/auth/login", body, {"content-type": "application/json"})
    return json.loads(c.getresponse().read())["token"]


ports = [port_a, port_b]
tokens = {p: login(p) for p in ports}
conns = {p: http.client.HTTPConnection("127.0.0.1", p) for p in ports}
rng = random.Random(3)
provinces = ["江苏", "浙江", "广东", "上海", "北京"]
pages = []
for _ in range(count):
    k = rng.randrange(5)
    if k == 0:
        pages.append(f"/api/v1/customers?province={quote(rng.choice(provinces))}&page={rng.randrange(1, 50)}")
    elif k == 1:
        pages.append(f"/api/v1/customers?stage=potential&page={rng.randrange(1, 50)}")
    elif k == 2:
        pages.append(f"/api/v1/pool?page={rng.randrange(1, 20)}")
    elif k == 3:
        pages.append(f"/api/v1/customers?page={rng.randrange(1, 2000)}&per_page=50")
    else:
        pages.append(f"/api/v1/customers?class=A&province={quote(rng.choice(provinces))}")
latency = {p: [] for p in ports}
same = 0
for i, path in enumerate(pages):
    answers = {}
    for p in ports if i % 2 == 0 else ports[::-1]:
        t0 = time.perf_counter()
        conns[p].request("GET", path, headers={"authorization": "Bearer " + tokens[p]})
        r = conns[p].getresponse()
        d = json.loads(r.read())
        latency[p].append((time.perf_counter() - t0) * 1000)
        answers[p] = (r.status, [x["id"] for x in d.get("items", [])], d.get("total"))
    same += answers[port_a] == answers[port_b]
print(f"{count} pages each; the same answer for {same} of {count}")
for name, p in (("A", port_a), ("B", port_b)):
    ms = sorted(latency[p])
    print(f"  {name} (port {p}): p50 {ms[len(ms) // 2]:.2f} ms  p99 {ms[int(len(ms) * 0.99) - 1]:.2f} ms")
