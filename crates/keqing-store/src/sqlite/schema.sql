CREATE TABLE IF NOT EXISTS teams (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    region TEXT
);
CREATE TABLE IF NOT EXISTS users (
    id INTEGER PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    role TEXT NOT NULL,
    team_id INTEGER REFERENCES teams(id),
    region TEXT,
    password_hash TEXT NOT NULL,
    active INTEGER NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS sessions (
    token_hash TEXT PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id),
    expires_at TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS customers (
    id INTEGER PRIMARY KEY,
    version INTEGER NOT NULL,
    name TEXT NOT NULL,
    pinyin TEXT NOT NULL,
    initials TEXT NOT NULL,
    phone_rev TEXT,
    province TEXT,
    class TEXT,
    tier TEXT,
    stage TEXT NOT NULL,
    tags TEXT NOT NULL,
    external_code TEXT,
    dedup_key TEXT,
    doc TEXT NOT NULL,
    owner_id INTEGER REFERENCES users(id),
    team_id INTEGER REFERENCES teams(id),
    rfm_class TEXT,
    clv TEXT,
    last_follow_up_at TEXT,
    owned_since TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    deleted_at TEXT,
    merged_into INTEGER
);
CREATE UNIQUE INDEX IF NOT EXISTS customers_external_code ON customers(external_code)
    WHERE deleted_at IS NULL AND external_code IS NOT NULL;
CREATE UNIQUE INDEX IF NOT EXISTS customers_dedup ON customers(dedup_key)
    WHERE deleted_at IS NULL AND dedup_key IS NOT NULL;
CREATE INDEX IF NOT EXISTS customers_owner ON customers(owner_id);
CREATE INDEX IF NOT EXISTS customers_team ON customers(team_id);
CREATE INDEX IF NOT EXISTS customers_name ON customers(name);
CREATE INDEX IF NOT EXISTS customers_pinyin ON customers(pinyin);
CREATE INDEX IF NOT EXISTS customers_initials ON customers(initials);
CREATE INDEX IF NOT EXISTS customers_phone_rev ON customers(phone_rev);
CREATE TABLE IF NOT EXISTS contacts (
    id INTEGER PRIMARY KEY,
    customer_id INTEGER NOT NULL REFERENCES customers(id),
    version INTEGER NOT NULL,
    name TEXT NOT NULL,
    mobile_rev TEXT,
    doc TEXT NOT NULL,
    created_at TEXT NOT NULL,
    deleted_at TEXT
);
CREATE INDEX IF NOT EXISTS contacts_customer ON contacts(customer_id);
CREATE INDEX IF NOT EXISTS contacts_mobile_rev ON contacts(mobile_rev);
CREATE TABLE IF NOT EXISTS activities (
    id INTEGER PRIMARY KEY,
    customer_id INTEGER NOT NULL REFERENCES customers(id),
    contact_id INTEGER,
    user_id INTEGER,
    kind TEXT NOT NULL,
    at TEXT NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS activities_customer ON activities(customer_id, at);
CREATE TABLE IF NOT EXISTS orders (
    id INTEGER PRIMARY KEY,
    customer_id INTEGER NOT NULL REFERENCES customers(id),
    external_id TEXT UNIQUE,
    ordered_at TEXT NOT NULL,
    amount_fen INTEGER NOT NULL,
    quantity INTEGER NOT NULL,
    product TEXT,
    channel TEXT,
    store TEXT,
    due_date TEXT,
    paid_date TEXT
);
CREATE INDEX IF NOT EXISTS orders_customer ON orders(customer_id, ordered_at);
CREATE TABLE IF NOT EXISTS customer_history (
    id INTEGER PRIMARY KEY,
    customer_id INTEGER NOT NULL,
    at TEXT NOT NULL,
    user_id INTEGER,
    field TEXT NOT NULL,
    old TEXT NOT NULL,
    new TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS customer_history_customer ON customer_history(customer_id);
CREATE TABLE IF NOT EXISTS ownership_log (
    id INTEGER PRIMARY KEY,
    customer_id INTEGER NOT NULL,
    at TEXT NOT NULL,
    from_user INTEGER,
    to_user INTEGER,
    reason TEXT NOT NULL,
    actor_id INTEGER
);
CREATE INDEX IF NOT EXISTS ownership_log_customer ON ownership_log(customer_id);
CREATE TABLE IF NOT EXISTS change_reports (
    id INTEGER PRIMARY KEY,
    customer_id INTEGER NOT NULL REFERENCES customers(id),
    note TEXT NOT NULL,
    reported_on TEXT NOT NULL,
    due_on TEXT NOT NULL,
    registered_on TEXT,
    reported_by INTEGER
);
CREATE TABLE IF NOT EXISTS audit_log (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    user_id INTEGER,
    action TEXT NOT NULL,
    entity TEXT NOT NULL,
    entity_id INTEGER,
    detail TEXT NOT NULL
);
