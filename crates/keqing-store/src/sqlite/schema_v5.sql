-- Version 5: analysis snapshots (SPEC §3): a saved RFM, ABC or CLV result,
-- its parameters and as-of date, and its members (customer → class and
-- values), the target lists a campaign uses. Self-contained: it only adds
-- these two tables, so it can be renumbered when merged with other work.
CREATE TABLE IF NOT EXISTS analysis_snapshots (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('rfm', 'abc', 'clv')),
    name TEXT NOT NULL,
    params TEXT NOT NULL,
    as_of TEXT,
    summary TEXT NOT NULL,
    members INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    created_by INTEGER REFERENCES users(id)
);
CREATE INDEX IF NOT EXISTS analysis_snapshots_creator ON analysis_snapshots(created_by, id);
CREATE TABLE IF NOT EXISTS analysis_snapshot_members (
    id INTEGER PRIMARY KEY,
    snapshot_id INTEGER NOT NULL REFERENCES analysis_snapshots(id),
    customer_id INTEGER NOT NULL REFERENCES customers(id),
    class TEXT,
    data TEXT NOT NULL,
    UNIQUE (snapshot_id, customer_id)
);
CREATE INDEX IF NOT EXISTS analysis_snapshot_members_class ON analysis_snapshot_members(snapshot_id, class, id);
