"""The performance benchmark's client (issue 26): sets the targets through the
API, then times the KPI calls as the pages make them, on one keep-alive
connection (a browser's), printing medians, p99 and a JSON line.

usage: kpi.py HOST PORT TOKEN SELLERS targets|kpi|latency [RUNS]
"""
import http.client
import json
import statistics
import sys
import time

host, port, token, sellers, what = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), sys.argv[5]
runs = int(sys.argv[6]) if len(sys.argv) > 6 else 5
conn = http.client.HTTPConnection(host, port)
headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
YEAR = 2026
AS_OF = "2026-12-06"  # the last day with orders
MONTH_END = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]


def call(method, path, body=None):
    t = time.perf_counter()
    conn.request(method, path, body=None if body is None else json.dumps(body), headers=headers)
    r = conn.getresponse()
    data = r.read()
    dt = (time.perf_counter() - t) * 1000
    if r.status >= 300:
        raise SystemExit(f"{method} {path}: {r.status} {data[:300]!r}")
    return dt, json.loads(data) if data else None


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * p / 100))]


def targets():
    """Yearly sales targets for 2025 and 2026: every seller (5,200,000 yuan, about
    the mean seller's sales; the sellers sell 70–130% of the mean), visits for
    every seller, and the company's own; months evenly (the API's default)."""
    n = 0
    t0 = time.perf_counter()
    for year in (2025, YEAR):
        call("POST", "/api/v1/targets", {"level": "company", "metric": "sales_amount", "year": year,
                                         "amount": f"{5_200_000 * sellers}.00"})
        n += 1
        for i in range(1, sellers + 1):
            call("POST", "/api/v1/targets", {"level": "user", "subject_id": 1000 + i, "metric": "sales_amount",
                                             "year": year, "amount": "5200000.00"})
            call("POST", "/api/v1/targets", {"level": "user", "subject_id": 1000 + i, "metric": "visits",
                                             "year": year, "amount": "400"})
            n += 2
    print(f"targets: {n} set through the API in {time.perf_counter() - t0:.1f} s")


def month_range(m):
    end = MONTH_END[m - 1] + (1 if m == 2 and YEAR % 4 == 0 else 0)
    return f"{YEAR}-{m:02d}-01", f"{YEAR}-{m:02d}-{end:02d}"


def kpi():
    """KPI figures for every seller × 12 months: the board (level=user, all
    sellers ranked) for each month of the year, 12 calls; and the company's
    12-month series; and every seller's own series (500 calls, as 我的业绩 does
    one each)."""
    out = {}
    totals, rows = [], 0
    for r in range(runs + 1):
        t = 0.0
        rows = 0
        for m in range(1, 13):
            f, to = month_range(m)
            dt, body = call("GET", f"/api/v1/performance/board?level=user&metric=sales_amount&from={f}&to={to}&as_of={AS_OF}")
            t += dt
            rows += len(body["items"])
        if r:  # the first is a warm-up
            totals.append(t)
    out["board_user_12_months_ms"] = statistics.median(totals)
    print(f"board, level=user, 12 months ({rows} figures): median {statistics.median(totals):.0f} ms "
          f"(min {min(totals):.0f}, max {max(totals):.0f}; {runs} runs)")
    ys = []
    for r in range(runs + 1):
        dt, body = call("GET", f"/api/v1/performance/board?level=user&metric=sales_amount&from={YEAR}-01-01&to={YEAR}-12-31&as_of={AS_OF}")
        if r:
            ys.append(dt)
    out["board_user_year_ms"] = statistics.median(ys)
    print(f"board, level=user, the whole year ({len(body['items'])} sellers): median {statistics.median(ys):.0f} ms")
    xs = []
    for r in range(runs + 1):
        dt, body = call("GET", f"/api/v1/performance/series?level=company&metric=sales_amount&year={YEAR}&as_of={AS_OF}")
        if r:
            xs.append(dt)
    out["series_company_ms"] = statistics.median(xs)
    print(f"series, company, 12 months: median {statistics.median(xs):.1f} ms")
    for i in range(1, 11):  # warm-up
        call("GET", f"/api/v1/performance/series?level=user&subject_id={1000 + i}&metric=sales_amount&year={YEAR}&as_of={AS_OF}")
    t = 0.0
    for i in range(1, sellers + 1):
        dt, _ = call("GET", f"/api/v1/performance/series?level=user&subject_id={1000 + i}&metric=sales_amount&year={YEAR}&as_of={AS_OF}")
        t += dt
    out["series_every_seller_ms"] = t
    print(f"series, every seller one call each ({sellers} calls × 12 months): {t:.0f} ms in all, {t / sellers:.1f} ms a call")
    print(json.dumps(out))


def latency():
    """The dashboard's calls (dashboard.js), each `runs` times after 3 warm-ups: p50, p99."""
    m = "2026-12"
    cases = {
        "performance, company, this month": f"/api/v1/performance?level=company&metric=sales_amount&from={m}-01&to={m}-31&as_of={AS_OF}",
        "board, by team, this month": f"/api/v1/performance/board?level=team&metric=sales_amount&from={m}-01&to={m}-31&as_of={AS_OF}",
        "board, by region, this month": f"/api/v1/performance/board?level=region&metric=sales_amount&from={m}-01&to={m}-31&as_of={AS_OF}",
        "board, by seller, this month": f"/api/v1/performance/board?level=user&metric=sales_amount&from={m}-01&to={m}-31&as_of={AS_OF}",
        "board, by team, this year": f"/api/v1/performance/board?level=team&metric=sales_amount&from={YEAR}-01-01&to={YEAR}-12-31&as_of={AS_OF}",
        "series, company, 12 months": f"/api/v1/performance/series?level=company&metric=sales_amount&year={YEAR}&as_of={AS_OF}",
        "series, company, visits": f"/api/v1/performance/series?level=company&metric=visits&year={YEAR}&as_of={AS_OF}",
        "targets, company, this year": f"/api/v1/targets?year={YEAR}&level=company",
    }
    results = {}
    for name, path in cases.items():
        for _ in range(3):
            call("GET", path)
        xs = [call("GET", path)[0] for _ in range(runs)]
        results[name] = {"p50_ms": round(pct(xs, 50), 2), "p99_ms": round(pct(xs, 99), 2)}
        print(f"{name:36} p50 {results[name]['p50_ms']:8.2f} ms   p99 {results[name]['p99_ms']:8.2f} ms   ({runs} requests)", flush=True)
    print(json.dumps(results))


{"targets": targets, "kpi": kpi, "latency": latency}[what]()
