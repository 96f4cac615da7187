-- Version 10: a contact's birthday key (`birthday_key` in lib.rs: S11-23,
-- L08-15, LL04-30) is a column the store writes with the contact, not an
-- expression over its document: building that index after a bulk import
-- parsed every contact's document four times (2 s a million contacts).
-- Derived like the search index: left out of backups, filled on restore.
ALTER TABLE contacts ADD COLUMN birthday_key TEXT;
UPDATE contacts SET birthday_key =
    CASE WHEN substr(json_extract(doc, '$.birthday'), 1, 3) = '农历闰' THEN 'LL'
         WHEN substr(json_extract(doc, '$.birthday'), 1, 2) = '农历' THEN 'L'
         ELSE 'S' END || substr(json_extract(doc, '$.birthday'), -5)
    WHERE json_extract(doc, '$.birthday') IS NOT NULL;
DROP INDEX IF EXISTS contacts_birthday_key;
CREATE INDEX contacts_birthday_key ON contacts (birthday_key)
    WHERE deleted_at IS NULL AND birthday_key IS NOT NULL;
