-- Version 20: pay (issue 26). Base pay and the rate of the hard-target pay,
-- effective-dated (the history stays); named settings documents (the duty
-- checklist, the scorecard items); scores of the checklist ('duty') and the
-- scorecard ('card') per person and month; pay and bonus runs and their
-- lines (a line's figures and formula in `doc`; adjustments are lines too).
CREATE TABLE IF NOT EXISTS pay_bases (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id),
    effective_from TEXT NOT NULL,
    amount_fen INTEGER NOT NULL,
    set_by INTEGER,
    set_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS pay_bases_user ON pay_bases (user_id, effective_from);
CREATE TABLE IF NOT EXISTS pay_rates (
    id INTEGER PRIMARY KEY,
    subject TEXT NOT NULL,
    effective_from TEXT NOT NULL,
    rate_bp INTEGER NOT NULL,
    set_by INTEGER,
    set_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS pay_settings (
    name TEXT PRIMARY KEY,
    doc TEXT NOT NULL,
    version INTEGER NOT NULL,
    updated_by INTEGER,
    updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS pay_scores (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    month TEXT NOT NULL,
    user_id INTEGER NOT NULL REFERENCES users(id),
    item TEXT NOT NULL,
    score INTEGER NOT NULL,
    note TEXT,
    scored_by INTEGER,
    scored_at TEXT NOT NULL,
    UNIQUE (kind, month, user_id, item)
);
CREATE TABLE IF NOT EXISTS pay_runs (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    period TEXT NOT NULL,
    status TEXT NOT NULL,
    version INTEGER NOT NULL,
    doc TEXT NOT NULL,
    created_by INTEGER,
    created_at TEXT NOT NULL,
    reviewed_by INTEGER,
    reviewed_at TEXT,
    approved_by INTEGER,
    approved_at TEXT,
    locked_by INTEGER,
    locked_at TEXT,
    UNIQUE (kind, period)
);
CREATE TABLE IF NOT EXISTS pay_lines (
    id INTEGER PRIMARY KEY,
    run_id INTEGER NOT NULL REFERENCES pay_runs(id),
    user_id INTEGER NOT NULL REFERENCES users(id),
    team_id INTEGER,
    adjustment INTEGER NOT NULL,
    total_fen INTEGER NOT NULL,
    doc TEXT NOT NULL,
    reviewed_by INTEGER,
    reviewed_at TEXT,
    created_by INTEGER,
    created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS pay_lines_run ON pay_lines (run_id);
