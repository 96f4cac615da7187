"""Benchmark helper for bench/analysis/run.sh.

Subcommands:
  gen OUT ROWS CUSTOMERS SEED     synthetic skewed transactions (customer_id,order_date,amount)
  gen-clv OUT ROWS SEED           transactions drawn from a BG/NBD + Gamma-Gamma process
  rfm-duckdb|rfm-polars|rfm-pandas FILE AS_OF   eight-class counts as JSON
  clv-lifetimes FILE AS_OF        lifetimes BG/NBD + Gamma-Gamma, params as JSON
  measure NAME -- CMD...          run CMD, print wall time and peak RSS as JSON
  report DIR                      compare the runs, print the table and ratios
"""

import json
import os
import sys
import time

CLASSES = [
    "important_value", "important_develop", "important_keep", "important_retain",
    "general_value", "general_develop", "general_keep", "general_retain",
]
# (R high, F high, M high) -> class, as in SPEC §3.
CLASS_OF = {
    (True, True, True): "important_value", (True, False, True): "important_develop",
    (False, True, True): "important_keep", (False, False, True): "important_retain",
    (True, True, False): "general_value", (True, False, False): "general_develop",
    (False, True, False): "general_keep", (False, False, False): "general_retain",
}
START = "2024-01-01"
DAYS = 730


def gen(out, rows, customers, seed):
    import numpy as np
    import polars as pl

    rng = np.random.default_rng(seed)
    # Skewed activity: lognormal weights, so most customers buy once or twice
    # and a few buy very often (like real sales).
    w = rng.lognormal(0.0, 1.6, customers)
    w /= w.sum()
    cust = rng.choice(customers, size=rows, p=w)
    # Big buyers also spend more per order.
    level = rng.lognormal(0.0, 0.6, customers)
    amount = np.round(rng.lognormal(4.6, 0.9, rows) * level[cust], 2)
    amount = np.maximum(amount, 0.01)
    day = rng.integers(0, DAYS, rows)
    df = pl.DataFrame({"c": cust, "d": day, "amount": amount}).with_columns(
        pl.format("C{}", pl.col("c").cast(pl.Utf8).str.zfill(7)).alias("customer_id"),
        (pl.lit(START).str.to_date() + pl.duration(days=pl.col("d"))).alias("order_date"),
    )
    df.select("customer_id", "order_date", "amount").write_csv(out, float_precision=2)


def gen_clv(out, rows, seed):
    """Transactions drawn from the BG/NBD and Gamma-Gamma story itself, so
    that the models have something to find: purchase rate ~ Gamma(r, alpha),
    drop-out after each purchase with probability ~ Beta(a, b), spend per
    purchase ~ Gamma(p, nu) with nu ~ Gamma(q, v)."""
    import numpy as np
    import polars as pl

    rng = np.random.default_rng(seed)
    n = max(rows // 2, 10)
    lam = rng.gamma(0.5, 1 / 10.0, n)  # purchases per day
    drop = rng.beta(2.0, 8.0, n)
    j = np.minimum(rng.geometric(drop), 300)
    birth = rng.uniform(0, DAYS, n)
    idx = np.repeat(np.arange(n), j)
    starts = np.cumsum(j) - j
    gaps = rng.exponential(1.0, idx.size) / lam[idx]
    gaps[starts] = 0.0
    cs = np.cumsum(gaps)
    t = birth[idx] + cs - np.repeat(cs[starts], j)
    keep = t < DAYS
    idx, t = idx[keep][:rows], t[keep][:rows]
    nu = rng.gamma(4.0, 1 / 300.0, n)
    amount = np.maximum(np.round(rng.gamma(6.0, 1.0, idx.size) / nu[idx], 2), 0.01)
    df = pl.DataFrame({"c": idx, "d": t.astype(np.int64), "amount": amount}).with_columns(
        pl.format("C{}", pl.col("c").cast(pl.Utf8).str.zfill(7)).alias("customer_id"),
        (pl.lit(START).str.to_date() + pl.duration(days=pl.col("d"))).alias("order_date"),
    )
    df.select("customer_id", "order_date", "amount").write_csv(out, float_precision=2)


def rfm_duckdb(path, as_of):
    import duckdb

    con = duckdb.connect()
    con.execute("SET threads TO 2")
    q = f"""
    WITH c AS (
      SELECT customer_id, DATE '{as_of}' - max(order_date) AS r, count(*) AS f, sum(amount) AS m
      FROM read_csv('{path}', header = true,
           columns = {{'customer_id': 'VARCHAR', 'order_date': 'DATE', 'amount': 'DECIMAL(18,2)'}})
      WHERE order_date <= DATE '{as_of}'
      GROUP BY customer_id),
    mean AS (SELECT avg(r) AS ar, avg(f) AS af, avg(m) AS am FROM c)
    SELECT r < ar, f > af, m > am, count(*) FROM c, mean GROUP BY ALL
    """
    out = {k: 0 for k in CLASSES}
    for r, f, m, n in con.execute(q).fetchall():
        out[CLASS_OF[(r, f, m)]] += n
    return out


def rfm_polars(path, as_of):
    import datetime as dt
    import polars as pl

    a = dt.date.fromisoformat(as_of)
    c = (
        pl.scan_csv(path, schema_overrides={"customer_id": pl.Utf8, "order_date": pl.Date, "amount": pl.Float64})
        .filter(pl.col("order_date") <= a)
        .group_by("customer_id")
        .agg(
            (pl.lit(a) - pl.col("order_date").max()).dt.total_days().alias("r"),
            pl.len().alias("f"),
            pl.col("amount").sum().alias("m"),
        )
        .select(
            (pl.col("r") < pl.col("r").mean()).alias("rh"),
            (pl.col("f") > pl.col("f").mean()).alias("fh"),
            (pl.col("m") > pl.col("m").mean()).alias("mh"),
        )
        .group_by("rh", "fh", "mh")
        .agg(pl.len().alias("n"))
        .collect()
    )
    out = {k: 0 for k in CLASSES}
    for rh, fh, mh, n in c.iter_rows():
        out[CLASS_OF[(rh, fh, mh)]] += n
    return out


def rfm_pandas(path, as_of):
    import pandas as pd

    df = pd.read_csv(path, dtype={"customer_id": str, "amount": float}, parse_dates=["order_date"])
    a = pd.Timestamp(as_of)
    df = df[df["order_date"] <= a]
    g = df.groupby("customer_id").agg(last=("order_date", "max"), f=("amount", "size"), m=("amount", "sum"))
    r = (a - g["last"]).dt.days
    key = (r < r.mean()).astype(int) * 4 + (g["f"] > g["f"].mean()).astype(int) * 2 + (g["m"] > g["m"].mean()).astype(int)
    out = {k: 0 for k in CLASSES}
    for code, n in key.value_counts().items():
        out[CLASS_OF[(bool(code & 4), bool(code & 2), bool(code & 1))]] += int(n)
    return out


def clv_lifetimes(path, as_of):
    import pandas as pd
    from lifetimes import BetaGeoFitter, GammaGammaFitter
    from lifetimes.utils import summary_data_from_transaction_data

    df = pd.read_csv(path, dtype={"customer_id": str, "amount": float}, parse_dates=["order_date"])
    s = summary_data_from_transaction_data(
        df, "customer_id", "order_date", monetary_value_col="amount", observation_period_end=as_of, freq="W"
    )
    bgf = BetaGeoFitter(penalizer_coef=0.0)
    bgf.fit(s["frequency"], s["recency"], s["T"])
    rep = s[(s["frequency"] > 0) & (s["monetary_value"] > 0)]
    ggf = GammaGammaFitter(penalizer_coef=0.0)
    ggf.fit(rep["frequency"], rep["monetary_value"])
    clv = ggf.customer_lifetime_value(
        bgf, s["frequency"], s["recency"], s["T"], s["monetary_value"], time=12, discount_rate=0.01, freq="W"
    )
    p = bgf.params_
    g = ggf.params_
    return {
        "customers": int(len(s)),
        "params": {"r": p["r"], "alpha": p["alpha"], "a": p["a"], "b": p["b"]},
        "spend_params": {"p": g["p"], "q": g["q"], "v": g["v"]},
        "total_clv": float(clv.sum()),
    }


def measure(name, cmd, outdir):
    import subprocess

    t0 = time.perf_counter()
    with open(os.path.join(outdir, name + ".out"), "wb") as out:
        proc = subprocess.Popen(cmd, stdout=out)
        _, status, ru = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    cpu = ru.ru_utime + ru.ru_stime
    res = {"name": name, "wall_s": round(wall, 3), "cpu_s": round(cpu, 3), "peak_rss_mb": round(ru.ru_maxrss / 1024, 1), "exit": status}
    with open(os.path.join(outdir, name + ".time.json"), "w") as f:
        json.dump(res, f)
    print(f"  {name:<16} {wall:8.2f} s wall {cpu:8.2f} s cpu {ru.ru_maxrss / 1024:8.1f} MB" + ("" if status == 0 else f"  FAILED ({status})"))
    if status != 0:
        sys.exit(1)


def load(outdir, name):
    with open(os.path.join(outdir, name + ".time.json")) as f:
        t = json.load(f)
    with open(os.path.join(outdir, name + ".out")) as f:
        return t, json.load(f)


def sig(x, n=3):
    return float(f"{x:.{n - 1}e}")


def report(outdir):
    ok = True
    with open("/proc/loadavg") as f:
        print("\nload average at the end (other work on the machine inflates wall times):", f.read().split()[:3])
    print("\nRFM eight classes (same file, same run):")
    k_t, k_o = load(outdir, "keqing-rfm")
    ref = {k: v["count"] for k, v in k_o["summary"]["classes"].items()}
    print(f"  {'tool':<10} {'wall s':>8} {'cpu s':>7} {'peak MB':>9} {'time ratio':>11} {'cpu ratio':>10} {'mem ratio':>10}  classes agree")
    rows = [("keqing", k_t, ref)]
    for tool in ("duckdb", "polars", "pandas"):
        name = "rfm-" + tool
        if os.path.exists(os.path.join(outdir, name + ".out")):
            t, o = load(outdir, name)
            rows.append((tool, t, o))
    for tool, t, counts in rows:
        agree = counts == ref
        ok &= agree
        print(
            f"  {tool:<10} {t['wall_s']:8.2f} {t['cpu_s']:7.2f} {t['peak_rss_mb']:9.1f} {t['wall_s'] / k_t['wall_s']:10.1f}x"
            f" {t['cpu_s'] / k_t['cpu_s']:9.1f}x {t['peak_rss_mb'] / k_t['peak_rss_mb']:9.1f}x  {'yes' if agree else 'NO ' + json.dumps(counts)}"
        )
    print("  class counts:", json.dumps(ref))
    duck = [t for tool, t, _ in rows if tool == "duckdb"]
    if duck:
        d = duck[0]
        print(
            f"  goals: keqing ≤ ½ DuckDB wall time: {'met' if k_t['wall_s'] <= d['wall_s'] / 2 else 'NOT met'}"
            f" ({k_t['wall_s']:.2f} vs {d['wall_s']:.2f} s); peak memory ≤ DuckDB's:"
            f" {'met' if k_t['peak_rss_mb'] <= d['peak_rss_mb'] else 'NOT met'}"
        )
    if os.path.exists(os.path.join(outdir, "clv-lifetimes.out")):
        print("\nCLV (BG/NBD + Gamma-Gamma, weeks, 12 months at 1%/month):")
        k_t, k_o = load(outdir, "keqing-clv")
        l_t, l_o = load(outdir, "clv-lifetimes")
        ks = k_o["summary"]
        print(f"  keqing    {k_t['wall_s']:8.2f} s wall {k_t['cpu_s']:6.2f} s cpu {k_t['peak_rss_mb']:9.1f} MB")
        print(f"  lifetimes {l_t['wall_s']:8.2f} s wall {l_t['cpu_s']:6.2f} s cpu {l_t['peak_rss_mb']:9.1f} MB")
        print(f"  keqing is {l_t['wall_s'] / k_t['wall_s']:.1f}x faster in wall time, {l_t['cpu_s'] / k_t['cpu_s']:.1f}x in cpu time"
              f" (goal ≥ 30x: {'met' if l_t['wall_s'] >= 30 * k_t['wall_s'] else 'NOT met'})")
        for group in ("params", "spend_params"):
            for k, v in l_o[group].items():
                kv = ks[group][k]
                agree = sig(kv) == sig(v)
                ok &= agree
                print(f"  {group[:-7] or 'purchase'}{'' if group == 'params' else ''} {k:<6} keqing {kv:12.6f} lifetimes {v:12.6f}  {'agree' if agree else 'DIFFER'} (3 s.f.)")
        print(f"  customers keqing {ks['customers']} lifetimes {l_o['customers']}; total CLV keqing {ks['total_clv']:.2f} lifetimes {l_o['total_clv']:.2f}")
    print("\nall checks passed" if ok else "\nSOME CHECKS FAILED")
    sys.exit(0 if ok else 1)


def main():
    cmd = sys.argv[1]
    if cmd == "gen":
        gen(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]))
    elif cmd == "gen-clv":
        gen_clv(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    elif cmd.startswith("rfm-"):
        f = {"rfm-duckdb": rfm_duckdb, "rfm-polars": rfm_polars, "rfm-pandas": rfm_pandas}[cmd]
        print(json.dumps(f(sys.argv[2], sys.argv[3])))
    elif cmd == "clv-lifetimes":
        print(json.dumps(clv_lifetimes(sys.argv[2], sys.argv[3])))
    elif cmd == "measure":
        name, outdir = sys.argv[2], sys.argv[3]
        measure(name, sys.argv[sys.argv.index("--") + 1:], outdir)
    elif cmd == "report":
        report(sys.argv[2])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
