-- Version 2: relationship care (SPEC §4): tasks, message templates, settings.
CREATE TABLE IF NOT EXISTS care_tasks (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL CHECK (kind IN ('greeting', 'cadence', 'quota', 'deadline', 'order_day')),
    date TEXT NOT NULL,
    customer_id INTEGER REFERENCES customers(id),
    contact_id INTEGER REFERENCES contacts(id),
    owner_id INTEGER REFERENCES users(id),
    occasions TEXT NOT NULL,
    channel TEXT,
    message TEXT,
    status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'done', 'skipped', 'snoozed')),
    reason TEXT,
    snoozed_until TEXT,
    activity_id INTEGER REFERENCES activities(id),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS care_tasks_date ON care_tasks(date, owner_id);
CREATE INDEX IF NOT EXISTS care_tasks_owner ON care_tasks(owner_id, date);
CREATE TABLE IF NOT EXISTS care_templates (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    body TEXT NOT NULL,
    occasion TEXT,
    active INTEGER NOT NULL DEFAULT 1
);
CREATE TABLE IF NOT EXISTS care_settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
-- Birthday lookup by key without the year (see `birthday_key`): S11-23,
-- L08-15, LL04-30, over the stored form "1985-11-23", "农历08-15", "农历闰04-30".
CREATE INDEX IF NOT EXISTS contacts_birthday_key ON contacts ((
    CASE WHEN substr(json_extract(doc, '$.birthday'), 1, 3) = '农历闰' THEN 'LL'
         WHEN substr(json_extract(doc, '$.birthday'), 1, 2) = '农历' THEN 'L'
         ELSE 'S' END || substr(json_extract(doc, '$.birthday'), -5)))
    WHERE deleted_at IS NULL AND json_extract(doc, '$.birthday') IS NOT NULL;
-- Customers under a care rule of their own (cadence class, tier or key
-- flag; key dates; order weekdays): planning a day without a festival reads these.
CREATE INDEX IF NOT EXISTS customers_care ON customers (id)
    WHERE deleted_at IS NULL AND owner_id IS NOT NULL
      AND (class IS NOT NULL OR tier IS NOT NULL OR json_extract(doc, '$.key_customer') = 1
           OR json_extract(doc, '$.key_dates') <> '[]'
           OR json_extract(doc, '$.custom.order_weekdays') IS NOT NULL);
