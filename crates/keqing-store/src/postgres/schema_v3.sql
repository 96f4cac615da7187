-- Version 3: live customers by owner, so counting a list reads this index.
CREATE INDEX IF NOT EXISTS customers_live_owner ON customers(owner_id, id) WHERE deleted_at IS NULL;
