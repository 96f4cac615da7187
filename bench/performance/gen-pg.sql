-- The PostgreSQL twin of gen-sqlite.sql (same company, same orders, value
-- for value), with generate_series. Schema made by keqing itself.
\set ON_ERROR_STOP on
BEGIN;
INSERT INTO regions (id, name, created_at)
    SELECT i, format('基准区域%s', lpad(i::text, 2, '0')), '2024-12-01T00:00:00Z' FROM generate_series(1, @SELLERS@ / 50) i;
INSERT INTO teams (id, name, region)
    SELECT i, format('基准%s组', lpad(i::text, 3, '0')), format('基准区域%s', lpad(((i - 1) / 5 + 1)::text, 2, '0'))
    FROM generate_series(1, @SELLERS@ / 10) i;
INSERT INTO users (id, username, display_name, role, team_id, region, password_hash, active, created_at)
    SELECT 1000 + i, format('m%s', lpad(i::text, 4, '0')), format('经理%s', lpad(i::text, 4, '0')), 'manager', (i - 1) / 10 + 1,
           format('基准区域%s', lpad(((i - 1) / 50 + 1)::text, 2, '0')), 'x', TRUE, '2024-12-01T00:00:00Z'
    FROM generate_series(1, @SELLERS@) i;
INSERT INTO users (id, username, display_name, role, team_id, region, password_hash, active, created_at)
    SELECT 100000 + i, format('s%s', lpad(i::text, 3, '0')), format('主管%s', lpad(i::text, 3, '0')), 'supervisor', i,
           format('基准区域%s', lpad(((i - 1) / 5 + 1)::text, 2, '0')), 'x', TRUE, '2024-12-01T00:00:00Z'
    FROM generate_series(1, @SELLERS@ / 10) i;
INSERT INTO users (id, username, display_name, role, password_hash, active, created_at)
    VALUES (200000, 'd001', '总监', 'director', 'x', TRUE, '2024-12-01T00:00:00Z');
INSERT INTO customers (id, version, name, pinyin, initials, province, stage, tags, doc, owner_id, team_id,
                       owned_since, created_at, updated_at)
    SELECT i, 1, format('基准客户%s有限公司', lpad(i::text, 7, '0')), '', '',
           format('基准区域%s', lpad((((i - 1) % @SELLERS@) / 50 + 1)::text, 2, '0')), 'order', '',
           jsonb_build_object('kind', 'company', 'name', format('基准客户%s有限公司', lpad(i::text, 7, '0')), 'stage', 'order',
                              'business_stage', 'existing', 'tags', '[]'::jsonb, 'key_dates', '[]'::jsonb,
                              'custom', '{}'::jsonb, 'key_customer', false),
           1001 + (i - 1) % @SELLERS@, ((i - 1) % @SELLERS@) / 10 + 1,
           to_timestamp(1735660800 + (i * 2654435761) % 60912000),
           to_timestamp(1735660800 + (i * 2654435761) % 60912000),
           to_timestamp(1735660800 + (i * 2654435761) % 60912000)
    FROM generate_series(1::bigint, @CUSTOMERS@) i;
INSERT INTO activities (customer_id, user_id, kind, at, doc)
    SELECT 1 + (i * 7919) % @CUSTOMERS@, 1001 + ((i * 7919) % @CUSTOMERS@) % @SELLERS@, 'visit',
           to_timestamp(1735660800 + (i * 2246822519) % 60912000),
           jsonb_build_object('kind', 'visit', 'contact_id', NULL,
                              'at', to_char(to_timestamp(1735660800 + (i * 2246822519) % 60912000) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
                              'summary', '拜访')
    FROM generate_series(1::bigint, @VISITS@) i;
SELECT setval(pg_get_serial_sequence('regions', 'id'), (SELECT max(id) FROM regions));
SELECT setval(pg_get_serial_sequence('teams', 'id'), (SELECT max(id) FROM teams));
SELECT setval(pg_get_serial_sequence('users', 'id'), (SELECT max(id) FROM users));
SELECT setval(pg_get_serial_sequence('customers', 'id'), (SELECT max(id) FROM customers));
COMMIT;
