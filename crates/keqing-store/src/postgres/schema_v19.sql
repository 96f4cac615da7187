-- PLACEHOLDER for the lead's foundation (version 19: orders.seller_id and
-- perf_daily), so that helper A's version 20 can be built and tested before
-- the foundation is merged. On merge, the foundation's file replaces this one.
ALTER TABLE orders ADD COLUMN seller_id BIGINT;
UPDATE orders SET seller_id = (SELECT owner_id FROM customers WHERE customers.id = orders.customer_id);
CREATE TABLE perf_daily (
    metric INTEGER NOT NULL,
    user_id BIGINT NOT NULL,
    day DATE NOT NULL,
    value BIGINT NOT NULL,
    PRIMARY KEY (metric, user_id, day)
);
