-- Version 6: narrow care tasks (issue 4). A festival greets every contact,
-- two million tasks at once, so a task row holds ids and days:
-- * texts many tasks share (the occasions of a day, a message template, a
--   rule's message) are stored once, in care_texts;
-- * a greeting's channel and message are made from the customer's and
--   contact's current facts when the task is shown;
-- * the key is (customer or salesperson, planned day, contact, kind) on an
--   index that a day's tasks, stored in customer order, append to; with the
--   index by due day it is all a festival's tasks are written into;
-- * an open or snoozed customer task belongs to the customer's current
--   owner (read through customers), so a transfer, claim or release moves
--   it without writing it; owner_id holds the salesperson of a quota task
--   and the owner a customer task was closed (done, skipped) under;
-- * no foreign keys: checking two million parents one by one costs more
--   than storing the tasks, and a statement that may fail half-way must
--   keep a journal to undo itself. Customers, contacts, users, activities
--   and texts are never deleted (customers and contacts only marked; the
--   lists hide the tasks of marked ones).
-- CHECKs are written with OR: an IN list is rebuilt for every row checked.
CREATE TABLE care_texts (
    id INTEGER PRIMARY KEY,
    body TEXT NOT NULL UNIQUE
);
CREATE TABLE care_tasks_v4 (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind = 'greeting' OR kind = 'cadence' OR kind = 'quota' OR kind = 'deadline' OR kind = 'order_day'),
    planned_for TEXT NOT NULL,
    date TEXT NOT NULL,
    customer_id INTEGER,
    contact_id INTEGER,
    owner_id INTEGER,
    occasions_id INTEGER NOT NULL,
    template_id INTEGER,
    message_id INTEGER,
    channel TEXT,
    status TEXT NOT NULL DEFAULT 'open' CHECK (status = 'open' OR status = 'done' OR status = 'skipped' OR status = 'snoozed'),
    reason TEXT,
    snoozed_until TEXT,
    activity_id INTEGER,
    created_at TEXT NOT NULL,
    -- NULL until the status first changes.
    updated_at TEXT
);
-- The tasks of version 2/3, their texts moved out, the planned day taken
-- from the key ("greeting:c42:p7:2026-09-25"), owners as described above.
INSERT INTO care_texts (body) SELECT DISTINCT occasions FROM care_tasks;
INSERT INTO care_texts (body) SELECT DISTINCT message FROM care_tasks WHERE message IS NOT NULL
    ON CONFLICT (body) DO NOTHING;
INSERT INTO care_tasks_v4 (id, kind, planned_for, date, customer_id, contact_id, owner_id,
        occasions_id, template_id, message_id, channel, status, reason, snoozed_until,
        activity_id, created_at, updated_at)
    SELECT t.id, t.kind, substr(t.key, -10), t.date, t.customer_id, t.contact_id,
           CASE WHEN t.customer_id IS NULL OR t.status = 'done' OR t.status = 'skipped' THEN t.owner_id END,
           (SELECT x.id FROM care_texts x WHERE x.body = t.occasions), NULL,
           (SELECT x.id FROM care_texts x WHERE x.body = t.message), t.channel, t.status, t.reason,
           t.snoozed_until, t.activity_id, t.created_at, t.updated_at
    FROM care_tasks t;
DROP TABLE care_tasks;
ALTER TABLE care_tasks_v4 RENAME TO care_tasks;
CREATE UNIQUE INDEX care_tasks_key ON care_tasks
    (coalesce(customer_id, -owner_id), planned_for, coalesce(contact_id, 0), kind);
-- Everyone's tasks of some days; the frequency cap's window.
CREATE INDEX care_tasks_date ON care_tasks (date);
-- A customer's tasks of some days are those planned for them (the key) and
-- these few due on another day (deferred by the cap, a cadence line behind).
CREATE INDEX care_tasks_late ON care_tasks (customer_id, date) WHERE date <> planned_for;
-- Tasks that keep their owner: closed ones and quota tasks.
CREATE INDEX care_tasks_owner ON care_tasks (owner_id, date)
    WHERE customer_id IS NULL OR status = 'done' OR status = 'skipped';
CREATE INDEX care_tasks_snoozed ON care_tasks (snoozed_until) WHERE status = 'snoozed';
-- Live contacts are read from contacts_customer; these are the exceptions.
CREATE INDEX contacts_deleted ON contacts (customer_id) WHERE deleted_at IS NOT NULL;
CREATE INDEX customers_deleted ON customers (id) WHERE deleted_at IS NOT NULL;
-- A merge moves the merged customer's contacts: their tasks go with them.
CREATE TRIGGER care_tasks_follow_contact AFTER UPDATE OF customer_id ON contacts
WHEN OLD.customer_id IS NOT NEW.customer_id
BEGIN
    UPDATE care_tasks SET customer_id = NEW.customer_id
    WHERE coalesce(customer_id, -owner_id) = OLD.customer_id AND contact_id = NEW.id;
END;
-- ... and its own tasks (without a contact) that the kept one lacks.
CREATE TRIGGER care_tasks_follow_merge AFTER UPDATE OF merged_into ON customers
WHEN NEW.merged_into IS NOT NULL AND OLD.merged_into IS NULL
BEGIN
    UPDATE care_tasks SET customer_id = NEW.merged_into
    WHERE coalesce(customer_id, -owner_id) = NEW.id AND contact_id IS NULL
      AND NOT EXISTS (SELECT 1 FROM care_tasks k
                      WHERE coalesce(k.customer_id, -k.owner_id) = NEW.merged_into AND k.planned_for = care_tasks.planned_for
                        AND coalesce(k.contact_id, 0) = 0 AND k.kind = care_tasks.kind);
END;
