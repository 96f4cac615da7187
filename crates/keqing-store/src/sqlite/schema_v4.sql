-- Version 4: the name search index (see fts.rs). The B-tree indexes on pinyin
-- and initials served no query (a LIKE '%…%' cannot use them) and cost every
-- insert; the FTS5 table replaces them. It stores no copy of its tokens
-- (contentless), only the name, pinyin and initials that confirm a
-- candidate. It is filled from the customers by the migration code that
-- runs this file.
DROP INDEX IF EXISTS customers_pinyin;
DROP INDEX IF EXISTS customers_initials;
CREATE VIRTUAL TABLE IF NOT EXISTS customer_search USING fts5(
    k, name UNINDEXED, pinyin UNINDEXED, initials UNINDEXED,
    content = '', contentless_delete = 1, contentless_unindexed = 1,
    tokenize = 'ascii', detail = none
);
-- What a search result is counted, scoped and ordered by, without reading the
-- wide customer rows: appended in id order, so cheap to keep.
CREATE INDEX IF NOT EXISTS customers_scope
    ON customers(id, deleted_at, owner_id, team_id, province, name);
