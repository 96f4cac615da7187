-- Version 16: the audit log is read a page at a time, filtered by who
-- acted, what was done and which record (`audit_page`); each filter walks
-- its index newest first instead of the whole log.
CREATE INDEX IF NOT EXISTS audit_log_user ON audit_log (user_id, id);
CREATE INDEX IF NOT EXISTS audit_log_action ON audit_log (action, id);
CREATE INDEX IF NOT EXISTS audit_log_entity ON audit_log (entity, entity_id, id);
