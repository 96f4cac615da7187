-- Version 6: narrow care tasks (issue 4); see sqlite_schema_v4.sql for why.
CREATE TABLE care_texts (
    id BIGSERIAL PRIMARY KEY,
    body TEXT NOT NULL
);
-- By digest: a B-tree entry holds at most a third of a page, a template may not.
CREATE UNIQUE INDEX care_texts_body ON care_texts (md5(body));
INSERT INTO care_texts (body) SELECT DISTINCT occasions::text FROM care_tasks;
INSERT INTO care_texts (body) SELECT DISTINCT message FROM care_tasks WHERE message IS NOT NULL
    ON CONFLICT DO NOTHING;
ALTER TABLE care_tasks
    ADD COLUMN planned_for DATE,
    ADD COLUMN occasions_id BIGINT,
    ADD COLUMN template_id BIGINT,
    ADD COLUMN message_id BIGINT;
UPDATE care_tasks t SET
    planned_for = right(t.key, 10)::date,
    owner_id = CASE WHEN t.customer_id IS NULL OR t.status IN ('done', 'skipped') THEN t.owner_id END,
    occasions_id = (SELECT x.id FROM care_texts x WHERE md5(x.body) = md5(t.occasions::text) AND x.body = t.occasions::text),
    message_id = (SELECT x.id FROM care_texts x WHERE md5(x.body) = md5(t.message) AND x.body = t.message);
ALTER TABLE care_tasks
    ALTER COLUMN planned_for SET NOT NULL,
    ALTER COLUMN occasions_id SET NOT NULL,
    ALTER COLUMN updated_at DROP NOT NULL,
    DROP CONSTRAINT IF EXISTS care_tasks_customer_id_fkey,
    DROP CONSTRAINT IF EXISTS care_tasks_contact_id_fkey,
    DROP COLUMN key,
    DROP COLUMN occasions,
    DROP COLUMN message;
DROP INDEX care_tasks_date;
DROP INDEX care_tasks_owner;
CREATE UNIQUE INDEX care_tasks_key ON care_tasks
    ((coalesce(customer_id, -owner_id)), planned_for, (coalesce(contact_id, 0)), kind);
CREATE INDEX care_tasks_date ON care_tasks (date);
CREATE INDEX care_tasks_late ON care_tasks (customer_id, date) WHERE date <> planned_for;
CREATE INDEX care_tasks_owner ON care_tasks (owner_id, date)
    WHERE customer_id IS NULL OR status IN ('done', 'skipped');
CREATE INDEX care_tasks_snoozed ON care_tasks (snoozed_until) WHERE status = 'snoozed';
CREATE INDEX contacts_deleted ON contacts (customer_id) WHERE deleted_at IS NOT NULL;
CREATE INDEX customers_deleted ON customers (id) WHERE deleted_at IS NOT NULL;
-- A merge moves the merged customer's contacts: their tasks go with them,
-- and its own tasks (without a contact) that the kept one lacks.
CREATE FUNCTION care_tasks_follow_contact() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE care_tasks SET customer_id = NEW.customer_id
    WHERE coalesce(customer_id, -owner_id) = OLD.customer_id AND contact_id = NEW.id;
    RETURN NULL;
END
$$;
CREATE TRIGGER care_tasks_follow_contact AFTER UPDATE OF customer_id ON contacts
    FOR EACH ROW WHEN (OLD.customer_id IS DISTINCT FROM NEW.customer_id)
    EXECUTE FUNCTION care_tasks_follow_contact();
CREATE FUNCTION care_tasks_follow_merge() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE care_tasks t SET customer_id = NEW.merged_into
    WHERE coalesce(t.customer_id, -t.owner_id) = NEW.id AND t.contact_id IS NULL
      AND NOT EXISTS (SELECT 1 FROM care_tasks k
                      WHERE coalesce(k.customer_id, -k.owner_id) = NEW.merged_into AND k.planned_for = t.planned_for
                        AND coalesce(k.contact_id, 0) = 0 AND k.kind = t.kind);
    RETURN NULL;
END
$$;
CREATE TRIGGER care_tasks_follow_merge AFTER UPDATE OF merged_into ON customers
    FOR EACH ROW WHEN (NEW.merged_into IS NOT NULL AND OLD.merged_into IS NULL)
    EXECUTE FUNCTION care_tasks_follow_merge();
