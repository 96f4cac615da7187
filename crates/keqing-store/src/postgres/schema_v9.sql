-- Version 9: regions (区域) as a list of their own (SPEC §9: a regional scope
-- covers the customers of the user's region, by province). Users and teams
-- name a region from this list; it starts as the regions they name already.
-- Self-contained: it only adds this table, so it can be renumbered when
-- merged with other work.
CREATE TABLE IF NOT EXISTS regions (
    id BIGSERIAL PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
INSERT INTO regions (name)
    SELECT region FROM (
        SELECT region, 0 AS src, id FROM teams UNION ALL SELECT region, 1, id FROM users
    ) named
    WHERE region IS NOT NULL AND region <> '' ORDER BY src, id
    ON CONFLICT (name) DO NOTHING;
