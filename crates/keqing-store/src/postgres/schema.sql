-- keqing on PostgreSQL, schema version 1: the tables of sqlite_schema.sql with
-- native types. Columns that are searched by range or prefix, or sorted by
-- name, use the "C" collation: byte order, as SQLite compares, and the only
-- order in which `phone_rev >= '1234' AND phone_rev < '1234:'` and
-- `initials LIKE 'j%'` can use a b-tree index.
-- Foreign keys are DEFERRABLE so a restore can defer them to its commit.
CREATE TABLE teams (
    id BIGSERIAL PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    region TEXT
);
CREATE TABLE users (
    id BIGSERIAL PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    role TEXT NOT NULL,
    team_id BIGINT REFERENCES teams(id) DEFERRABLE,
    region TEXT,
    password_hash TEXT NOT NULL,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users(id) DEFERRABLE,
    expires_at TIMESTAMPTZ NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX sessions_user ON sessions(user_id);
CREATE INDEX sessions_expires ON sessions(expires_at);
CREATE TABLE customers (
    id BIGSERIAL PRIMARY KEY,
    version BIGINT NOT NULL,
    name TEXT COLLATE "C" NOT NULL,
    pinyin TEXT COLLATE "C" NOT NULL,
    initials TEXT COLLATE "C" NOT NULL,
    phone_rev TEXT COLLATE "C",
    province TEXT,
    class TEXT,
    tier TEXT,
    stage TEXT NOT NULL,
    tags TEXT COLLATE "C" NOT NULL,
    external_code TEXT,
    dedup_key TEXT,
    doc JSONB NOT NULL,
    owner_id BIGINT REFERENCES users(id) DEFERRABLE,
    team_id BIGINT REFERENCES teams(id) DEFERRABLE,
    rfm_class TEXT,
    clv TEXT,
    last_follow_up_at TIMESTAMPTZ,
    owned_since TIMESTAMPTZ,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    deleted_at TIMESTAMPTZ,
    merged_into BIGINT
);
CREATE UNIQUE INDEX customers_external_code ON customers(external_code)
    WHERE deleted_at IS NULL AND external_code IS NOT NULL;
CREATE UNIQUE INDEX customers_dedup ON customers(dedup_key)
    WHERE deleted_at IS NULL AND dedup_key IS NOT NULL;
CREATE INDEX customers_owner ON customers(owner_id);
CREATE INDEX customers_team ON customers(team_id);
CREATE INDEX customers_name ON customers(name);
CREATE INDEX customers_pinyin ON customers(pinyin);
CREATE INDEX customers_initials ON customers(initials);
CREATE INDEX customers_phone_rev ON customers(phone_rev);
CREATE TABLE contacts (
    id BIGSERIAL PRIMARY KEY,
    customer_id BIGINT NOT NULL REFERENCES customers(id) DEFERRABLE,
    version BIGINT NOT NULL,
    name TEXT NOT NULL,
    mobile_rev TEXT COLLATE "C",
    doc JSONB NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    deleted_at TIMESTAMPTZ
);
CREATE INDEX contacts_customer ON contacts(customer_id);
CREATE INDEX contacts_mobile_rev ON contacts(mobile_rev);
CREATE TABLE activities (
    id BIGSERIAL PRIMARY KEY,
    customer_id BIGINT NOT NULL REFERENCES customers(id) DEFERRABLE,
    contact_id BIGINT,
    user_id BIGINT,
    kind TEXT NOT NULL,
    at TIMESTAMPTZ NOT NULL,
    doc JSONB NOT NULL
);
CREATE INDEX activities_customer ON activities(customer_id, at);
CREATE TABLE orders (
    id BIGSERIAL PRIMARY KEY,
    customer_id BIGINT NOT NULL REFERENCES customers(id) DEFERRABLE,
    external_id TEXT UNIQUE,
    ordered_at TIMESTAMPTZ NOT NULL,
    amount_fen BIGINT NOT NULL,
    quantity BIGINT NOT NULL,
    product TEXT,
    channel TEXT,
    store TEXT,
    due_date DATE,
    paid_date DATE
);
CREATE INDEX orders_customer ON orders(customer_id, ordered_at);
CREATE TABLE customer_history (
    id BIGSERIAL PRIMARY KEY,
    customer_id BIGINT NOT NULL,
    at TIMESTAMPTZ NOT NULL,
    user_id BIGINT,
    field TEXT NOT NULL,
    old JSONB NOT NULL,
    new JSONB NOT NULL
);
CREATE INDEX customer_history_customer ON customer_history(customer_id);
CREATE TABLE ownership_log (
    id BIGSERIAL PRIMARY KEY,
    customer_id BIGINT NOT NULL,
    at TIMESTAMPTZ NOT NULL,
    from_user BIGINT,
    to_user BIGINT,
    reason TEXT NOT NULL,
    actor_id BIGINT
);
CREATE INDEX ownership_log_customer ON ownership_log(customer_id);
CREATE TABLE change_reports (
    id BIGSERIAL PRIMARY KEY,
    customer_id BIGINT NOT NULL REFERENCES customers(id) DEFERRABLE,
    note TEXT NOT NULL,
    reported_on DATE NOT NULL,
    due_on DATE NOT NULL,
    registered_on DATE,
    reported_by BIGINT
);
CREATE INDEX change_reports_customer ON change_reports(customer_id);
CREATE TABLE audit_log (
    id BIGSERIAL PRIMARY KEY,
    at TIMESTAMPTZ NOT NULL,
    user_id BIGINT,
    action TEXT NOT NULL,
    entity TEXT NOT NULL,
    entity_id BIGINT,
    detail JSONB NOT NULL
);
