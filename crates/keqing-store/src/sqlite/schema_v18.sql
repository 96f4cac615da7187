-- PLACEHOLDER for the lead's foundation (version 18: orders.seller_id and
-- perf_daily), so that helper A's version 19 can be built and tested before
-- the foundation is merged. On merge, the foundation's file replaces this one.
ALTER TABLE orders ADD COLUMN seller_id INTEGER;
UPDATE orders SET seller_id = (SELECT owner_id FROM customers WHERE customers.id = orders.customer_id);
CREATE TABLE IF NOT EXISTS perf_daily (
    metric INTEGER NOT NULL,
    user_id INTEGER NOT NULL,
    day TEXT NOT NULL,
    value INTEGER NOT NULL,
    PRIMARY KEY (metric, user_id, day)
) WITHOUT ROWID;
