-- Version 18: sales performance (SPEC §6).
--
-- An order is credited to its seller: the customer's owner when the order
-- was stored (NULL for a customer in the pool); existing orders take their
-- customer's present owner.
ALTER TABLE orders ADD COLUMN seller_id INTEGER;
UPDATE orders SET seller_id = (SELECT owner_id FROM customers WHERE customers.id = orders.customer_id);

-- Each metric's daily total per person (user 0: nobody), kept by the
-- triggers below in the transaction that changes the facts, so that KPI
-- figures read a few thousand rows instead of every order. Days are China's
-- (UTC+8). Metrics: 1 sales (fen), 2 quantity, 3 receivables (fen, fed by
-- the payments table), 4 new customers, 5 visits.
CREATE TABLE IF NOT EXISTS perf_daily (
    metric INTEGER NOT NULL,
    user_id INTEGER NOT NULL,
    day TEXT NOT NULL,
    value INTEGER NOT NULL,
    PRIMARY KEY (metric, user_id, day)
) WITHOUT ROWID;
-- Each metric's monthly total per person, kept from perf_daily by its own
-- triggers, so a year's figures read 12 rows a person, not 365; `month` is
-- the month's first day.
CREATE TABLE IF NOT EXISTS perf_monthly (
    metric INTEGER NOT NULL,
    user_id INTEGER NOT NULL,
    month TEXT NOT NULL,
    value INTEGER NOT NULL,
    PRIMARY KEY (metric, user_id, month)
) WITHOUT ROWID;
CREATE TRIGGER IF NOT EXISTS perf_daily_month_insert AFTER INSERT ON perf_daily BEGIN
    INSERT INTO perf_monthly VALUES (NEW.metric, NEW.user_id, substr(NEW.day, 1, 8) || '01', NEW.value)
        ON CONFLICT DO UPDATE SET value = value + excluded.value;
END;
CREATE TRIGGER IF NOT EXISTS perf_daily_month_update AFTER UPDATE OF value ON perf_daily BEGIN
    UPDATE perf_monthly SET value = value + NEW.value - OLD.value
        WHERE metric = NEW.metric AND user_id = NEW.user_id AND month = substr(NEW.day, 1, 8) || '01';
END;
CREATE TRIGGER IF NOT EXISTS perf_daily_month_delete AFTER DELETE ON perf_daily BEGIN
    UPDATE perf_monthly SET value = value - OLD.value
        WHERE metric = OLD.metric AND user_id = OLD.user_id AND month = substr(OLD.day, 1, 8) || '01';
END;
INSERT INTO perf_daily (metric, user_id, day, value)
    SELECT 1, COALESCE(seller_id, 0), date(ordered_at, '+8 hours'), sum(amount_fen)
    FROM orders GROUP BY 2, 3;
INSERT INTO perf_daily (metric, user_id, day, value)
    SELECT 2, COALESCE(seller_id, 0), date(ordered_at, '+8 hours'), sum(quantity)
    FROM orders GROUP BY 2, 3;
INSERT INTO perf_daily (metric, user_id, day, value)
    SELECT 4, COALESCE(owner_id, 0), date(created_at, '+8 hours'), count(*)
    FROM customers GROUP BY 2, 3;
INSERT INTO perf_daily (metric, user_id, day, value)
    SELECT 5, COALESCE(user_id, 0), date(at, '+8 hours'), count(*)
    FROM activities WHERE kind = 'visit' GROUP BY 2, 3;

CREATE TRIGGER IF NOT EXISTS orders_perf_insert AFTER INSERT ON orders BEGIN
    INSERT INTO perf_daily VALUES (1, COALESCE(NEW.seller_id, 0), date(NEW.ordered_at, '+8 hours'), NEW.amount_fen)
        ON CONFLICT DO UPDATE SET value = value + excluded.value;
    INSERT INTO perf_daily VALUES (2, COALESCE(NEW.seller_id, 0), date(NEW.ordered_at, '+8 hours'), NEW.quantity)
        ON CONFLICT DO UPDATE SET value = value + excluded.value;
END;
CREATE TRIGGER IF NOT EXISTS orders_perf_delete AFTER DELETE ON orders BEGIN
    UPDATE perf_daily SET value = value - OLD.amount_fen
        WHERE metric = 1 AND user_id = COALESCE(OLD.seller_id, 0) AND day = date(OLD.ordered_at, '+8 hours');
    UPDATE perf_daily SET value = value - OLD.quantity
        WHERE metric = 2 AND user_id = COALESCE(OLD.seller_id, 0) AND day = date(OLD.ordered_at, '+8 hours');
END;
CREATE TRIGGER IF NOT EXISTS orders_perf_update
    AFTER UPDATE OF seller_id, ordered_at, amount_fen, quantity ON orders BEGIN
    UPDATE perf_daily SET value = value - OLD.amount_fen
        WHERE metric = 1 AND user_id = COALESCE(OLD.seller_id, 0) AND day = date(OLD.ordered_at, '+8 hours');
    UPDATE perf_daily SET value = value - OLD.quantity
        WHERE metric = 2 AND user_id = COALESCE(OLD.seller_id, 0) AND day = date(OLD.ordered_at, '+8 hours');
    INSERT INTO perf_daily VALUES (1, COALESCE(NEW.seller_id, 0), date(NEW.ordered_at, '+8 hours'), NEW.amount_fen)
        ON CONFLICT DO UPDATE SET value = value + excluded.value;
    INSERT INTO perf_daily VALUES (2, COALESCE(NEW.seller_id, 0), date(NEW.ordered_at, '+8 hours'), NEW.quantity)
        ON CONFLICT DO UPDATE SET value = value + excluded.value;
END;
-- A new customer counts for its owner on the day it was created; a visit
-- for the person who logged it on the day it took place.
CREATE TRIGGER IF NOT EXISTS customers_perf_insert AFTER INSERT ON customers BEGIN
    INSERT INTO perf_daily VALUES (4, COALESCE(NEW.owner_id, 0), date(NEW.created_at, '+8 hours'), 1)
        ON CONFLICT DO UPDATE SET value = value + 1;
END;
CREATE TRIGGER IF NOT EXISTS activities_perf_insert AFTER INSERT ON activities
    WHEN NEW.kind = 'visit' BEGIN
    INSERT INTO perf_daily VALUES (5, COALESCE(NEW.user_id, 0), date(NEW.at, '+8 hours'), 1)
        ON CONFLICT DO UPDATE SET value = value + 1;
END;
CREATE TRIGGER IF NOT EXISTS activities_perf_delete AFTER DELETE ON activities
    WHEN OLD.kind = 'visit' BEGIN
    UPDATE perf_daily SET value = value - 1
        WHERE metric = 5 AND user_id = COALESCE(OLD.user_id, 0) AND day = date(OLD.at, '+8 hours');
END;

-- Targets (SPEC §6): one per level, subject (0 for the company), metric and
-- year; each revision is a row, effective from its day, with who and why.
-- `months` holds the year's split: twelve integers summing to `amount`.
CREATE TABLE IF NOT EXISTS targets (
    id INTEGER PRIMARY KEY,
    level TEXT NOT NULL CHECK (level IN ('user', 'team', 'region', 'company')),
    subject_id INTEGER NOT NULL,
    metric TEXT NOT NULL,
    year INTEGER NOT NULL,
    version INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    created_by INTEGER,
    UNIQUE (level, subject_id, metric, year)
);
CREATE TABLE IF NOT EXISTS target_revisions (
    id INTEGER PRIMARY KEY,
    target_id INTEGER NOT NULL REFERENCES targets(id),
    version INTEGER NOT NULL,
    amount INTEGER NOT NULL CHECK (amount >= 0),
    months TEXT NOT NULL,
    effective_from TEXT NOT NULL,
    reason TEXT,
    user_id INTEGER,
    at TEXT NOT NULL,
    UNIQUE (target_id, version)
);
CREATE INDEX IF NOT EXISTS targets_year ON targets(year, metric);
-- A product's sales over a period (the share of a sub-metric such as 003's
-- 省外烟 807 of 3082 cases), read without the other products' orders.
CREATE INDEX IF NOT EXISTS orders_product ON orders(product, ordered_at) WHERE product IS NOT NULL;
