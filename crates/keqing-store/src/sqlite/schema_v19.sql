-- Version 19: orders are edited with a version, and paid in instalments
-- (回款, SPEC §2, §6). A payment's amount is above zero; the sum of an
-- order's payments never passes its amount (the store checks it in the
-- transaction that writes). Receivables are metric 3 of perf_daily, kept
-- here by triggers: the paid amount, by the order's seller (0: nobody) and
-- the paid day; a payment not yet paid counts nowhere.
ALTER TABLE orders ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
CREATE TABLE IF NOT EXISTS payments (
    id INTEGER PRIMARY KEY,
    order_id INTEGER NOT NULL REFERENCES orders(id),
    amount_fen INTEGER NOT NULL CHECK (amount_fen > 0),
    due_date TEXT,
    paid_date TEXT,
    version INTEGER NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL,
    created_by INTEGER
);
CREATE INDEX IF NOT EXISTS payments_order ON payments(order_id);
-- An order's paid_date is the day it was paid in full (NULL while anything
-- is owed; the store keeps it as payments are recorded): receivables read
-- the open orders through this index, never the settled ones.
CREATE INDEX IF NOT EXISTS orders_open ON orders(customer_id) WHERE paid_date IS NULL;

CREATE TRIGGER IF NOT EXISTS payments_receivables_insert AFTER INSERT ON payments
WHEN NEW.paid_date IS NOT NULL
BEGIN
    INSERT OR IGNORE INTO perf_daily (metric, user_id, day, value)
        SELECT 3, COALESCE(seller_id, 0), NEW.paid_date, 0 FROM orders WHERE id = NEW.order_id;
    UPDATE perf_daily SET value = value + NEW.amount_fen
        WHERE metric = 3 AND day = NEW.paid_date
          AND user_id = (SELECT COALESCE(seller_id, 0) FROM orders WHERE id = NEW.order_id);
END;

CREATE TRIGGER IF NOT EXISTS payments_receivables_update AFTER UPDATE OF order_id, amount_fen, paid_date ON payments
BEGIN
    UPDATE perf_daily SET value = value - OLD.amount_fen
        WHERE OLD.paid_date IS NOT NULL AND metric = 3 AND day = OLD.paid_date
          AND user_id = (SELECT COALESCE(seller_id, 0) FROM orders WHERE id = OLD.order_id);
    INSERT OR IGNORE INTO perf_daily (metric, user_id, day, value)
        SELECT 3, COALESCE(seller_id, 0), NEW.paid_date, 0 FROM orders
        WHERE id = NEW.order_id AND NEW.paid_date IS NOT NULL;
    UPDATE perf_daily SET value = value + NEW.amount_fen
        WHERE NEW.paid_date IS NOT NULL AND metric = 3 AND day = NEW.paid_date
          AND user_id = (SELECT COALESCE(seller_id, 0) FROM orders WHERE id = NEW.order_id);
END;

CREATE TRIGGER IF NOT EXISTS payments_receivables_delete AFTER DELETE ON payments
WHEN OLD.paid_date IS NOT NULL
BEGIN
    UPDATE perf_daily SET value = value - OLD.amount_fen
        WHERE metric = 3 AND day = OLD.paid_date
          AND user_id = (SELECT COALESCE(seller_id, 0) FROM orders WHERE id = OLD.order_id);
END;

-- An order paid before payments existed was paid in full on its paid day.
INSERT INTO payments (order_id, amount_fen, due_date, paid_date, version, created_at, created_by)
    SELECT id, amount_fen, due_date, paid_date, 1, strftime('%Y-%m-%dT%H:%M:%S.000000Z', 'now'), NULL
    FROM orders WHERE paid_date IS NOT NULL AND amount_fen > 0 ORDER BY id;
