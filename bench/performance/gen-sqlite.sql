-- Fills a keqing SQLite database (schema made by keqing itself, empty but for
-- the benchmark's administrator) with the performance benchmark's company:
-- @SELLERS@ customer managers in teams of 10 (5 teams a region), their
-- supervisors and a director, @CUSTOMERS@ customers, @VISITS@ visits and
-- @ORDERS@ orders spread over 2025-01-01 … 2026-12-06 (China days).
-- Generated inside the database (recursive CTEs), deterministic: order i
-- goes to customer 1 + (i * 7919) % @CUSTOMERS@, whose owner is the seller.
--
-- perf_daily is kept by the schema's triggers (those of customers and
-- visits here, of orders in orders-sqlite.sql); check-sqlite.sql checks it.
PRAGMA journal_mode = WAL;
PRAGMA synchronous = OFF;
PRAGMA cache_size = -500000;
PRAGMA temp_store = MEMORY;

BEGIN;
WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r WHERE i < @SELLERS@ / 50)
INSERT INTO regions (id, name, created_at)
    SELECT i, printf('基准区域%02d', i), '2024-12-01T00:00:00.000000Z' FROM r;
WITH RECURSIVE t(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM t WHERE i < @SELLERS@ / 10)
INSERT INTO teams (id, name, region)
    SELECT i, printf('基准%03d组', i), printf('基准区域%02d', (i - 1) / 5 + 1) FROM t;
-- Customer managers 1001…, supervisors 100001… (one a team), a director.
WITH RECURSIVE u(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM u WHERE i < @SELLERS@)
INSERT INTO users (id, username, display_name, role, team_id, region, password_hash, active, created_at)
    SELECT 1000 + i, printf('m%04d', i), printf('经理%04d', i), 'manager', (i - 1) / 10 + 1,
           printf('基准区域%02d', (i - 1) / 50 + 1), 'x', 1, '2024-12-01T00:00:00.000000Z' FROM u;
WITH RECURSIVE u(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM u WHERE i < @SELLERS@ / 10)
INSERT INTO users (id, username, display_name, role, team_id, region, password_hash, active, created_at)
    SELECT 100000 + i, printf('s%03d', i), printf('主管%03d', i), 'supervisor', i,
           printf('基准区域%02d', (i - 1) / 5 + 1), 'x', 1, '2024-12-01T00:00:00.000000Z' FROM u;
INSERT INTO users (id, username, display_name, role, password_hash, active, created_at)
    VALUES (200000, 'd001', '总监', 'director', 'x', 1, '2024-12-01T00:00:00.000000Z');
-- Customer c belongs to manager 1000 + 1 + (c - 1) % SELLERS; created over
-- the two years (the new_customers metric, by the customers' trigger).
WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < @CUSTOMERS@)
INSERT INTO customers (id, version, name, pinyin, initials, province, stage, tags, doc, owner_id, team_id,
                       owned_since, created_at, updated_at)
    SELECT i, 1, printf('基准客户%07d有限公司', i), '', '', printf('基准区域%02d', ((i - 1) % @SELLERS@) / 50 + 1),
           'order', '',
           json_object('kind', 'company', 'name', printf('基准客户%07d有限公司', i), 'stage', 'order', 'business_stage', 'existing',
                       'tags', json('[]'), 'key_dates', json('[]'), 'custom', json('{}'), 'key_customer', json('false')),
           1001 + (i - 1) % @SELLERS@, ((i - 1) % @SELLERS@) / 10 + 1,
           strftime('%Y-%m-%dT%H:%M:%S.000000Z', 1735660800 + (i * 2654435761) % 60912000, 'unixepoch'),
           strftime('%Y-%m-%dT%H:%M:%S.000000Z', 1735660800 + (i * 2654435761) % 60912000, 'unixepoch'),
           strftime('%Y-%m-%dT%H:%M:%S.000000Z', 1735660800 + (i * 2654435761) % 60912000, 'unixepoch')
    FROM c;
-- Visits, logged by the customer's owner (the visits metric, by the trigger).
WITH RECURSIVE v(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM v WHERE i < @VISITS@)
INSERT INTO activities (customer_id, user_id, kind, at, doc)
    SELECT 1 + (i * 7919) % @CUSTOMERS@, 1001 + ((i * 7919) % @CUSTOMERS@) % @SELLERS@, 'visit',
           strftime('%Y-%m-%dT%H:%M:%S.000000Z', 1735660800 + (i * 2246822519) % 60912000, 'unixepoch'),
           json_object('kind', 'visit', 'contact_id', NULL,
                       'at', strftime('%Y-%m-%dT%H:%M:%SZ', 1735660800 + (i * 2246822519) % 60912000, 'unixepoch'),
                       'summary', '拜访')
    FROM v;
COMMIT;
