-- Orders @FROM@ … @TO@, the same as orders-sqlite.sql's. With @REPLICA@ the
-- session does not fire triggers (session_replication_role = replica: the
-- bulk phase; perf_daily is refilled by fill-pg.sql afterwards).
\set ON_ERROR_STOP on
SET session_replication_role = @REPLICA@;
INSERT INTO orders (customer_id, ordered_at, amount_fen, quantity, product, channel, seller_id)
    SELECT 1 + (i * 7919) % @CUSTOMERS@,
           to_timestamp(1735660800 + (i * 2246822519) % 60912000),
           ((i * 40503) % 900 + 50) * (70 + ((((i * 7919) % @CUSTOMERS@) % @SELLERS@) * 37) % 61),
           1 + (i * 31) % 20,
           '大箱', '线下',
           1001 + ((i * 7919) % @CUSTOMERS@) % @SELLERS@
    FROM generate_series(@FROM@::bigint, @TO@) i;
