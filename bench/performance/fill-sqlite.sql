-- After the bulk insert (orders' triggers dropped): perf_daily's order
-- metrics from one GROUP BY over every order, what the triggers would have
-- made row by row (check-sqlite.sql compares the two on the first orders).
PRAGMA cache_size = -500000;
PRAGMA temp_store = MEMORY;
BEGIN;
CREATE TEMP TABLE g AS
    SELECT coalesce(seller_id, 0) AS u, date(ordered_at, '+8 hours') AS d,
           sum(amount_fen) AS a, sum(quantity) AS q
    FROM orders GROUP BY 1, 2;
DELETE FROM perf_daily WHERE metric IN (1, 2);
INSERT INTO perf_daily (metric, user_id, day, value)
    SELECT 1, u, d, a FROM g UNION ALL SELECT 2, u, d, q FROM g;
COMMIT;
ANALYZE;
