-- Version 3: live customers by owner, so counting a list (all live customers,
-- one manager's, the pool) reads this small index instead of the wide rows.
CREATE INDEX IF NOT EXISTS customers_live_owner ON customers(owner_id, id) WHERE deleted_at IS NULL;
