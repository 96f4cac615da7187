-- perf_daily's order metrics as the triggers made them, against one GROUP BY
-- over all the orders: both differences must be empty. (Metric 1 sales in fen, 2 quantity; user 0 =
-- no seller; the China day of ordered_at.)
CREATE TEMP TABLE g AS
    SELECT coalesce(seller_id, 0) AS u, date(ordered_at, '+8 hours') AS d,
           sum(amount_fen) AS a, sum(quantity) AS q
    FROM orders GROUP BY 1, 2;
CREATE TEMP TABLE grouped AS SELECT 1 AS metric, u AS user_id, d AS day, a AS value FROM g
    UNION ALL SELECT 2, u, d, q FROM g;
SELECT 'perf_daily rows made by the triggers: ' || (SELECT count(*) FROM perf_daily WHERE metric IN (1, 2))
    || ', by the GROUP BY: ' || (SELECT count(*) FROM grouped)
    || ', differing: ' || ((SELECT count(*) FROM (
        SELECT metric, user_id, day, value FROM perf_daily WHERE metric IN (1, 2)
        EXCEPT SELECT metric, user_id, day, value FROM grouped))
      + (SELECT count(*) FROM (
        SELECT metric, user_id, day, value FROM grouped
        EXCEPT SELECT metric, user_id, day, value FROM perf_daily WHERE metric IN (1, 2))));
-- perf_monthly as its triggers made it, against perf_daily summed by month.
SELECT 'perf_monthly rows: ' || (SELECT count(*) FROM perf_monthly WHERE value <> 0)
    || ', differing from perf_daily by month: ' || (SELECT count(*) FROM (
        SELECT metric, user_id, month, value FROM perf_monthly WHERE value <> 0
        EXCEPT SELECT metric, user_id, substr(day, 1, 8) || '01', sum(value) FROM perf_daily
            GROUP BY 1, 2, 3 HAVING sum(value) <> 0));
