-- perf_daily's order metrics as the triggers made them, against one GROUP BY
-- over all the orders (the schema's china_day, as the triggers use): both
-- differences must be empty.
\set ON_ERROR_STOP on
CREATE TEMP TABLE g AS
    SELECT coalesce(seller_id, 0) AS u, china_day(ordered_at) AS d,
           sum(amount_fen)::bigint AS a, sum(quantity)::bigint AS q
    FROM orders GROUP BY 1, 2;
CREATE TEMP TABLE grouped AS SELECT 1 AS metric, u AS user_id, d AS day, a AS value FROM g
    UNION ALL SELECT 2, u, d, q FROM g;
SELECT format('perf_daily rows made by the triggers: %s, by the GROUP BY: %s, differing: %s',
    (SELECT count(*) FROM perf_daily WHERE metric IN (1, 2)),
    (SELECT count(*) FROM grouped),
    (SELECT count(*) FROM (
        (SELECT metric, user_id, day, value FROM perf_daily WHERE metric IN (1, 2)
         EXCEPT SELECT metric, user_id, day, value FROM grouped)
        UNION ALL
        (SELECT metric, user_id, day, value FROM grouped
         EXCEPT SELECT metric, user_id, day, value FROM perf_daily WHERE metric IN (1, 2))) x));
-- perf_monthly as its triggers made it, against perf_daily summed by month.
SELECT format('perf_monthly rows: %s, differing from perf_daily by month: %s',
    (SELECT count(*) FROM perf_monthly WHERE value <> 0),
    (SELECT count(*) FROM (
        (SELECT metric, user_id, month, value FROM perf_monthly WHERE value <> 0
         EXCEPT SELECT metric, user_id, date_trunc('month', day)::date, sum(value)::bigint FROM perf_daily
            GROUP BY 1, 2, 3 HAVING sum(value) <> 0)
        UNION ALL
        (SELECT metric, user_id, date_trunc('month', day)::date, sum(value)::bigint FROM perf_daily
            GROUP BY 1, 2, 3 HAVING sum(value) <> 0
         EXCEPT SELECT metric, user_id, month, value FROM perf_monthly WHERE value <> 0)) x));
