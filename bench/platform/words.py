"""Searches of one and of several words against one keqing server on the
platform benchmark's database (run.sh, or `keqing import customers` of
gen.py's customers.csv and a user `bench`): each query QUERIES times over
one keep-alive connection, its total, p50 and p99, and whether every name
on its first page holds each Chinese word. Usage:
  python3 bench/platform/words.py PORT [QUERIES]"""
import http.client, json, sys, time
from urllib.parse import quote
port = int(sys.argv[1]); n = int(sys.argv[2]) if len(sys.argv) > 2 else 40
c = http.client.HTTPConnection("127.0.0.1", port)
c.request("POST", "/api/v1/auth/login", body=json.dumps({"username": "bench", "password": "bench-password-1"}), headers={"content-type": "application/json"})
h = {"Authorization": "Bearer " + json.loads(c.getresponse().read())["token"]}
qs = ["恒远", "钢业", "南京", "hengyuan", "njhy", "e", "南", "南京 恒远", "恒远 钢业", "南京 恒远 钢业", "厦门 恒远 医药", "hengyuan gangye", "njhy 钢业", "南京 h", "钢业 hy", "南京 hy", "南京 he", "南京 南", "南京 龙", "南京 e"]
for q in qs:
    xs = []
    for i in range(n):
        t = time.perf_counter()
        c.request("GET", f"/api/v1/customers?q={quote(q)}", headers=h)
        r = c.getresponse(); body = r.read()
        xs.append((time.perf_counter() - t) * 1000)
        assert r.status == 200, body[:200]
    page = json.loads(body)
    xs.sort()
    ok = all(all(w in x["name"] for w in q.split() if not w.isascii()) for x in page["items"])
    print(f"{q:>16}: total {page['total']:>5}{'+' if page['total_capped'] else ' '} p50 {xs[len(xs)//2]:7.2f} ms  p99 {xs[int(len(xs)*0.99)]:7.2f} ms  names ok {ok}")
