-- Version 20: orders are edited with a version, and paid in instalments
-- (回款, SPEC §2, §6). A payment's amount is above zero; the sum of an
-- order's payments never passes its amount (the store checks it in the
-- transaction that writes, the order's row locked). Receivables are metric
-- 3 of perf_daily, kept here by a trigger: the paid amount, by the order's
-- seller (0: nobody) and the paid day; a payment not yet paid counts nowhere.
ALTER TABLE orders ADD COLUMN version BIGINT NOT NULL DEFAULT 1;
CREATE TABLE payments (
    id BIGSERIAL PRIMARY KEY,
    order_id BIGINT NOT NULL REFERENCES orders(id) DEFERRABLE,
    amount_fen BIGINT NOT NULL CHECK (amount_fen > 0),
    due_date DATE,
    paid_date DATE,
    version BIGINT NOT NULL DEFAULT 1,
    created_at TIMESTAMPTZ NOT NULL,
    created_by BIGINT
);
CREATE INDEX payments_order ON payments(order_id);
-- An order's paid_date is the day it was paid in full (NULL while anything
-- is owed; the store keeps it as payments are recorded): receivables read
-- the open orders through this index, never the settled ones.
CREATE INDEX orders_open ON orders(customer_id) WHERE paid_date IS NULL;

CREATE FUNCTION payments_receivables() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.paid_date IS NOT NULL THEN
        UPDATE perf_daily SET value = value - OLD.amount_fen
        WHERE metric = 3 AND day = OLD.paid_date
          AND user_id = (SELECT COALESCE(seller_id, 0) FROM orders WHERE id = OLD.order_id);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.paid_date IS NOT NULL THEN
        INSERT INTO perf_daily (metric, user_id, day, value)
        SELECT 3, COALESCE(seller_id, 0), NEW.paid_date, NEW.amount_fen FROM orders WHERE id = NEW.order_id
        ON CONFLICT (metric, user_id, day) DO UPDATE SET value = perf_daily.value + EXCLUDED.value;
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER payments_receivables AFTER INSERT OR DELETE OR UPDATE OF order_id, amount_fen, paid_date
    ON payments FOR EACH ROW EXECUTE FUNCTION payments_receivables();

-- An order paid before payments existed was paid in full on its paid day.
INSERT INTO payments (order_id, amount_fen, due_date, paid_date, version, created_at, created_by)
    SELECT id, amount_fen, due_date, paid_date, 1, now(), NULL
    FROM orders WHERE paid_date IS NOT NULL AND amount_fen > 0 ORDER BY id;
