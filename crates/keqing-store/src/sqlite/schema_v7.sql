-- Version 7: care tasks in integers (issue 4). A festival stores two million
-- tasks at once; what it writes is their rows and three index entries each,
-- so every byte of a task is written two million times, twice (the log and
-- the database file). Version 6 took 154 bytes a task, row and index entries
-- (dbstat, after a festival); this takes 79:
-- * days are day numbers (days since 1970-01-01), times are microseconds
--   since 1970 (UTC), kinds and statuses small codes (what a zero costs
--   SQLite: nothing, it is in the type byte):
--     kind   0 greeting, 1 cadence, 2 quota, 3 deadline, 4 order_day
--     status 0 open, 1 snoozed, 2 done, 3 skipped (closed: status >= 2);
-- * the key is four plain columns, not expressions: `subject` is the
--   customer, or minus the salesperson of a task without one (the daily
--   quota); `contact` is the contact, or 0 for none. A customer's task has
--   subject > 0.
-- Everything else is as version 6 (sqlite_schema_v6.sql says why): texts in
-- care_texts, an open task's owner read through its customer, no foreign
-- keys. Backups keep version 6's portable shape (dates and times as text,
-- customer_id and contact_id, kinds and statuses by name): the store
-- converts both ways, so a backup restores into either backend and either
-- version.
DROP TRIGGER care_tasks_follow_contact;
DROP TRIGGER care_tasks_follow_merge;
CREATE TABLE care_tasks_v7 (
    id INTEGER PRIMARY KEY,
    subject INTEGER NOT NULL,
    planned_for INTEGER NOT NULL,
    contact INTEGER NOT NULL,
    kind INTEGER NOT NULL CHECK (kind >= 0 AND kind <= 4),
    date INTEGER NOT NULL,
    owner_id INTEGER,
    occasions_id INTEGER NOT NULL,
    template_id INTEGER,
    message_id INTEGER,
    channel TEXT,
    status INTEGER NOT NULL DEFAULT 0 CHECK (status >= 0 AND status <= 3),
    reason TEXT,
    snoozed_until INTEGER,
    activity_id INTEGER,
    created_at INTEGER NOT NULL,
    -- NULL until the status first changes.
    updated_at INTEGER
);
-- Times as version 6 wrote them (`2026-09-01T08:30:00.123456Z`): the
-- seconds through unixepoch, the fraction padded to six digits.
INSERT INTO care_tasks_v7 (id, subject, planned_for, contact, kind, date, owner_id, occasions_id,
        template_id, message_id, channel, status, reason, snoozed_until, activity_id, created_at, updated_at)
    SELECT id, coalesce(customer_id, -owner_id, 0), unixepoch(planned_for) / 86400, coalesce(contact_id, 0),
           CASE kind WHEN 'greeting' THEN 0 WHEN 'cadence' THEN 1 WHEN 'quota' THEN 2 WHEN 'deadline' THEN 3 ELSE 4 END,
           unixepoch(date) / 86400, owner_id, occasions_id, template_id, message_id, channel,
           CASE status WHEN 'open' THEN 0 WHEN 'snoozed' THEN 1 WHEN 'done' THEN 2 ELSE 3 END,
           reason, unixepoch(snoozed_until) / 86400, activity_id,
           unixepoch(substr(created_at, 1, 19)) * 1000000
               + CAST(substr(rtrim(substr(created_at, 21), 'Z') || '000000', 1, 6) AS INTEGER),
           unixepoch(substr(updated_at, 1, 19)) * 1000000
               + CAST(substr(rtrim(substr(updated_at, 21), 'Z') || '000000', 1, 6) AS INTEGER)
    FROM care_tasks;
DROP TABLE care_tasks;
ALTER TABLE care_tasks_v7 RENAME TO care_tasks;
CREATE UNIQUE INDEX care_tasks_key ON care_tasks (subject, planned_for, contact, kind);
-- Everyone's tasks of some days; the frequency cap's window.
CREATE INDEX care_tasks_date ON care_tasks (date);
-- A customer's tasks of some days are those planned for them (the key) and
-- these few due on another day (deferred by the cap, a cadence line behind).
CREATE INDEX care_tasks_late ON care_tasks (subject, date) WHERE date <> planned_for;
-- Tasks that keep their owner: quota tasks and closed ones.
CREATE INDEX care_tasks_owner ON care_tasks (owner_id, date) WHERE subject <= 0 OR status >= 2;
CREATE INDEX care_tasks_snoozed ON care_tasks (snoozed_until) WHERE status = 1;
-- A merge moves the merged customer's contacts: their tasks go with them.
CREATE TRIGGER care_tasks_follow_contact AFTER UPDATE OF customer_id ON contacts
WHEN OLD.customer_id IS NOT NEW.customer_id
BEGIN
    UPDATE care_tasks SET subject = NEW.customer_id
    WHERE subject = OLD.customer_id AND contact = NEW.id;
END;
-- ... and its own tasks (without a contact) that the kept one lacks.
CREATE TRIGGER care_tasks_follow_merge AFTER UPDATE OF merged_into ON customers
WHEN NEW.merged_into IS NOT NULL AND OLD.merged_into IS NULL
BEGIN
    UPDATE care_tasks SET subject = NEW.merged_into
    WHERE subject = NEW.id AND contact = 0
      AND NOT EXISTS (SELECT 1 FROM care_tasks k
                      WHERE k.subject = NEW.merged_into AND k.planned_for = care_tasks.planned_for
                        AND k.contact = 0 AND k.kind = care_tasks.kind);
END;
