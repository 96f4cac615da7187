-- Version 5: analysis snapshots (SPEC §3): a saved RFM, ABC or CLV result,
-- its parameters and as-of date, and its members (customer → class and
-- values), the target lists a campaign uses. Self-contained: it only adds
-- these two tables, so it can be renumbered when merged with other work.
CREATE TABLE analysis_snapshots (
    id BIGSERIAL PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('rfm', 'abc', 'clv')),
    name TEXT NOT NULL,
    params JSONB NOT NULL,
    as_of DATE,
    summary JSONB NOT NULL,
    members BIGINT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    created_by BIGINT REFERENCES users(id) DEFERRABLE
);
CREATE INDEX analysis_snapshots_creator ON analysis_snapshots(created_by, id);
CREATE TABLE analysis_snapshot_members (
    id BIGSERIAL PRIMARY KEY,
    snapshot_id BIGINT NOT NULL REFERENCES analysis_snapshots(id) DEFERRABLE,
    customer_id BIGINT NOT NULL REFERENCES customers(id) DEFERRABLE,
    class TEXT,
    data JSONB NOT NULL,
    UNIQUE (snapshot_id, customer_id)
);
CREATE INDEX analysis_snapshot_members_class ON analysis_snapshot_members(snapshot_id, class, id);
