-- Orders @FROM@ … @TO@, the same as orders-sqlite.sql's, in one statement:
-- the schema's statement trigger adds them to perf_daily from its
-- transition table.
\set ON_ERROR_STOP on
INSERT INTO orders (customer_id, ordered_at, amount_fen, quantity, product, channel, seller_id)
    SELECT 1 + (i * 7919) % @CUSTOMERS@,
           to_timestamp(1735660800 + (i * 2246822519) % 60912000),
           ((i * 40503) % 900 + 50) * (70 + ((((i * 7919) % @CUSTOMERS@) % @SELLERS@) * 37) % 61),
           1 + (i * 31) % 20,
           '大箱', '线下',
           1001 + ((i * 7919) % @CUSTOMERS@) % @SELLERS@
    FROM generate_series(@FROM@::bigint, @TO@) i;
