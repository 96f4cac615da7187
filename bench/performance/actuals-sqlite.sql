-- The store's actuals query (keqing-store sqlite/performance.rs, grain
-- month) for every seller × the 12 months of 2026, on perf_daily.
SELECT user_id, substr(day, 1, 8) || '01' AS period, sum(value) FROM perf_daily
WHERE metric = 1 AND day BETWEEN '2026-01-01' AND '2026-12-31'
GROUP BY user_id, period HAVING sum(value) <> 0 ORDER BY period, user_id;
