-- Version 9: regions (区域) as a list of their own (SPEC §9: a regional scope
-- covers the customers of the user's region, by province). Users and teams
-- name a region from this list; it starts as the regions they name already.
-- Self-contained: it only adds this table, so it can be renumbered when
-- merged with other work.
CREATE TABLE IF NOT EXISTS regions (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL
);
INSERT OR IGNORE INTO regions (name, created_at)
    SELECT region, strftime('%Y-%m-%dT%H:%M:%S.000000Z', 'now') FROM teams
    WHERE region IS NOT NULL AND region <> '' ORDER BY id;
INSERT OR IGNORE INTO regions (name, created_at)
    SELECT region, strftime('%Y-%m-%dT%H:%M:%S.000000Z', 'now') FROM users
    WHERE region IS NOT NULL AND region <> '' ORDER BY id;
