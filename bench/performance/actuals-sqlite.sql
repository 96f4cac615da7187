-- The store's actuals query (keqing-store sqlite/performance.rs, grain
-- month) for every seller × the 12 months of 2026: whole months, so the
-- monthly totals answer and the daily part reads no day.
SELECT user_id, period, sum(value) FROM (
    SELECT user_id, month AS period, value FROM perf_monthly
    WHERE metric = 1 AND month BETWEEN '2026-01-01' AND '2026-12-01'
    UNION ALL
    SELECT user_id, substr(day, 1, 8) || '01' AS period, value FROM perf_daily
    WHERE metric = 1 AND (day BETWEEN '9999-12-31' AND '0001-01-01' OR day BETWEEN '9999-12-31' AND '0001-01-01')
) GROUP BY user_id, period HAVING sum(value) <> 0 ORDER BY period, user_id;
