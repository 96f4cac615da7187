-- The store's actuals query (keqing-store postgres/performance.rs, grain
-- month) for every seller × the 12 months of 2026, on perf_daily.
SELECT user_id, date_trunc('month', day)::date AS period, sum(value)::bigint FROM perf_daily
WHERE metric = 1 AND day BETWEEN '2026-01-01' AND '2026-12-31'
GROUP BY 1, 2 HAVING sum(value) <> 0 ORDER BY 2, 1;
