-- Version 18: an order entered by hand (POST /orders) says what its quantity
-- counts (yuan, case or piece; NULL when not said, as in imported files),
-- and a group customer's members are found by their parent without reading
-- every document (a partial index: most customers have no parent).
ALTER TABLE orders ADD COLUMN unit TEXT;
CREATE INDEX customers_parent ON customers (((doc->>'parent_id')::bigint))
    WHERE doc ? 'parent_id';
