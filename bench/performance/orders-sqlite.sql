-- Orders @FROM@ … @TO@ of the benchmark (see gen-sqlite.sql): order i is
-- customer 1 + (i * 7919) % @CUSTOMERS@'s, sold by that customer's owner,
-- on a China day of 2025-01-01 … 2026-12-06; its amount depends on the
-- seller (70–130% of the mean), so completions differ and the board ranks.
-- The schema's row triggers add each to perf_daily.
PRAGMA synchronous = OFF;
PRAGMA cache_size = -500000;
BEGIN;
WITH RECURSIVE o(i) AS (SELECT @FROM@ UNION ALL SELECT i + 1 FROM o WHERE i < @TO@)
INSERT INTO orders (customer_id, ordered_at, amount_fen, quantity, product, channel, seller_id)
    SELECT 1 + (i * 7919) % @CUSTOMERS@,
           strftime('%Y-%m-%dT%H:%M:%S.000000Z', 1735660800 + (i * 2246822519) % 60912000, 'unixepoch'),
           ((i * 40503) % 900 + 50) * (70 + ((((i * 7919) % @CUSTOMERS@) % @SELLERS@) * 37) % 61),
           1 + (i * 31) % 20,
           '大箱', '线下',
           1001 + ((i * 7919) % @CUSTOMERS@) % @SELLERS@
    FROM o;
COMMIT;
