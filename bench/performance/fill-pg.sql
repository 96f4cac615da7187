-- perf_daily's order metrics from one GROUP BY over every order, what the
-- triggers would have made row by row (check-pg.sql compares the two).
\set ON_ERROR_STOP on
SET work_mem = '256MB';
BEGIN;
CREATE TEMP TABLE g ON COMMIT DROP AS
    SELECT coalesce(seller_id, 0) AS u, (ordered_at AT TIME ZONE 'Asia/Shanghai')::date AS d,
           sum(amount_fen)::bigint AS a, sum(quantity)::bigint AS q
    FROM orders GROUP BY 1, 2;
DELETE FROM perf_daily WHERE metric IN (1, 2);
INSERT INTO perf_daily (metric, user_id, day, value)
    SELECT 1, u, d, a FROM g UNION ALL SELECT 2, u, d, q FROM g;
COMMIT;
VACUUM ANALYZE;
