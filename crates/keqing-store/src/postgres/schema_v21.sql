-- Version 21: pay (issue 26). Base pay and the rate of the hard-target pay,
-- effective-dated (the history stays); named settings documents (the duty
-- checklist, the scorecard items); scores of the checklist ('duty') and the
-- scorecard ('card') per person and month; pay and bonus runs and their
-- lines (a line's figures and formula in `doc`; adjustments are lines too).
CREATE TABLE pay_bases (
    id BIGSERIAL PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users(id),
    effective_from DATE NOT NULL,
    amount_fen BIGINT NOT NULL,
    set_by BIGINT,
    set_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX pay_bases_user ON pay_bases (user_id, effective_from);
CREATE TABLE pay_rates (
    id BIGSERIAL PRIMARY KEY,
    subject TEXT NOT NULL,
    effective_from DATE NOT NULL,
    rate_bp BIGINT NOT NULL,
    set_by BIGINT,
    set_at TIMESTAMPTZ NOT NULL
);
CREATE TABLE pay_settings (
    name TEXT PRIMARY KEY,
    doc JSONB NOT NULL,
    version BIGINT NOT NULL,
    updated_by BIGINT,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE TABLE pay_scores (
    id BIGSERIAL PRIMARY KEY,
    kind TEXT NOT NULL,
    month TEXT NOT NULL,
    user_id BIGINT NOT NULL REFERENCES users(id),
    item TEXT NOT NULL,
    score BIGINT NOT NULL,
    note TEXT,
    scored_by BIGINT,
    scored_at TIMESTAMPTZ NOT NULL,
    UNIQUE (kind, month, user_id, item)
);
CREATE TABLE pay_runs (
    id BIGSERIAL PRIMARY KEY,
    kind TEXT NOT NULL,
    period TEXT NOT NULL,
    status TEXT NOT NULL,
    version BIGINT NOT NULL,
    doc JSONB NOT NULL,
    created_by BIGINT,
    created_at TIMESTAMPTZ NOT NULL,
    reviewed_by BIGINT,
    reviewed_at TIMESTAMPTZ,
    approved_by BIGINT,
    approved_at TIMESTAMPTZ,
    locked_by BIGINT,
    locked_at TIMESTAMPTZ,
    UNIQUE (kind, period)
);
CREATE TABLE pay_lines (
    id BIGSERIAL PRIMARY KEY,
    run_id BIGINT NOT NULL REFERENCES pay_runs(id),
    user_id BIGINT NOT NULL REFERENCES users(id),
    team_id BIGINT,
    adjustment BOOLEAN NOT NULL,
    total_fen BIGINT NOT NULL,
    doc JSONB NOT NULL,
    reviewed_by BIGINT,
    reviewed_at TIMESTAMPTZ,
    created_by BIGINT,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX pay_lines_run ON pay_lines (run_id);
