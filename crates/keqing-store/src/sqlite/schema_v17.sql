-- Version 17: an order entered by hand (POST /orders) says what its quantity
-- counts (yuan, case or piece; NULL when not said, as in imported files),
-- and a group customer's members are found by their parent without reading
-- every document (a partial index: most customers have no parent).
ALTER TABLE orders ADD COLUMN unit TEXT;
CREATE INDEX IF NOT EXISTS customers_parent ON customers (json_extract(doc, '$.parent_id'))
    WHERE json_extract(doc, '$.parent_id') IS NOT NULL;
