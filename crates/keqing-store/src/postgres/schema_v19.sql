-- Version 19: sales performance (SPEC §6); SQLite's version 18.
--
-- An order is credited to its seller: the customer's owner when the order
-- was stored (NULL for a customer in the pool); existing orders take their
-- customer's present owner.
ALTER TABLE orders ADD COLUMN seller_id BIGINT;
UPDATE orders SET seller_id = c.owner_id FROM customers c WHERE c.id = orders.customer_id;

-- Each metric's daily total per person (user 0: nobody), kept by the
-- statement triggers below in the transaction that changes the facts, so
-- that KPI figures read a few thousand rows instead of every order. Days
-- are China's (UTC+8). Metrics: 1 sales (fen), 2 quantity, 3 receivables
-- (fen, fed by the payments table), 4 new customers, 5 visits.
CREATE TABLE perf_daily (
    metric SMALLINT NOT NULL,
    user_id BIGINT NOT NULL,
    day DATE NOT NULL,
    value BIGINT NOT NULL,
    PRIMARY KEY (metric, user_id, day)
) WITH (fillfactor = 70);
-- (Room on each page, so the constant updates of a day's total stay on
-- their page, HOT, instead of bloating the table.)

-- Each metric's monthly total per person, kept from perf_daily by its own
-- statement triggers, so a year's figures read 12 rows a person, not 365;
-- `month` is the month's first day.
CREATE TABLE perf_monthly (
    metric SMALLINT NOT NULL,
    user_id BIGINT NOT NULL,
    month DATE NOT NULL,
    value BIGINT NOT NULL,
    PRIMARY KEY (metric, user_id, month)
) WITH (fillfactor = 70);
CREATE FUNCTION perf_monthly_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO perf_monthly (metric, user_id, month, value)
    SELECT metric, user_id, date_trunc('month', day)::date, sum(value) FROM new_rows
    GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
    ON CONFLICT (metric, user_id, month) DO UPDATE SET value = perf_monthly.value + EXCLUDED.value;
    RETURN NULL;
END $$;
CREATE FUNCTION perf_monthly_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO perf_monthly (metric, user_id, month, value)
    SELECT n.metric, n.user_id, date_trunc('month', n.day)::date, sum(n.value - o.value)
    FROM new_rows n JOIN old_rows o USING (metric, user_id, day)
    GROUP BY 1, 2, 3 HAVING sum(n.value - o.value) <> 0 ORDER BY 1, 2, 3
    ON CONFLICT (metric, user_id, month) DO UPDATE SET value = perf_monthly.value + EXCLUDED.value;
    RETURN NULL;
END $$;
CREATE FUNCTION perf_monthly_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO perf_monthly (metric, user_id, month, value)
    SELECT metric, user_id, date_trunc('month', day)::date, -sum(value) FROM old_rows
    GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
    ON CONFLICT (metric, user_id, month) DO UPDATE SET value = perf_monthly.value + EXCLUDED.value;
    RETURN NULL;
END $$;
CREATE TRIGGER perf_daily_month_insert AFTER INSERT ON perf_daily
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION perf_monthly_insert();
CREATE TRIGGER perf_daily_month_update AFTER UPDATE ON perf_daily
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION perf_monthly_update();
CREATE TRIGGER perf_daily_month_delete AFTER DELETE ON perf_daily
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION perf_monthly_delete();
CREATE FUNCTION china_day(t TIMESTAMPTZ) RETURNS DATE
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT ((t AT TIME ZONE 'UTC') + interval '8 hours')::date $$;
INSERT INTO perf_daily (metric, user_id, day, value)
    SELECT 1, COALESCE(seller_id, 0), china_day(ordered_at), sum(amount_fen)
    FROM orders GROUP BY 2, 3;
INSERT INTO perf_daily (metric, user_id, day, value)
    SELECT 2, COALESCE(seller_id, 0), china_day(ordered_at), sum(quantity)
    FROM orders GROUP BY 2, 3;
INSERT INTO perf_daily (metric, user_id, day, value)
    SELECT 4, COALESCE(owner_id, 0), china_day(created_at), count(*)
    FROM customers GROUP BY 2, 3;
INSERT INTO perf_daily (metric, user_id, day, value)
    SELECT 5, COALESCE(user_id, 0), china_day(at), count(*)
    FROM activities WHERE kind = 'visit' GROUP BY 2, 3;

-- Rows changed by one statement are summed first, then added in key order
-- (a bulk import of a million orders is one upsert per person and day).
-- A transition table exists only for the events that have it: one function
-- per event reads the tables it has.
CREATE FUNCTION perf_orders_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO perf_daily (metric, user_id, day, value)
    SELECT metric, user_id, day, sum(value) FROM (
        SELECT 1 AS metric, COALESCE(seller_id, 0) AS user_id, china_day(ordered_at) AS day, amount_fen AS value FROM new_rows
        UNION ALL SELECT 2, COALESCE(seller_id, 0), china_day(ordered_at), quantity FROM new_rows
    ) x GROUP BY metric, user_id, day ORDER BY metric, user_id, day
    ON CONFLICT (metric, user_id, day) DO UPDATE SET value = perf_daily.value + EXCLUDED.value;
    RETURN NULL;
END $$;
CREATE FUNCTION perf_orders_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO perf_daily (metric, user_id, day, value)
    SELECT metric, user_id, day, sum(value) FROM (
        SELECT 1 AS metric, COALESCE(seller_id, 0) AS user_id, china_day(ordered_at) AS day, -amount_fen AS value FROM old_rows
        UNION ALL SELECT 2, COALESCE(seller_id, 0), china_day(ordered_at), -quantity FROM old_rows
    ) x GROUP BY metric, user_id, day ORDER BY metric, user_id, day
    ON CONFLICT (metric, user_id, day) DO UPDATE SET value = perf_daily.value + EXCLUDED.value;
    RETURN NULL;
END $$;
CREATE FUNCTION perf_orders_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO perf_daily (metric, user_id, day, value)
    SELECT metric, user_id, day, sum(value) FROM (
        SELECT 1 AS metric, COALESCE(seller_id, 0) AS user_id, china_day(ordered_at) AS day, amount_fen AS value FROM new_rows
        UNION ALL SELECT 2, COALESCE(seller_id, 0), china_day(ordered_at), quantity FROM new_rows
        UNION ALL SELECT 1, COALESCE(seller_id, 0), china_day(ordered_at), -amount_fen FROM old_rows
        UNION ALL SELECT 2, COALESCE(seller_id, 0), china_day(ordered_at), -quantity FROM old_rows
    ) x GROUP BY metric, user_id, day HAVING sum(value) <> 0 ORDER BY metric, user_id, day
    ON CONFLICT (metric, user_id, day) DO UPDATE SET value = perf_daily.value + EXCLUDED.value;
    RETURN NULL;
END $$;
CREATE TRIGGER orders_perf_insert AFTER INSERT ON orders
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION perf_orders_insert();
CREATE TRIGGER orders_perf_delete AFTER DELETE ON orders
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION perf_orders_delete();
CREATE TRIGGER orders_perf_update AFTER UPDATE ON orders
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION perf_orders_update();

-- A new customer counts for its owner on the day it was created; a visit
-- for the person who logged it on the day it took place.
CREATE FUNCTION perf_customers_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO perf_daily (metric, user_id, day, value)
    SELECT 4, COALESCE(owner_id, 0), china_day(created_at), count(*) FROM new_rows
    GROUP BY 2, 3 ORDER BY 2, 3
    ON CONFLICT (metric, user_id, day) DO UPDATE SET value = perf_daily.value + EXCLUDED.value;
    RETURN NULL;
END $$;
CREATE TRIGGER customers_perf_insert AFTER INSERT ON customers
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION perf_customers_insert();
CREATE FUNCTION perf_activities_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO perf_daily (metric, user_id, day, value)
    SELECT 5, COALESCE(user_id, 0), china_day(at), count(*) FROM new_rows WHERE kind = 'visit'
    GROUP BY 2, 3 ORDER BY 2, 3
    ON CONFLICT (metric, user_id, day) DO UPDATE SET value = perf_daily.value + EXCLUDED.value;
    RETURN NULL;
END $$;
CREATE TRIGGER activities_perf_insert AFTER INSERT ON activities
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION perf_activities_insert();
CREATE FUNCTION perf_activities_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO perf_daily (metric, user_id, day, value)
    SELECT 5, COALESCE(user_id, 0), china_day(at), -count(*) FROM old_rows WHERE kind = 'visit'
    GROUP BY 2, 3 ORDER BY 2, 3
    ON CONFLICT (metric, user_id, day) DO UPDATE SET value = perf_daily.value + EXCLUDED.value;
    RETURN NULL;
END $$;
CREATE TRIGGER activities_perf_delete AFTER DELETE ON activities
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION perf_activities_delete();

-- Targets (SPEC §6): one per level, subject (0 for the company), metric and
-- year; each revision is a row, effective from its day, with who and why.
-- `months` holds the year's split: twelve integers summing to `amount`.
CREATE TABLE targets (
    id BIGSERIAL PRIMARY KEY,
    level TEXT NOT NULL CHECK (level IN ('user', 'team', 'region', 'company')),
    subject_id BIGINT NOT NULL,
    metric TEXT NOT NULL,
    year BIGINT NOT NULL,
    version BIGINT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    created_by BIGINT,
    UNIQUE (level, subject_id, metric, year)
);
CREATE TABLE target_revisions (
    id BIGSERIAL PRIMARY KEY,
    target_id BIGINT NOT NULL REFERENCES targets(id) DEFERRABLE,
    version BIGINT NOT NULL,
    amount BIGINT NOT NULL CHECK (amount >= 0),
    months JSONB NOT NULL,
    effective_from DATE NOT NULL,
    reason TEXT,
    user_id BIGINT,
    at TIMESTAMPTZ NOT NULL,
    UNIQUE (target_id, version)
);
CREATE INDEX targets_year ON targets(year, metric);
-- A product's sales over a period (the share of a sub-metric such as 003's
-- 省外烟 807 of 3082 cases), read without the other products' orders.
CREATE INDEX orders_product ON orders(product, ordered_at) WHERE product IS NOT NULL;
