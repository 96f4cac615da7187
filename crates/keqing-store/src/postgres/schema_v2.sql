-- Version 2: relationship care (SPEC §4): tasks, message templates, settings.
CREATE TABLE care_tasks (
    id BIGSERIAL PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL CHECK (kind IN ('greeting', 'cadence', 'quota', 'deadline', 'order_day')),
    date DATE NOT NULL,
    customer_id BIGINT REFERENCES customers(id),
    contact_id BIGINT REFERENCES contacts(id),
    owner_id BIGINT REFERENCES users(id),
    occasions JSONB NOT NULL,
    channel TEXT,
    message TEXT,
    status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'done', 'skipped', 'snoozed')),
    reason TEXT,
    snoozed_until DATE,
    activity_id BIGINT REFERENCES activities(id),
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX care_tasks_date ON care_tasks(date, owner_id);
CREATE INDEX care_tasks_owner ON care_tasks(owner_id, date);
CREATE TABLE care_templates (
    id BIGSERIAL PRIMARY KEY,
    name TEXT NOT NULL,
    body TEXT NOT NULL,
    occasion TEXT,
    active BOOLEAN NOT NULL DEFAULT TRUE
);
CREATE TABLE care_settings (
    key TEXT PRIMARY KEY,
    value JSONB NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
-- Birthday lookup by key without the year (see `birthday_key`).
CREATE INDEX contacts_birthday_key ON contacts ((
    CASE WHEN doc->>'birthday' LIKE '农历闰%' THEN 'LL'
         WHEN doc->>'birthday' LIKE '农历%' THEN 'L'
         ELSE 'S' END || right(doc->>'birthday', 5)))
    WHERE deleted_at IS NULL AND doc->>'birthday' IS NOT NULL;
