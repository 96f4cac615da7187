-- Version 17: why a customer changed hands, in the words of whoever handed
-- it over or released it to the pool by hand (issue 25). Self-contained: it
-- only adds this column and two indexes, so it can be renumbered when
-- merged with other work.
ALTER TABLE ownership_log ADD COLUMN note TEXT;
-- And the tags in use of live customers, for the list's tag suggestions
-- (GET /customers/facets): the few tagged customers' tags and scope, read
-- without the wide rows (a million untagged customers cost nothing).
CREATE INDEX customers_tagged ON customers(tags, owner_id, team_id, province) WHERE deleted_at IS NULL AND tags <> '';
-- And the provinces of live customers with their scope, for the list's
-- region filter (GET /customers/facets): each distinct province is a seek
-- (keqing-store customers::provinces_sql), then a customer in scope in it.
CREATE INDEX customers_province ON customers(province, owner_id, team_id) WHERE deleted_at IS NULL;
